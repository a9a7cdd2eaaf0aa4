/**
 * Viewer address prefixes for playback tokens ("203.0.113.0/24", "2001:db8::/32"). Pure, so the token
 * module and its tests can use it anywhere. Addresses are compared as bytes: an IPv4 prefix never matches
 * an IPv6 address (Cloudflare reports IPv4 viewers in dotted form in CF-Connecting-IP).
 */
export interface IpPrefix {
  bytes: Uint8Array;
  bits: number;
}

/** "address/bits", or a bare address meaning exactly that address. Null for anything else. */
export function parseIpPrefix(text: string): IpPrefix | null {
  const [address, bitsText, extra] = text.split("/");
  if (extra !== undefined || address === undefined) return null;
  const bytes = parseIpAddress(address);
  if (!bytes) return null;
  const maxBits = bytes.length * 8;
  if (bitsText === undefined) return { bytes, bits: maxBits };
  if (!/^\d{1,3}$/.test(bitsText) || Number(bitsText) > maxBits) return null;
  return { bytes, bits: Number(bitsText) };
}

export function prefixContains(prefix: IpPrefix, address: Uint8Array): boolean {
  if (prefix.bytes.length !== address.length) return false;
  let bits = prefix.bits;
  for (let i = 0; bits > 0; i += 1, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((prefix.bytes[i]! & mask) !== (address[i]! & mask)) return false;
  }
  return true;
}

/** 4 bytes for dotted IPv4, 16 for IPv6 (with "::" and a dotted tail). Zone ids and anything else: null. */
export function parseIpAddress(text: string): Uint8Array | null {
  return text.includes(":") ? parseIpv6(text) : parseIpv4(text);
}

function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const bytes = new Uint8Array(4);
  for (const [i, part] of parts.entries()) {
    // No leading zeros: "010" is octal to some parsers and decimal to others.
    if (!/^(?:0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return null;
    bytes[i] = Number(part);
  }
  return bytes;
}

function parseIpv6(text: string): Uint8Array | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  // A dotted IPv4 tail ("::ffff:192.0.2.1") may only end the whole address.
  const groups = (half: string | undefined, last: boolean): number[] | null => {
    if (!half) return [];
    const out: number[] = [];
    const parts = half.split(":");
    for (const [i, part] of parts.entries()) {
      if (last && i === parts.length - 1 && part.includes(".")) {
        const v4 = parseIpv4(part);
        if (!v4) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-f]{1,4}$/i.test(part)) {
        out.push(parseInt(part, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groups(halves[0], halves.length === 1);
  const tail = groups(halves[1], true);
  if (!head || !tail) return null;
  const compressed = halves.length === 2;
  const missing = 8 - head.length - tail.length;
  if (compressed ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return bytes;
}
