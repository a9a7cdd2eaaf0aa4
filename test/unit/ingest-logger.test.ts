import { describe, expect, it } from "vitest";
import { redactStreamKey, redactStreamKeys } from "../../ingest-node/logger";

describe("stream key redaction", () => {
  const key = `sk_${"9f".repeat(20)}`;

  it("keeps only a prefix that tells keys apart", () => {
    expect(redactStreamKey(key)).toBe("sk_9f9f…");
    expect(redactStreamKey("mysecretkey")).toBe("…");
  });

  it("redacts keys in the messages node-media-server and ffmpeg write", () => {
    expect(redactStreamKeys(`RTMP session x 127.0.0.1:5 push /live/${key} error, streamPath=/live/${key} already has a publisher`)).toBe(
      "RTMP session x 127.0.0.1:5 push /live/sk_9f9f… error, streamPath=/live/sk_9f9f… already has a publisher",
    );
    expect(redactStreamKeys("rtmp://127.0.0.1:1935/live/notakey: Input/output error")).toBe("rtmp://127.0.0.1:1935/live/…: Input/output error");
    expect(redactStreamKeys("invalid stream path characters: app=live, name=my$ecret")).toBe("invalid stream path characters: app=live, name=…");
  });
});
