import { z } from "zod";
import {
  INGEST_AUTHORIZE_PATH,
  INGEST_EVENTS_PATH,
  INGEST_PARTS_PATH,
  INGEST_PLAYLISTS_PATH,
  type IngestEvent,
  type PartialPlaylistNotice,
  type PlaylistStoredNotice,
} from "../workers/shared/ingest-api";
import { STREAM_ID_PATTERN } from "../workers/shared/layout";

/**
 * The ingest node's calls to the edge Worker (workers/shared/ingest-api.ts). `record` says whether the
 * session is kept whole as a recording; an edge older than that field does not send it: false.
 */
export type AuthorizeResult = { ok: true; streamId: string; record?: boolean } | { ok: false; reason: string };

/** What the edge made of an event: "revoked" means the publish must stop. */
export type EventOutcome = "recorded" | "revoked" | "unknown-stream";

/** The edge could not be asked: down or slow (retryable), or misconfigured (not). */
export class EdgeError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface EdgeClientOptions {
  baseUrl: string;
  secret: string;
  /** first delay between event attempts; it doubles */
  retryDelayMs?: number;
}

export interface SendOptions {
  /** attempts before giving up (EVENT_ATTEMPTS unless said); 1 for a report the next one replaces */
  attempts?: number;
}

const REQUEST_TIMEOUT_MS = 5000;
/** A notice later than the next segment (or part) is worthless: the next notice supersedes it. */
const NOTICE_TIMEOUT_MS = 2000;
const EVENT_ATTEMPTS = 4;

const authorizeResponse = z.object({ streamId: z.string().regex(STREAM_ID_PATTERN), record: z.boolean().default(false) });

export class EdgeClient {
  constructor(private readonly options: EdgeClientOptions) {}

  /** One attempt: a publisher whose key cannot be checked now is refused (fail closed), and OBS retries. */
  async authorize(streamKey: string): Promise<AuthorizeResult> {
    const response = await this.post(INGEST_AUTHORIZE_PATH, { streamKey });
    if (response.status === 403) return { ok: false, reason: "unknown or revoked stream key" };
    if (response.status !== 200) throw await this.unexpected(INGEST_AUTHORIZE_PATH, response);
    const body = authorizeResponse.safeParse(await response.json().catch(() => undefined));
    if (!body.success) throw new EdgeError(`the edge answered ${INGEST_AUTHORIZE_PATH} without a valid streamId`, false);
    return { ok: true, streamId: body.data.streamId, record: body.data.record };
  }

  /** Retries transient failures: a lost "idle" would leave the stream shown live. */
  async sendEvent(event: IngestEvent, options: SendOptions = {}): Promise<EventOutcome> {
    const attempts = options.attempts ?? EVENT_ATTEMPTS;
    let delay = this.options.retryDelayMs ?? 500;
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await this.post(INGEST_EVENTS_PATH, event);
        if (response.status === 204 || response.status === 200) return "recorded";
        if (response.status === 403) return "revoked";
        if (response.status === 404) return "unknown-stream";
        throw await this.unexpected(INGEST_EVENTS_PATH, response);
      } catch (error) {
        if (!(error instanceof EdgeError) || !error.retryable || attempt >= attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay *= 2;
      }
    }
  }

  /** One attempt (see INGEST_PLAYLISTS_PATH): throws EdgeError if the edge did not take it. */
  async playlistStored(notice: PlaylistStoredNotice): Promise<void> {
    const response = await this.post(INGEST_PLAYLISTS_PATH, notice, NOTICE_TIMEOUT_MS);
    if (response.status !== 204) throw await this.unexpected(INGEST_PLAYLISTS_PATH, response);
  }

  /** One attempt (see INGEST_PARTS_PATH): throws EdgeError if the edge did not take it. */
  async partialPlaylist(notice: PartialPlaylistNotice): Promise<void> {
    const response = await this.post(INGEST_PARTS_PATH, notice, NOTICE_TIMEOUT_MS);
    if (response.status !== 204) throw await this.unexpected(INGEST_PARTS_PATH, response);
  }

  private async post(path: string, body: unknown, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Response> {
    const url = `${this.options.baseUrl}${path}`;
    try {
      return await fetch(url, {
        method: "POST",
        headers: { authorization: `Bearer ${this.options.secret}`, "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const cause = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
      throw new EdgeError(`could not reach the edge at ${url} (${cause}); is the Worker running, and is ONAIR_EDGE_URL right?`, true, {
        cause: error,
      });
    }
  }

  private async unexpected(path: string, response: Response): Promise<EdgeError> {
    const text = (await response.text().catch(() => "")).slice(0, 200);
    if (response.status === 401) {
      return new EdgeError(`the edge refused our credentials on ${path} (401): ONAIR_INGEST_SECRET must equal the Worker's INGEST_SECRET`, false);
    }
    return new EdgeError(`the edge answered ${path} with HTTP ${response.status}: ${text}`, response.status >= 500);
  }
}
