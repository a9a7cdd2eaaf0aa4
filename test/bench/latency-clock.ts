/**
 * A wall clock burned into the picture as a machine-readable code, for `npm run bench:latency`.
 *
 * The publisher's ffmpeg stamps every frame with the wall-clock time at which the frame entered its
 * filter graph (setpts=RTCTIME: with -re pacing the synthetic source, that is the frame's "capture"), and
 * draws that time as a strip of black and white cells near the top of the picture:
 *
 *   row 0: 20 data bits (the capture time in ms, modulo 2^20 ms = 17.5 min), then 5 check bits (the number
 *          of data bits that are 1)
 *   row 1: the same 25 bits inverted
 *
 * A reader (the browser's canvas, or ffmpeg decoding a stored segment) measures each cell's mean luma. A
 * frame is accepted only if every cell is clearly dark or clearly light, every cell disagrees with its
 * inverted twin, and the check bits match: a frame smeared by the encoder or caught half-updated is
 * discarded, never misread. The full time is the value within ±8.7 min of the reader's own clock.
 *
 * Geometry is given on a 1280x720 reference frame and scales with the picture, so the ladder's lowest rung
 * (256x144: cells of about 10 px) still reads.
 */

export const REFERENCE_WIDTH = 1280;
export const REFERENCE_HEIGHT = 720;
export const DATA_BITS = 20;
export const CHECK_BITS = 5;
export const BITS = DATA_BITS + CHECK_BITS;
/** cell size and the strip's origin, in reference pixels */
export const CELL = 48;
export const STRIP_X = 40;
export const STRIP_Y = 16;
/** the strip is two rows of BITS cells */
export const STRIP_WIDTH = BITS * CELL;
export const STRIP_HEIGHT = 2 * CELL;
const MODULUS = 2 ** DATA_BITS;
/** luma (0-255) below which a cell is dark, above which it is light; in between it is unreadable */
const DARK_BELOW = 96;
const LIGHT_ABOVE = 160;

/**
 * The filter chain (for -vf, before any other filter) that stamps and draws the capture time. It leaves
 * frames with timestamps N/fps, as the source had. Cheap: drawbox with timeline expressions, no per-pixel
 * expression (geq would not keep up at 720p30 on two cores).
 */
export function clockFilter(width: number, height: number, fps: number): string {
  const sx = width / REFERENCE_WIDTH;
  const sy = height / REFERENCE_HEIGHT;
  const px = (v: number, s: number) => Math.round(v * s);
  // t is the frame's time in seconds: after setpts=RTCTIME (µs) with a 1/1000000 time base, the wall clock.
  const bit = (k: number) => `mod(floor(t*1000/${2 ** k}),2)`;
  const popcount = Array.from({ length: DATA_BITS }, (_, k) => bit(k)).join("+");
  const value = (k: number) => (k < DATA_BITS ? bit(k) : `mod(floor((${popcount})/${2 ** (k - DATA_BITS)}),2)`);
  const box = (x: number, y: number, w: number, h: number, colour: string, enable?: string) =>
    `drawbox=x=${px(x, sx)}:y=${px(y, sy)}:w=${px(w, sx)}:h=${px(h, sy)}:color=${colour}:t=fill${enable ? `:enable='${enable}'` : ""}`;
  const filters = [
    "settb=1/1000000",
    "setpts=RTCTIME",
    // A white margin around the strip, then a black cell wherever the bit (row 0) or its inverse (row 1) is 1.
    box(STRIP_X - 8, STRIP_Y - 8, STRIP_WIDTH + 16, STRIP_HEIGHT + 16, "white"),
  ];
  for (let k = 0; k < BITS; k++) {
    filters.push(box(STRIP_X + k * CELL, STRIP_Y, CELL, CELL, "black", `eq(${value(k)},1)`));
    filters.push(box(STRIP_X + k * CELL, STRIP_Y + CELL, CELL, CELL, "black", `eq(${value(k)},0)`));
  }
  filters.push(`settb=1/${fps}`, "setpts=N");
  return filters.join(",");
}

/**
 * Decodes one frame's cells: `luma` holds 2*BITS mean lumas, row 0 then row 1, left to right. Returns the
 * capture time (ms since the epoch) nearest to `nowMs`, or null when the frame does not read cleanly.
 */
export function decodeClock(luma: ArrayLike<number>, nowMs: number): number | null {
  if (luma.length !== 2 * BITS) return null;
  const bits: number[] = [];
  for (let k = 0; k < BITS; k++) {
    const top = luma[k]!;
    const bottom = luma[BITS + k]!;
    const topBit = top < DARK_BELOW ? 1 : top > LIGHT_ABOVE ? 0 : -1;
    const bottomBit = bottom < DARK_BELOW ? 1 : bottom > LIGHT_ABOVE ? 0 : -1;
    if (topBit < 0 || bottomBit < 0 || topBit === bottomBit) return null;
    bits.push(topBit);
  }
  let value = 0;
  let ones = 0;
  for (let k = 0; k < DATA_BITS; k++) {
    value += bits[k]! * 2 ** k;
    ones += bits[k]!;
  }
  let check = 0;
  for (let j = 0; j < CHECK_BITS; j++) check += bits[DATA_BITS + j]! * 2 ** j;
  if (check !== ones) return null;
  // The full time whose low bits are `value`, nearest to the reader's clock.
  const base = nowMs - (nowMs % MODULUS);
  let best = base + value;
  for (const candidate of [best - MODULUS, best + MODULUS]) {
    if (Math.abs(candidate - nowMs) < Math.abs(best - nowMs)) best = candidate;
  }
  return best;
}

/**
 * The ffmpeg filter that turns a decoded picture of any size into the cells' lumas: crop the strip, scale
 * it to 4x4 pixels per cell (area averaging), grey. Each output frame is (4*BITS) x 8 bytes; cellLumas()
 * reads it.
 */
export function stripReaderFilter(): string {
  const w = `iw*${STRIP_WIDTH}/${REFERENCE_WIDTH}`;
  const h = `ih*${STRIP_HEIGHT}/${REFERENCE_HEIGHT}`;
  const x = `iw*${STRIP_X}/${REFERENCE_WIDTH}`;
  const y = `ih*${STRIP_Y}/${REFERENCE_HEIGHT}`;
  return `crop=w=${w}:h=${h}:x=${x}:y=${y},scale=w=${4 * BITS}:h=8:flags=area,format=gray`;
}

export const READER_FRAME_BYTES = 4 * BITS * 8;

/** The cells' mean lumas from one stripReaderFilter() frame (the inner 2x2 pixels of each 4x4 cell). */
export function cellLumas(frame: Uint8Array): number[] {
  const width = 4 * BITS;
  const out: number[] = [];
  for (let row = 0; row < 2; row++) {
    for (let k = 0; k < BITS; k++) {
      let sum = 0;
      for (let dy = 1; dy <= 2; dy++) for (let dx = 1; dx <= 2; dx++) sum += frame[(row * 4 + dy) * width + k * 4 + dx]!;
      out.push(sum / 4);
    }
  }
  return out;
}
