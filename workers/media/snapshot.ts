/**
 * A complete answer from storage, held in memory so that every request waiting on the same read can
 * build its own Response from it (a Response body can be read only once) and ranges can be sliced from it.
 */
export interface MediaSnapshot {
  status: 200 | 400 | 404 | 503;
  headers: Record<string, string>;
  body: ArrayBuffer | string;
  /** false for failures: they must reach neither the edge cache nor requests that arrive later */
  cacheable: boolean;
}

export function snapshotToResponse(snapshot: MediaSnapshot): Response {
  return new Response(snapshot.body, { status: snapshot.status, headers: snapshot.headers });
}
