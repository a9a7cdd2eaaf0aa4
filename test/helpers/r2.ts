import { getPlatformProxy } from "wrangler";

/**
 * Lists every object in the stack's local R2 bucket, through the same persisted store the Worker reads
 * (the "/v3" suffix is where wrangler keeps it). Read-only: the ingest node stays the one writer.
 */
export async function listLocalR2(stateDir: string): Promise<string[]> {
  const proxy = await getPlatformProxy<{ MEDIA: R2BucketLike }>({ configPath: "wrangler.toml", persist: { path: `${stateDir}/v3` } });
  try {
    const keys: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await proxy.env.MEDIA.list({ cursor });
      keys.push(...page.objects.map((o) => o.key));
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    return keys;
  } finally {
    await proxy.dispose();
  }
}

interface R2BucketLike {
  list(options: { cursor?: string }): Promise<{ objects: { key: string }[]; truncated: boolean; cursor?: string }>;
}
