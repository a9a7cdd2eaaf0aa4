/**
 * Reads what the master playlist must say about a rendition from the CMAF files themselves: the exact
 * RFC 6381 codec string (avc1.PPCCLL from the avcC box, mp4a.40.N from the esds descriptor), the
 * picture size, the audio channels, and how many frames a segment holds; and what the DASH manifest's
 * SegmentTimeline needs: the track's timescale and each fragment's decode time and duration. Pure; ISO
 * BMFF box walking only.
 */
export interface TrackFacts {
  codec: string;
  width?: number;
  height?: number;
  channels?: number;
}

export class Mp4Error extends Error {}

interface Box {
  type: string;
  /** offset of the box's payload (after its header) */
  start: number;
  end: number;
}

const CONTAINERS = new Set(["moov", "trak", "mdia", "minf", "stbl", "mvex", "moof", "traf"]);
/** payload bytes before a sample entry's child boxes (ISO 14496-12 VisualSampleEntry / AudioSampleEntry) */
const SAMPLE_ENTRY_FIELDS: Record<string, number> = { avc1: 78, mp4a: 28 };

function* boxes(data: Uint8Array, start: number, end: number): Generator<Box> {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let at = start;
  while (at + 8 <= end) {
    let size = view.getUint32(at);
    let header = 8;
    if (size === 1) {
      size = Number(view.getBigUint64(at + 8));
      header = 16;
    }
    if (size < header || at + size > end) throw new Mp4Error(`malformed box at byte ${at}`);
    yield { type: String.fromCharCode(...data.subarray(at + 4, at + 8)), start: at + header, end: at + size };
    at += size;
  }
}

/** Every box of the given type, searching through containers, stsd entries and sample entries. */
function find(data: Uint8Array, type: string, start = 0, end = data.byteLength): Box[] {
  const found: Box[] = [];
  for (const box of boxes(data, start, end)) {
    if (box.type === type) found.push(box);
    if (CONTAINERS.has(box.type)) found.push(...find(data, type, box.start, box.end));
    // stsd: version/flags and entry count, then the sample entries
    if (box.type === "stsd") found.push(...find(data, type, box.start + 8, box.end));
    const fields = SAMPLE_ENTRY_FIELDS[box.type];
    if (fields !== undefined) found.push(...find(data, type, box.start + fields, box.end));
  }
  return found;
}

export function trackFacts(init: Uint8Array): TrackFacts {
  const view = new DataView(init.buffer, init.byteOffset, init.byteLength);
  const [avc1] = find(init, "avc1");
  const [avcC] = find(init, "avcC");
  if (avc1 && avcC) {
    // AVCDecoderConfigurationRecord: version, then profile, constraint flags and level: the codec string.
    const hex = [...init.subarray(avcC.start + 1, avcC.start + 4)].map((b) => b.toString(16).padStart(2, "0")).join("");
    return { codec: `avc1.${hex}`, width: view.getUint16(avc1.start + 24), height: view.getUint16(avc1.start + 26) };
  }
  const [mp4a] = find(init, "mp4a");
  const [esds] = find(init, "esds");
  if (mp4a && esds) return { codec: aacCodec(init, esds), channels: view.getUint16(mp4a.start + 16) };
  throw new Mp4Error("the init segment holds neither H.264 (avc1/avcC) nor AAC (mp4a/esds)");
}

/** mp4a.<objectTypeIndication in hex>.<audio object type>, from the esds descriptors (ISO 14496-1). */
function aacCodec(data: Uint8Array, esds: Box): string {
  let at = esds.start + 4; // version and flags
  const descriptor = (tag: number): void => {
    if (data[at] !== tag) throw new Mp4Error(`esds: expected descriptor ${tag}, found ${data[at]}`);
    at += 1;
    while (data[at]! & 0x80) at += 1; // size: up to four bytes, high bit = more
    at += 1;
  };
  descriptor(0x03);
  const flags = data[at + 2]!;
  at += 3 + (flags & 0x80 ? 2 : 0) + (flags & 0x40 ? 1 + data[at + 3]! : 0) + (flags & 0x20 ? 2 : 0);
  descriptor(0x04);
  const objectType = data[at]!;
  at += 13;
  descriptor(0x05);
  let audioObjectType = data[at]! >> 3;
  if (audioObjectType === 31) audioObjectType = 32 + (((data[at]! & 0x07) << 3) | (data[at + 1]! >> 5));
  return `mp4a.${objectType.toString(16)}.${audioObjectType}`;
}

/** Samples (frames) in a media segment: the sum of its trun sample counts. */
export function sampleCount(segment: Uint8Array): number {
  const view = new DataView(segment.buffer, segment.byteOffset, segment.byteLength);
  return find(segment, "trun").reduce((sum, trun) => sum + view.getUint32(trun.start + 4), 0);
}

/** An init segment's timing: its track's timescale (mdhd) and default sample duration (trex, 0 if unset). */
export interface InitTiming {
  timescale: number;
  defaultSampleDuration: number;
}

export function initTiming(init: Uint8Array): InitTiming {
  const view = new DataView(init.buffer, init.byteOffset, init.byteLength);
  const [mdhd] = find(init, "mdhd");
  if (!mdhd) throw new Mp4Error("the init segment has no mdhd (media header)");
  // version 1 has 64-bit creation and modification times before the timescale
  const timescale = view.getUint32(mdhd.start + (init[mdhd.start] === 1 ? 20 : 12));
  if (timescale === 0) throw new Mp4Error("the init segment's timescale is 0");
  const [trex] = find(init, "trex");
  return { timescale, defaultSampleDuration: trex ? view.getUint32(trex.start + 16) : 0 };
}

/** A media segment's place on its track's timeline, in timescale units. */
export interface FragmentTiming {
  /** tfdt's baseMediaDecodeTime: the decode time of its first sample */
  decodeTime: number;
  /** the sum of its samples' durations */
  duration: number;
  samples: number;
}

/** tfdt and trun of a one-track CMAF segment; sample durations default to tfhd's, then the init's trex. */
export function fragmentTiming(segment: Uint8Array, defaultSampleDuration = 0): FragmentTiming {
  const view = new DataView(segment.buffer, segment.byteOffset, segment.byteLength);
  const [tfdt] = find(segment, "tfdt");
  if (!tfdt) throw new Mp4Error("the segment has no tfdt (decode time)");
  const decodeTime = segment[tfdt.start] === 1 ? Number(view.getBigUint64(tfdt.start + 4)) : view.getUint32(tfdt.start + 4);
  const [tfhd] = find(segment, "tfhd");
  let fallback = defaultSampleDuration;
  if (tfhd) {
    const flags = view.getUint32(tfhd.start) & 0xffffff;
    // after version/flags and track_ID: base-data-offset (0x1), sample-description-index (0x2), then the default duration (0x8)
    const at = tfhd.start + 8 + (flags & 0x1 ? 8 : 0) + (flags & 0x2 ? 4 : 0);
    if (flags & 0x8) fallback = view.getUint32(at);
  }
  let duration = 0;
  let samples = 0;
  for (const trun of find(segment, "trun")) {
    const flags = view.getUint32(trun.start) & 0xffffff;
    const count = view.getUint32(trun.start + 4);
    samples += count;
    if (!(flags & 0x100)) {
      duration += count * fallback;
      continue;
    }
    // per sample: duration (0x100), size (0x200), flags (0x400), composition offset (0x800), 4 bytes each
    const stride = 4 * [0x100, 0x200, 0x400, 0x800].filter((bit) => flags & bit).length;
    let at = trun.start + 8 + (flags & 0x1 ? 4 : 0) + (flags & 0x4 ? 4 : 0);
    if (at + count * stride > trun.end) throw new Mp4Error("trun: sample table runs past its box");
    for (let i = 0; i < count; i++, at += stride) duration += view.getUint32(at);
  }
  if (samples > 0 && duration === 0) throw new Mp4Error("the segment's samples have no durations");
  return { decodeTime, duration, samples };
}
