/**
 * Which hosts are internal: loopback, private, link-local and other
 * non-public addresses, and names that only resolve inside a network. The
 * proxy neither sends its upstream credentials to them (an http realm) nor
 * points clients at them (an upstream redirect), since a client following such
 * a redirect reaches into its own network: cloud metadata, a CI runner's
 * neighbours.
 *
 * `hostname` is a WHATWG `URL.hostname`: IPv4 in any notation is already
 * dotted-decimal (`0x7f.1` → `127.0.0.1`), IPv6 bracketed and compressed.
 */

/** [first address, prefix length] of IPv4 ranges that are not public unicast. */
const IPV4_INTERNAL: readonly (readonly [string, number])[] = [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
];

/** Name suffixes that never resolve on the public internet. */
const INTERNAL_SUFFIXES = ["localhost", "local", "internal", "home.arpa", "lan", "intranet", "corp", "private"];

function ipv4Number(address: string): number | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  if (!match) return undefined;
  const octets = match.slice(1).map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  return octets.reduce((n, o) => n * 256 + o, 0);
}

function ipv4Internal(value: number): boolean {
  return IPV4_INTERNAL.some(([first, bits]) => {
    const size = 2 ** (32 - bits);
    return Math.floor(value / size) === Math.floor((ipv4Number(first) as number) / size);
  });
}

/** The eight 16-bit groups of a compressed IPv6 address (no embedded dotted IPv4: WHATWG serialises it as hex). */
function ipv6Groups(address: string): number[] | undefined {
  const halves = address.split("::");
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] => (part === "" ? [] : part.split(":").map((g) => Number.parseInt(g, 16)));
  const head = parse(halves[0] as string);
  const tail = halves.length === 2 ? parse(halves[1] as string) : [];
  const groups = halves.length === 2 ? [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail] : head;
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

function ipv6Internal(groups: readonly number[]): boolean {
  const [g0 = 0, g1 = 0, , , , g5 = 0, g6 = 0, g7 = 0] = groups;
  const embeddedV4 = g6 * 65536 + g7;
  if (groups.slice(0, 6).every((g) => g === 0)) return true; // ::, ::1, IPv4-compatible
  if (groups.slice(0, 5).every((g) => g === 0) && g5 === 0xffff) return ipv4Internal(embeddedV4); // IPv4-mapped
  if (g0 === 0x64 && g1 === 0xff9b && groups.slice(2, 6).every((g) => g === 0)) return ipv4Internal(embeddedV4); // NAT64
  if ((g0 & 0xfe00) === 0xfc00) return true; // unique local
  if ((g0 & 0xffc0) === 0xfe80 || (g0 & 0xffc0) === 0xfec0) return true; // link-local, site-local
  if ((g0 & 0xff00) === 0xff00) return true; // multicast
  if (g0 === 0x2001 && g1 === 0x0db8) return true; // documentation
  if (g0 === 0x0100 && groups.slice(1, 4).every((g) => g === 0)) return true; // discard
  return false;
}

export function isInternalHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  if (host.startsWith("[")) {
    const groups = ipv6Groups(host.slice(1, -1));
    return groups === undefined || ipv6Internal(groups);
  }
  const v4 = ipv4Number(host);
  if (v4 !== undefined) return ipv4Internal(v4);
  // A single label resolves only through a local search domain.
  if (!host.includes(".")) return true;
  return INTERNAL_SUFFIXES.some((suffix) => host === suffix || host.endsWith(`.${suffix}`));
}
