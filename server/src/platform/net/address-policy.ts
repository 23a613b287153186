import { BlockList, isIP } from 'node:net';

/**
 * Why an outbound address is refused: the code a delivery log and a problem+json body carry.
 * `ssrf_mapped` is an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`), refused whatever it maps
 * to, so no IPv4 rule can be stepped around through IPv6.
 */
export type RefusalCode =
  | 'ssrf_loopback'
  | 'ssrf_private'
  | 'ssrf_link_local'
  | 'ssrf_metadata'
  | 'ssrf_cgnat'
  | 'ssrf_multicast'
  | 'ssrf_mapped'
  | 'ssrf_reserved';

type Range = { code: RefusalCode; family: 'ipv4' | 'ipv6'; net: string; prefix: number };

/**
 * The ranges no outbound request may reach unless the host is allow-listed. Sources: RFC 6890
 * (special-purpose registries), RFC 1918 (private IPv4), RFC 6598 (CGNAT), RFC 3927 / RFC 4291
 * (link-local), RFC 4193 (unique local IPv6), RFC 5771 / RFC 4291 (multicast); the cloud metadata
 * endpoints (AWS, GCP, Azure: 169.254.169.254; AWS IPv6: fd00:ec2::254) are named apart so a log
 * says what was tried.
 */
const RANGES: Range[] = [
  { code: 'ssrf_mapped', family: 'ipv6', net: '::ffff:0:0', prefix: 96 },
  { code: 'ssrf_metadata', family: 'ipv4', net: '169.254.169.254', prefix: 32 },
  { code: 'ssrf_metadata', family: 'ipv6', net: 'fd00:ec2::254', prefix: 128 },
  { code: 'ssrf_loopback', family: 'ipv4', net: '127.0.0.0', prefix: 8 },
  { code: 'ssrf_loopback', family: 'ipv6', net: '::1', prefix: 128 },
  { code: 'ssrf_reserved', family: 'ipv4', net: '0.0.0.0', prefix: 8 },
  { code: 'ssrf_reserved', family: 'ipv6', net: '::', prefix: 96 }, // "::" and IPv4-compatible ::a.b.c.d
  { code: 'ssrf_private', family: 'ipv4', net: '10.0.0.0', prefix: 8 },
  { code: 'ssrf_private', family: 'ipv4', net: '172.16.0.0', prefix: 12 },
  { code: 'ssrf_private', family: 'ipv4', net: '192.168.0.0', prefix: 16 },
  { code: 'ssrf_private', family: 'ipv6', net: 'fc00::', prefix: 7 },
  { code: 'ssrf_cgnat', family: 'ipv4', net: '100.64.0.0', prefix: 10 },
  { code: 'ssrf_link_local', family: 'ipv4', net: '169.254.0.0', prefix: 16 },
  { code: 'ssrf_link_local', family: 'ipv6', net: 'fe80::', prefix: 10 },
  { code: 'ssrf_multicast', family: 'ipv4', net: '224.0.0.0', prefix: 4 },
  { code: 'ssrf_multicast', family: 'ipv6', net: 'ff00::', prefix: 8 },
  // IETF protocol assignments, documentation, benchmarking, 6to4 relay, "this network", reserved.
  { code: 'ssrf_reserved', family: 'ipv4', net: '192.0.0.0', prefix: 24 },
  { code: 'ssrf_reserved', family: 'ipv4', net: '192.0.2.0', prefix: 24 },
  { code: 'ssrf_reserved', family: 'ipv4', net: '198.18.0.0', prefix: 15 },
  { code: 'ssrf_reserved', family: 'ipv4', net: '198.51.100.0', prefix: 24 },
  { code: 'ssrf_reserved', family: 'ipv4', net: '203.0.113.0', prefix: 24 },
  { code: 'ssrf_reserved', family: 'ipv4', net: '192.88.99.0', prefix: 24 },
  { code: 'ssrf_reserved', family: 'ipv4', net: '240.0.0.0', prefix: 4 },
  { code: 'ssrf_reserved', family: 'ipv6', net: '64:ff9b::', prefix: 96 },
  { code: 'ssrf_reserved', family: 'ipv6', net: '2001:db8::', prefix: 32 },
  { code: 'ssrf_reserved', family: 'ipv6', net: '2002::', prefix: 16 },
];

// One BlockList per code and family, checked in RANGES' order (the metadata address before
// link-local). Per family, so that no IPv4 address ever matches an IPv6 rule through mapping.
const lists = new Map<string, BlockList>();
for (const range of RANGES) {
  const key = `${range.code}:${range.family}`;
  const list = lists.get(key) ?? new BlockList();
  list.addSubnet(range.net, range.prefix, range.family);
  lists.set(key, list);
}
const ORDER: RefusalCode[] = [...new Set(RANGES.map((r) => r.code))];

/**
 * Why `ip` (a literal IPv4 or IPv6 address, brackets allowed) may not be connected to, or null
 * for a public address. Anything that is not an IP literal is refused as `ssrf_reserved`.
 */
export function refusalOf(ip: string): RefusalCode | null {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  const family = isIP(bare);
  if (family === 0) return 'ssrf_reserved';
  const kind = family === 4 ? 'ipv4' : 'ipv6';
  for (const code of ORDER) {
    if (lists.get(`${code}:${kind}`)?.check(bare, kind)) return code;
  }
  return null;
}

/** Human words for each code (delivery logs, problem details). */
export const REFUSAL_REASONS: Record<RefusalCode, string> = {
  ssrf_loopback: 'a loopback address (this machine)',
  ssrf_private: 'a private network address',
  ssrf_link_local: 'a link-local address',
  ssrf_metadata: 'a cloud metadata endpoint',
  ssrf_cgnat: 'a carrier-grade NAT address',
  ssrf_multicast: 'a multicast address',
  ssrf_mapped: 'an IPv4-mapped IPv6 address',
  ssrf_reserved: 'a reserved or special-purpose address',
};
