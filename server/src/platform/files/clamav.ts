import { createReadStream } from 'node:fs';
import net from 'node:net';

/** What the virus scan said about a file. */
export type ScanResult =
  | { status: 'clean' }
  | { status: 'infected'; signature: string }
  | { status: 'not_configured' };

/** clamd could not be reached or answered an error: the file is not passed (fail closed). */
export class ScannerUnavailableError extends Error {}

/** Bytes per INSTREAM chunk (clamd reads chunks of any size up to StreamMaxLength in total). */
const CHUNK = 64 * 1024;

/**
 * Scans a file with clamd over TCP, speaking its INSTREAM protocol (clamd(8), "INSTREAM"): the
 * command `zINSTREAM\0`, then the bytes as chunks each preceded by its length (4 bytes, network
 * order), then a zero length; clamd answers `stream: OK` or `stream: <signature> FOUND`,
 * NUL-terminated. No clamd configured (`url` undefined): `not_configured`.
 * @param url `tcp://host:port`
 * @throws ScannerUnavailableError when clamd cannot be reached, times out or reports an error
 *   (such as `INSTREAM size limit exceeded`: raise clamd's StreamMaxLength to FILE_MAX_BYTES)
 */
export async function scanFile(
  url: string | undefined,
  filePath: string,
  timeoutMs = 60_000,
): Promise<ScanResult> {
  if (!url) return { status: 'not_configured' };
  const { hostname, port } = new URL(url);
  const reply = await new Promise<string>((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(new ScannerUnavailableError(`clamd at ${hostname}:${port}: ${error.message}`));
    };
    socket.setTimeout(timeoutMs, () => fail(new Error('timed out')));
    socket.on('error', fail);
    socket.on('data', (data) => chunks.push(data));
    socket.on('end', () => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('utf8').replace(/\0+$/, '').trim());
    });
    socket.on('connect', async () => {
      try {
        socket.write('zINSTREAM\0');
        for await (const chunk of createReadStream(filePath, { highWaterMark: CHUNK })) {
          const length = Buffer.alloc(4);
          length.writeUInt32BE((chunk as Buffer).length);
          socket.write(length);
          if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r));
          if (settled) return;
        }
        socket.end(Buffer.alloc(4));
      } catch (error) {
        fail(error as Error);
      }
    });
  });
  const found = /^stream: (.+) FOUND$/.exec(reply);
  if (found) return { status: 'infected', signature: found[1]! };
  if (reply === 'stream: OK') return { status: 'clean' };
  throw new ScannerUnavailableError(`clamd answered: ${reply || '(nothing)'}`);
}
