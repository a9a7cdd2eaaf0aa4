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

/** "42 s", "12:05", "1:02:03" for a recording's length. */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  if (s < 60) return `${s} s`;
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = String(s % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
}

/** A date and time in the reader's locale, or the input unchanged when it is not a date. */
export function formatDateTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}
