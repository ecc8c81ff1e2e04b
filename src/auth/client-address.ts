import { isIPv4, isIPv6 } from 'node:net';

/**
 * The throttle bucket of a client address: an IPv4 address as is, an IPv4-mapped IPv6 address
 * (`::ffff:10.0.0.1`) as its IPv4 address, any other IPv6 address as its /64 prefix (one
 * subscriber gets a whole /64, so counting single IPv6 addresses would let it rotate through
 * 2^64 of them). Undefined when `ip` is not an IP address.
 * @example clientAddressBucket('2001:db8::1') // '2001:db8:0:0::/64'
 */
export function clientAddressBucket(ip: string): string | undefined {
  if (isIPv4(ip)) return ip;
  const zoneless = ip.split('%')[0]!; // a zone id (fe80::1%eth0) names an interface, not an address
  if (!isIPv6(zoneless)) return undefined;
  const groups = expandIPv6(zoneless);
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (mapped) return [groups[6]! >> 8, groups[6]! & 255, groups[7]! >> 8, groups[7]! & 255].join('.');
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a dotted IPv4 tail converted). */
function expandIPv6(ip: string): number[] {
  let text = ip.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((g) => parseInt(g, 16));
}
