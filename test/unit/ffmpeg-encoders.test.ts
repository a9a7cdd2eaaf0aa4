import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { chooseEncoder, NVENC, X264 } from "../../ingest-node/transcoder/encoders";
import { captureLogger } from "./ingest-fixtures";

describe("choosing the video encoder", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  /** An ffmpeg that lists h264_nvenc and whose trial encode exits with `trialCode`. */
  async function fakeFfmpeg(trialCode: number): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "onair-fake-ffmpeg-"));
    dirs.push(dir);
    const path = join(dir, "ffmpeg");
    await writeFile(path, `#!/bin/sh\nif [ "$2" = "-encoders" ]; then echo " V....D h264_nvenc  NVIDIA NVENC H.264 encoder"; exit 0; fi\necho "No capable devices found" >&2\nexit ${trialCode}\n`);
    await chmod(path, 0o755);
    return path;
  }

  it("uses a hardware encoder that is listed and passes the trial", async () => {
    const { logger, lines } = captureLogger("info");
    const choice = await chooseEncoder(logger, await fakeFfmpeg(0));
    expect(choice).toEqual({ encoder: NVENC, reason: "h264_nvenc passed a trial encode" });
    expect(lines.join("\n")).toContain("video encoder: h264_nvenc passed a trial encode");
  });

  it("falls back to x264, saying why, when the hardware encoder is listed but fails", async () => {
    const { logger, lines } = captureLogger("info");
    const choice = await chooseEncoder(logger, await fakeFfmpeg(1));
    expect(choice.encoder).toBe(X264);
    expect(choice.reason).toBe("falling back to x264: h264_nvenc failed a trial encode (No capable devices found)");
    expect(lines.join("\n")).toContain("falling back to x264");
  });

  it("runs the trial with the real ffmpeg on this machine and ends with a working encoder", async () => {
    const { logger } = captureLogger("info");
    const choice = await chooseEncoder(logger);
    expect([X264, NVENC]).toContain(choice.encoder);
    expect(choice.reason).toMatch(/h264_nvenc/);
  }, 30_000);
});
