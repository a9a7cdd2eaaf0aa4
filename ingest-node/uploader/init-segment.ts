/**
 * Whether two CMAF init segments describe the same media, so that segments of a later ffmpeg may be
 * played with the init segment an earlier one wrote. Edit lists (edts) are left out of the comparison:
 * ffmpeg writes each track's start offset relative to the other tracks there (an empty edit of a few
 * tens of milliseconds for audio), which differs from run to run while codec, sizes and time scales stay
 * the same; players place fragments by their own decode times (tfdt), and the discontinuity before a
 * new run's first segment tells them to.
 */
const CONTAINERS = new Set(["moov", "trak", "mdia", "minf", "stbl", "dinf", "mvex"]);
const IGNORED = new Set(["edts"]);

export function sameInitMedia(a: Uint8Array, b: Uint8Array): boolean {
  if (Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b)) return true;
  const left = canonical(a);
  const right = canonical(b);
  return left !== null && left === right;
}

/** The box tree as text (hex payloads), minus ignored boxes; null if the bytes are not well-formed boxes. */
function canonical(bytes: Uint8Array): string | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parts: string[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (offset + 8 > bytes.length) return null;
    const size = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    if (size < 8 || offset + size > bytes.length) return null;
    const payload = bytes.subarray(offset + 8, offset + size);
    if (CONTAINERS.has(type)) {
      const inner = canonical(payload);
      if (inner === null) return null;
      parts.push(`${type}[${inner}]`);
    } else if (!IGNORED.has(type)) {
      parts.push(`${type}:${Buffer.from(payload).toString("hex")}`);
    }
    offset += size;
  }
  return parts.join(",");
}
