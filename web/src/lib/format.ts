export function formatViewers(n: number): string {
  if (n === 1) return "1 watching";
  if (n < 1000) return `${n} watching`;
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0).replace(/\.0$/, "")}k watching`;
  return `${(n / 1_000_000).toFixed(1).replace(/\.0$/, "")}M watching`;
}

export function formatSeconds(s: number): string {
  return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
}

/** "720p" for a height; 0 (audio-only variant) reads "Audio only". */
export function heightLabel(height: number): string {
  return height > 0 ? `${height}p` : "Audio only";
}
