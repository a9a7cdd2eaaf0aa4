import { EventEmitter } from "node:events";
import { renditionNames, type Ladder } from "../ladder/ladder";
import type { Logger } from "../logger";
import { outputStreamNames, prepareSpool } from "../packager/dash-output";
import { SegmentWatcher } from "../packager/segment-watcher";
import { buildFfmpegInvocation } from "../transcoder/ffmpeg-args";
import type { VideoEncoder } from "../transcoder/encoders";
import { Transcoder, type TranscodeProgress, type TranscoderExit } from "../transcoder/transcoder";
import type { SessionUploader } from "../uploader/uploader";

/**
 * One ffmpeg of a session and the watcher on its output directory. The directory is its own: ffmpeg
 * numbers segments from 1 and rewrites its playlists from scratch, so two runs sharing one would
 * overwrite each other; the uploader tells runs apart by directory.
 */
export interface PublishInput {
  /** our RTMP play URL of the publish */
  playUrl: string;
  /** ends ffmpeg's input (its RTMP playback), so that it finishes by itself */
  endInput: () => void;
}

export interface TranscoderRunOptions {
  dir: string;
  ladder: Ladder;
  input: PublishInput;
  uploader: SessionUploader;
  logger: Logger;
  encoder?: VideoEncoder;
}

export interface TranscoderRunEvents {
  progress: [progress: TranscodeProgress];
  /** ffmpeg exited without being asked to */
  crashed: [exit: TranscoderExit];
}

export class TranscoderRun extends EventEmitter<TranscoderRunEvents> {
  private transcoder: Transcoder | null = null;
  private watcher: SegmentWatcher | null = null;
  exit: TranscoderExit | null = null;

  constructor(private readonly options: TranscoderRunOptions) {
    super();
  }

  async start(): Promise<void> {
    const { dir, ladder, input, uploader, logger, encoder } = this.options;
    await prepareSpool(dir, ladder);
    this.watcher = new SegmentWatcher({
      dir,
      renditions: renditionNames(ladder),
      streams: outputStreamNames(ladder),
      onPlaylist: (rendition, text) => uploader.offerPlaylist(rendition, text, dir),
      onPart: (rendition, part) => uploader.offerPart(rendition, part, dir),
      onMaster: (text) => uploader.offerMaster(text),
      onPoster: (jpeg) => uploader.offerPoster(new Uint8Array(jpeg.buffer, jpeg.byteOffset, jpeg.length)),
      logger,
    });
    const transcoder = new Transcoder(buildFfmpegInvocation({ inputUrl: input.playUrl, outputDir: dir, ladder, encoder }), logger);
    transcoder.on("progress", (progress) => this.emit("progress", progress));
    transcoder.on("exit", (exit) => {
      this.exit = exit;
      if (exit.requested) return;
      logger.error({ code: exit.code, signal: exit.signal, detail: exit.detail }, "ffmpeg exited on its own");
      this.emit("crashed", exit);
    });
    this.transcoder = transcoder;
    transcoder.run();
    this.watcher.start();
  }

  /**
   * Ends the input so ffmpeg finishes by itself (killed if it does not), then reports its last output.
   * promptly: ffmpeg is killed at once, dropping what it has not written yet (for a run that fell behind
   * live, whose queued frames are late already); the segments it finished are still reported.
   */
  async finish(options: { promptly?: boolean } = {}): Promise<void> {
    this.options.input.endInput();
    if (options.promptly && this.transcoder) {
      this.transcoder.destroy();
      await this.transcoder.exited;
    } else {
      await this.transcoder?.stop();
    }
    await this.watcher?.stop();
  }
}
