import { Parser, type ParsedManifest } from "m3u8-parser";

export function parsePlaylist(text: string): ParsedManifest {
  const parser = new Parser();
  parser.push(text);
  parser.end();
  return parser.manifest;
}

export async function fetchPlaylist(url: string): Promise<{ status: number; text: string; manifest: ParsedManifest; headers: Headers }> {
  const res = await fetch(url);
  const text = await res.text();
  return { status: res.status, text, manifest: parsePlaylist(text), headers: res.headers };
}

/** The sequence number of a playlist's newest segment, from its file name (seg-00042.m4s). */
export function lastSegmentNumber(manifest: ParsedManifest): number {
  const last = manifest.segments.at(-1);
  const match = last && /seg-(\d+)\.m4s/.exec(last.uri);
  return match ? Number(match[1]) : -1;
}
