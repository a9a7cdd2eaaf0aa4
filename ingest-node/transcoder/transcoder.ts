import type { ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import ffmpeg from "fluent-ffmpeg";
import { redactStreamKeys, type Logger } from "../logger";
import type { FfmpegInvocation } from "./ffmpeg-args";

/**
 * Runs one ffmpeg invocation (built by ffmpeg-args.ts) and reports on it. fluent-ffmpeg inserts "-y"
 * between the input and the output options (overwrite: the spool directory is the session's own); we do
 * not attach its "progress" listener, which would run ffprobe on our RTMP input a second time.
 */
export interface TranscodeProgress {
  /** encoding speed as a multiple of real time; below 1 the stream falls behind */
  speed: number | null;
  /** media time encoded so far */
  outTimeSeconds: number | null;
  fps: number | null;
}

export interface TranscoderExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** true when we asked it to stop */
  requested: boolean;
  /** why, in ffmpeg's words (keys redacted), when it failed */
  detail: string;
}

export interface TranscoderEvents {
  progress: [progress: TranscodeProgress];
  exit: [exit: TranscoderExit];
}

const STDERR_TAIL_LINES = 20;
/** once its input has ended, ffmpeg flushes its encoders and playlists in well under this */
const FINISH_GRACE_MS = 3000;
/** after SIGINT; longer means it is stuck */
const STOP_TIMEOUT_MS = 5000;

export class Transcoder extends EventEmitter<TranscoderEvents> {
  private command: ffmpeg.FfmpegCommand | null = null;
  private process: ChildProcess | null = null;
  private stopRequested = false;
  private readonly stderrTail: string[] = [];
  /** resolves once ffmpeg has exited and its output is read */
  readonly exited: Promise<TranscoderExit>;
  private resolveExited!: (exit: TranscoderExit) => void;

  constructor(
    private readonly invocation: FfmpegInvocation,
    private readonly logger: Logger,
  ) {
    super();
    this.exited = new Promise((resolve) => (this.resolveExited = resolve));
  }

  run(): void {
    if (this.command) throw new Error("this transcoder already ran; create a new one");
    const { inputOptions, input, outputOptions, output } = this.invocation;
    // Spread arguments: given one array, fluent-ffmpeg splits any option holding exactly one space
    // (a two-variant -var_stream_map) into two.
    const command = ffmpeg({ stdoutLines: 0 })
      .input(input)
      .inputOptions(...inputOptions)
      .outputOptions(...outputOptions)
      .output(output);
    this.command = command;
    command.on("start", (commandLine) => {
      // fluent-ffmpeg keeps the child process here; its exit code and signal are what callers need.
      this.process = (command as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc ?? null;
      this.logger.debug({ commandLine: redactStreamKeys(commandLine) }, "ffmpeg started");
    });
    command.on("stderr", (line) => this.onStderr(line));
    command.on("end", () => this.finish(""));
    command.on("error", (error: Error) => this.finish(error.message));
    command.run();
  }

  /**
   * For after its input has ended: ffmpeg then finishes the segments in progress and writes every
   * playlist with EXT-X-ENDLIST by itself. If it has not exited after FINISH_GRACE_MS: SIGINT (ffmpeg's
   * "q", same finish, but it does not interrupt a blocked read), then SIGKILL after STOP_TIMEOUT_MS.
   */
  async stop(): Promise<TranscoderExit> {
    if (!this.stopRequested) {
      this.stopRequested = true;
      const interrupt = setTimeout(() => this.process?.kill("SIGINT"), FINISH_GRACE_MS);
      const kill = setTimeout(() => {
        this.logger.warn({ timeoutMs: FINISH_GRACE_MS + STOP_TIMEOUT_MS }, "ffmpeg did not finish; killing it");
        this.destroy();
      }, FINISH_GRACE_MS + STOP_TIMEOUT_MS);
      void this.exited.then(() => {
        clearTimeout(interrupt);
        clearTimeout(kill);
      });
    }
    return this.exited;
  }

  /** Ends ffmpeg at once, leaving its output as it is. */
  destroy(): void {
    this.stopRequested = true;
    this.process?.kill("SIGKILL");
  }

  private onStderr(line: string): void {
    const progress = parseProgress(line);
    if (progress) {
      this.emit("progress", progress);
      return;
    }
    if (line.trim() === "") return;
    const text = redactStreamKeys(line);
    if (this.invocation.expectedWarnings.some((pattern) => pattern.test(text.trimEnd()))) return void this.logger.debug({ ffmpeg: text }, "ffmpeg says");
    this.stderrTail.push(text);
    if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
    this.logger.warn({ ffmpeg: text }, "ffmpeg says");
  }

  private finish(errorMessage: string): void {
    const exit: TranscoderExit = {
      code: this.process?.exitCode ?? null,
      signal: this.process?.signalCode ?? null,
      requested: this.stopRequested,
      detail: redactStreamKeys(errorMessage ? `${errorMessage.split("\n")[0]}; ${this.stderrTail.slice(-3).join(" | ")}` : ""),
    };
    this.emit("exit", exit);
    this.resolveExited(exit);
  }
}

/** Reads ffmpeg's -stats line: "frame=  120 fps= 30 ... time=00:00:04.00 bitrate=N/A speed=1.01x". */
export function parseProgress(line: string): TranscodeProgress | null {
  if (!/\bspeed=/.test(line) || !/\btime=/.test(line)) return null;
  const time = /\btime=\s*(\d+):(\d+):(\d+(?:\.\d+)?)/.exec(line);
  const speed = /\bspeed=\s*(\d+(?:\.\d+)?)x/.exec(line);
  const fps = /\bfps=\s*(\d+(?:\.\d+)?)/.exec(line);
  return {
    speed: speed ? Number(speed[1]) : null,
    outTimeSeconds: time ? Number(time[1]) * 3600 + Number(time[2]) * 60 + Number(time[3]) : null,
    fps: fps ? Number(fps[1]) : null,
  };
}
