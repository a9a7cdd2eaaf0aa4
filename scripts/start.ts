import type { ChildProcess } from "node:child_process";
import { loadLocalConfig } from "./local-config";
import { startLocalStack } from "./local-stack";
import { demoStream } from "./demo-stream";
import { startTestPattern } from "./test-pattern";

/** `npm start [-- --no-demo]`: the whole local stack in one command, stopped cleanly by Ctrl-C. */
async function main(): Promise<void> {
  const withDemo = !process.argv.includes("--no-demo");
  const config = loadLocalConfig();
  const stack = await startLocalStack({ ...config, echoIngestLog: process.env.ONAIR_VERBOSE === "1" });

  let publisher: ChildProcess | undefined;
  let stopping = false;
  const lines = [
    "",
    "onair is running locally.",
    `  Edge (web, API, HLS):  ${stack.edgeUrl}`,
    `  Studio:                ${stack.edgeUrl}/studio`,
    `  RTMP server for OBS:   ${stack.rtmpServerUrl}`,
    `  Admin token:           ${config.adminToken}${config.adminTokenGenerated ? "  (generated; set ONAIR_ADMIN_TOKEN to keep one)" : ""}`,
  ];
  if (withDemo) {
    const demo = await demoStream(stack.edgeUrl, config.adminToken, config.stateDir);
    const publishDemo = () => {
      publisher = startTestPattern({ url: `${stack.rtmpServerUrl}/${demo.streamKey}` });
      publisher.once("exit", (code) => {
        if (stopping) return;
        console.error(`demo publisher exited (code ${code}); restarting in 2 s`);
        setTimeout(publishDemo, 2000);
      });
    };
    publishDemo();
    lines.push(
      "",
      "Demo stream (a test pattern with a clock, live in a few seconds):",
      `  Watch:       ${demo.watchUrl}`,
      `  HLS:         ${demo.hlsUrl}`,
      `  Stream key:  ${demo.streamKey}`,
    );
  } else {
    lines.push("", "No demo stream (--no-demo). Create a stream in the studio, then point OBS at the RTMP server with its key.");
  }
  lines.push("", "Ctrl-C stops everything.");
  console.log(lines.join("\n"));

  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    console.log("\nstopping onair...");
    publisher?.kill("SIGINT");
    await stack.stop();
    process.exit(0);
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
  stack.ingest.once("exit", (code) => {
    if (stopping) return;
    console.error(`the ingest node exited unexpectedly (code ${code}); stopping. Run with ONAIR_VERBOSE=1 to see its log.`);
    void shutdown();
  });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
