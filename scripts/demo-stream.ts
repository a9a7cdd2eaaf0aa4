import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/**
 * The demo stream `npm start` publishes: created through the real streams API on first start and
 * remembered in the state directory, so its watch URL stays the same across restarts.
 */
export interface StreamCredentials {
  id: string;
  streamKey: string;
  rtmpUrl: string;
  hlsUrl: string;
  watchUrl: string;
}

export async function createStream(edgeUrl: string, adminToken: string, title: string): Promise<StreamCredentials> {
  const res = await fetch(`${edgeUrl}/api/streams`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ title }),
  });
  if (res.status !== 201) throw new Error(`creating a stream failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as StreamCredentials;
}

export async function demoStream(edgeUrl: string, adminToken: string, stateDir: string): Promise<StreamCredentials> {
  const file = join(stateDir, "demo-stream.json");
  const saved = await readFile(file, "utf8").then((t) => JSON.parse(t) as StreamCredentials, () => undefined);
  if (saved) {
    const res = await fetch(`${edgeUrl}/api/streams/${saved.id}`);
    // The stream must still exist in the registry (the state directory may have been wiped in part).
    if (res.ok) return { ...saved, ...pickUrls((await res.json()) as Partial<StreamCredentials>) };
  }
  const created = await createStream(edgeUrl, adminToken, "onair demo: test pattern");
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(created, null, 2));
  return created;
}

function pickUrls(s: Partial<StreamCredentials>): Partial<StreamCredentials> {
  return Object.fromEntries(Object.entries({ hlsUrl: s.hlsUrl, watchUrl: s.watchUrl }).filter(([, v]) => v));
}
