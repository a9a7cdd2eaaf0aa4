import { ERROR_CACHE_CONTROL } from "../shared/cache-policy";

/**
 * Turns a full 200 media response into what this particular request asked for: 304 when the client's
 * copy is current, 206 for a byte range (sliced here, because the edge cache only holds whole objects),
 * 416 for a range past the end. Anything that is not a 200 passes through.
 */
export async function answerRequest(request: Request, full: Response): Promise<Response> {
  if (full.status !== 200) return full;
  const ifNoneMatch = request.headers.get("If-None-Match");
  const rangeHeader = request.headers.get("Range");
  // Most requests carry neither: they get the full response without reading any other header.
  if (!ifNoneMatch && !rangeHeader) return full;
  const etag = full.headers.get("ETag");

  if (etag && etagMatches(ifNoneMatch, etag)) {
    return new Response(null, { status: 304, headers: pickHeaders(full.headers, ["ETag", "Cache-Control", "Last-Modified"]) });
  }

  // If-Range: a range is only valid against the version the client already holds part of.
  const ifRange = request.headers.get("If-Range");
  if (!rangeHeader || (ifRange !== null && ifRange !== etag)) return full;

  const bytes = await full.arrayBuffer();
  const range = parseByteRange(rangeHeader, bytes.byteLength);
  const headers = new Headers(full.headers);
  if (range === "unsatisfiable") {
    headers.set("Content-Range", `bytes */${bytes.byteLength}`);
    // The object's own lifetime (a year, for a segment) must not be lent to an error about one range.
    headers.set("Cache-Control", ERROR_CACHE_CONTROL);
    headers.delete("Content-Type");
    headers.delete("Content-Length");
    return new Response(null, { status: 416, headers });
  }
  if (range === "ignore") return new Response(bytes, { status: 200, headers });
  headers.set("Content-Range", `bytes ${range.start}-${range.end}/${bytes.byteLength}`);
  headers.set("Content-Length", String(range.end - range.start + 1));
  return new Response(bytes.slice(range.start, range.end + 1), { status: 206, headers });
}

/** Weak comparison (RFC 9110 13.1.2): W/ prefixes are ignored; "*" matches any current representation. */
function etagMatches(ifNoneMatch: string | null, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const strip = (tag: string) => tag.trim().replace(/^W\//, "");
  return ifNoneMatch.split(",").some((candidate) => candidate.trim() === "*" || strip(candidate) === strip(etag));
}

export type ByteRange = { start: number; end: number };

/**
 * One `bytes=` range, inclusive. Multiple ranges and syntax we do not understand are ignored (the whole
 * object is sent, which RFC 9110 allows); a well-formed range that starts past the end is unsatisfiable.
 */
export function parseByteRange(header: string, size: number): ByteRange | "ignore" | "unsatisfiable" {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return "ignore";
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return "ignore";
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== "" && Number(last) < start) return "ignore";
  if (start >= size) return "unsatisfiable";
  return { start, end };
}

function pickHeaders(from: Headers, names: string[]): Headers {
  const picked = new Headers();
  for (const name of names) {
    const value = from.get(name);
    if (value !== null) picked.set(name, value);
  }
  return picked;
}
