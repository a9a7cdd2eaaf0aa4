import { appendFile, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { RENDITION_PATTERN } from "../../workers/shared/layout";

/**
 * What a session has put in the store, kept on the ingest node's disk next to its spool, so that a node
 * that crashed mid-session can still end it properly when it starts again (session/orphan-recovery.ts):
 * the stored playlists get EXT-X-ENDLIST (a recorded session's over every segment), the edge hears
 * "idle" and the recording. One line appended per stored segment: O(1) per segment however long the
 * session runs. A normal end removes the spool and the journal with it.
 */
export interface SessionDescriptor {
  streamId: string;
  sessionId: string;
  record: boolean;
  /** ISO time the session started */
  startedAt: string;
  /** ISO time its master was first stored; absent if it never went live */
  liveAt?: string;
}

export interface JournalEntry {
  sequence: number;
  uri: string;
  duration: number;
  discontinuity: boolean;
  initFile: string;
}

const DESCRIPTOR_FILE = "session.json";
const JOURNAL_DIR = "stored";

export class SessionJournal {
  constructor(private readonly sessionDir: string) {}

  async describe(descriptor: SessionDescriptor): Promise<void> {
    await mkdir(join(this.sessionDir, JOURNAL_DIR), { recursive: true });
    await writeFile(join(this.sessionDir, DESCRIPTOR_FILE), JSON.stringify(descriptor));
  }

  async markLive(at: Date): Promise<void> {
    const descriptor = await readDescriptor(this.sessionDir);
    if (descriptor) await writeFile(join(this.sessionDir, DESCRIPTOR_FILE), JSON.stringify({ ...descriptor, liveAt: at.toISOString() }));
  }

  async stored(rendition: string, segment: JournalEntry): Promise<void> {
    const { sequence, uri, duration, discontinuity, initFile } = segment;
    const entry: JournalEntry = { sequence, uri, duration, discontinuity, initFile };
    await appendFile(this.file(rendition), `${JSON.stringify(entry)}\n`);
  }

  /** A shed rendition's playlist is gone from the store: nothing of it to end after a crash. */
  async forget(rendition: string): Promise<void> {
    await rm(this.file(rendition), { force: true });
  }

  private file(rendition: string): string {
    return join(this.sessionDir, JOURNAL_DIR, `${rendition}.jsonl`);
  }
}

export async function readDescriptor(sessionDir: string): Promise<SessionDescriptor | null> {
  const text = await readFile(join(sessionDir, DESCRIPTOR_FILE), "utf8").catch(() => null);
  if (text === null) return null;
  try {
    return JSON.parse(text) as SessionDescriptor;
  } catch {
    return null;
  }
}

/** Every rendition's stored segments, in order. A line cut short by the crash is left out. */
export async function readJournal(sessionDir: string): Promise<Map<string, JournalEntry[]>> {
  const dir = join(sessionDir, JOURNAL_DIR);
  const files = await readdir(dir).catch(() => [] as string[]);
  const journal = new Map<string, JournalEntry[]>();
  for (const file of files) {
    const rendition = file.replace(/\.jsonl$/, "");
    if (!file.endsWith(".jsonl") || !RENDITION_PATTERN.test(rendition)) continue;
    const entries: JournalEntry[] = [];
    for (const line of (await readFile(join(dir, file), "utf8")).split("\n")) {
      try {
        if (line) entries.push(JSON.parse(line) as JournalEntry);
      } catch {
        // the last line, half written when the process died
      }
    }
    journal.set(rendition, entries);
  }
  return journal;
}
