import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';

export const DOVECOT = '/usr/sbin/dovecot';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export type Dovecot = {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Appends a raw message to the user's INBOX over IMAP (imapflow); @returns its UID */
  append(raw: string | Buffer, mailbox?: string): Promise<number | undefined>;
  /**
   * Drops every IMAP connection of the user (`doveadm kick`), as a server restart or a network cut
   * would. @returns whether there was one to drop
   */
  kick(): boolean;
  /** Creates a mailbox (a folder) of the user's. */
  create(mailbox: string): Promise<void>;
  stop(): Promise<void>;
};

/**
 * A real Dovecot IMAP server for one test file: its own config in a temp dir (no root config
 * read), running as the current user, a passwd-file user database with one mailbox, plaintext
 * logins on 127.0.0.1 and a free port, Maildir storage. Stopped (and its dir removed) by `stop`.
 */
export async function startDovecot(user = 'inbox@cairn.test', password = 'imap-secret-1'): Promise<Dovecot> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cairn-dovecot-'));
  const port = await freePort();
  // As root (CI containers) Dovecot's own users run its processes and own the mail; otherwise
  // the current user runs everything.
  const root = process.getuid?.() === 0;
  const idOf = (flag: string, name?: string) =>
    execFileSync('id', [flag, ...(name ? [name] : [])])
      .toString()
      .trim();
  const me = root
    ? { username: 'dovecot', uid: Number(idOf('-u', 'dovecot')), gid: Number(idOf('-g', 'dovecot')) }
    : userInfo();
  const group = root ? 'dovecot' : idOf('-gn');
  const loginUser = root ? 'dovenull' : me.username;
  for (const d of ['run', 'state', 'mail']) mkdirSync(path.join(dir, d));
  if (root) {
    chmodSync(dir, 0o755);
    chownSync(path.join(dir, 'mail'), me.uid, me.gid);
  }
  writeFileSync(path.join(dir, 'users'), `${user}:{PLAIN}${password}\n`);
  const conf = path.join(dir, 'dovecot.conf');
  writeFileSync(
    conf,
    `base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = ${me.username}
default_internal_group = ${group}
default_login_user = ${loginUser}
first_valid_uid = ${me.uid}
last_valid_uid = ${me.uid}
mail_location = maildir:${dir}/mail/%u
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/users
}
userdb {
  driver = static
  args = uid=${me.uid} gid=${me.gid} home=${dir}/mail/%u
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service auth {
  user = ${root ? 'root' : me.username}
}
service anvil {
  chroot =
}
`,
  );
  // Dovecot daemonizes: its children keep no pipe of ours open (`ignore`), or this would wait on them.
  const started = spawnSync(DOVECOT, ['-c', conf], { stdio: 'ignore', timeout: 10_000 });
  if (started.status !== 0) throw new Error(`dovecot did not start (exit ${started.status})`);
  // Wait for the listener.
  const client = () =>
    new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user, pass: password }, logger: false });
  for (let i = 0; ; i++) {
    const probe = client();
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.logout();
      break;
    } catch (error) {
      if (i > 50) {
        const log = existsSync(path.join(dir, 'dovecot.log'))
          ? readFileSync(path.join(dir, 'dovecot.log'), 'utf8')
          : '';
        throw new Error(`dovecot does not answer: ${(error as Error).message}\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    async append(raw, mailbox = 'INBOX') {
      const c = client();
      c.on('error', () => {});
      await c.connect();
      try {
        const res = await c.append(mailbox, raw);
        return res ? res.uid : undefined;
      } finally {
        await c.logout();
      }
    },
    kick() {
      try {
        execFileSync('doveadm', ['-c', conf, 'kick', user], { stdio: 'pipe', timeout: 10_000 });
        return true;
      } catch (error) {
        // 68 (EX_NOUSER): no connection of the user to drop.
        if ((error as { status?: number }).status === 68) return false;
        throw error;
      }
    },
    async create(mailbox) {
      const c = client();
      c.on('error', () => {});
      await c.connect();
      try {
        await c.mailboxCreate(mailbox);
      } finally {
        await c.logout();
      }
    },
    async stop() {
      const pidFile = path.join(dir, 'run', 'master.pid');
      if (existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, 'utf8').trim());
        try {
          process.kill(pid, 'SIGTERM');
        } catch {}
        for (let i = 0; i < 50; i++) {
          try {
            process.kill(pid, 0);
            await new Promise((r) => setTimeout(r, 50));
          } catch {
            break;
          }
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
