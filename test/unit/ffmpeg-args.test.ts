import { describe, expect, it } from "vitest";
import { chooseLadder } from "../../ingest-node/ladder/ladder";
import { NVENC } from "../../ingest-node/transcoder/encoders";
import { outputStreamNames, partTargets } from "../../ingest-node/packager/dash-output";
import { buildFfmpegInvocation, toArgv } from "../../ingest-node/transcoder/ffmpeg-args";

/** The exact command line: any change to it is a decision, made visible here. */
describe("ffmpeg arguments for a ladder", () => {
  it("decodes once, cascades the scalers, caps fps where a rung needs it, encodes audio once", () => {
    const ladder = chooseLadder({ width: 1920, height: 1080, fps: { num: 60, den: 1 }, hasAudio: true });
    const argv = toArgv(buildFfmpegInvocation({ inputUrl: "rtmp://127.0.0.1:1935/live/sk_x", outputDir: "/spool/s1", ladder }));
    expect(argv).toEqual([
      "-hide_banner", "-nostdin", "-loglevel", "warning", "-stats",
      "-analyzeduration", "2000000",
      "-i", "rtmp://127.0.0.1:1935/live/sk_x",
      "-filter_complex",
      "[0:v:0]format=yuv420p,split=3[v0][c0][poster];" +
        "[c0]scale=w=1280:h=720:flags=bicubic,split=2[v1][c1];" +
        "[c1]select=not(mod(n\\,2)),fps=30,scale=w=854:h=480:flags=bicubic,split=2[v2][c2];" +
        "[c2]scale=w=640:h=360:flags=bicubic,split=2[v3][c3];" +
        "[c3]select=not(mod(n\\,2)),fps=15,scale=w=256:h=144:flags=bicubic[v4];" +
        "[poster]select=isnan(prev_selected_t)+gte(t-prev_selected_t\\,10)[posterout]",
      "-map", "[posterout]", "-c:v", "mjpeg", "-q:v", "4", "-fps_mode", "passthrough", "-f", "image2", "-update", "1", "-atomic_writing", "1", "/spool/s1/poster.jpg",
      "-map", "[v0]", "-map", "[v1]", "-map", "[v2]", "-map", "[v3]", "-map", "[v4]", "-map", "0:a:0",
      "-c:v:0", "libx264", "-c:v:1", "libx264", "-c:v:2", "libx264", "-c:v:3", "libx264", "-c:v:4", "libx264",
      "-preset", "veryfast",
      "-x264-params", "me=dia:subme=1:partitions=i8x8,i4x4:bframes=1:b-adapt=0:rc-lookahead=0:sync-lookahead=0:mbtree=0",
      "-sc_threshold", "0", "-flags", "+cgop",
      "-force_key_frames", "expr:gte(t,n_forced*2)",
      "-b:v:0", "5000k", "-maxrate:v:0", "5350k", "-bufsize:v:0", "7500k",
      "-b:v:1", "2800k", "-maxrate:v:1", "2996k", "-bufsize:v:1", "4200k",
      "-b:v:2", "1400k", "-maxrate:v:2", "1498k", "-bufsize:v:2", "2100k",
      "-b:v:3", "800k", "-maxrate:v:3", "856k", "-bufsize:v:3", "1200k",
      "-b:v:4", "200k", "-maxrate:v:4", "214k", "-bufsize:v:4", "300k",
      "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-af", "aresample=async=1",
      "-f", "dash", "-streaming", "1", "-frag_type", "duration", "-frag_duration", "0.5", "-seg_duration", "2",
      "-hls_playlist", "1", "-window_size", "6", "-extra_window_size", "1000", "-remove_at_exit", "0",
      "-adaptation_sets", "id=0,streams=v id=1,streams=a",
      "-init_seg_name", "$RepresentationID$/init.mp4",
      "-media_seg_name", "$RepresentationID$/seg-$Number%05d$.m4s",
      "/spool/s1/manifest.mpd",
    ]);
  });

  it("leaves audio out entirely for a silent source, and scales a portrait source to portrait rungs", () => {
    const ladder = chooseLadder({ width: 720, height: 1280, fps: { num: 30000, den: 1001 }, hasAudio: false });
    const { outputOptions } = buildFfmpegInvocation({ inputUrl: "in", outputDir: "/o", ladder });
    const option = (name: string) => outputOptions[outputOptions.indexOf(name) + 1];
    expect(option("-filter_complex")).toBe(
      "[0:v:0]format=yuv420p,split=3[v0][c0][poster];" +
        "[c0]scale=w=480:h=854:flags=bicubic,split=2[v1][c1];" +
        "[c1]scale=w=360:h=640:flags=bicubic,split=2[v2][c2];" +
        "[c2]select=not(mod(n\\,2)),fps=15000/1001,scale=w=144:h=256:flags=bicubic[v3];" +
        "[poster]select=isnan(prev_selected_t)+gte(t-prev_selected_t\\,10)[posterout]",
    );
    expect(outputStreamNames(ladder)).toEqual(["720p", "480p", "360p", "144p"]);
    expect(outputOptions).not.toContain("0:a:0");
    expect(outputOptions).not.toContain("-c:a");
    expect(outputOptions).not.toContain("-af");
  });

  it("copies a playable source as the top rung, keyframing the others where the source does", () => {
    const source = {
      width: 1920, height: 1080, fps: { num: 60, den: 1 }, hasAudio: false,
      video: { codec: "h264", profile: "High", pixFmt: "yuv420p" },
      keyframes: { intervalsSeconds: [2], intervalsFrames: [120], tailSeconds: 1, windowSeconds: 4.5 },
    };
    const ladder = chooseLadder(source);
    const { outputOptions } = buildFfmpegInvocation({ inputUrl: "in", outputDir: "/o", ladder });
    const option = (name: string) => outputOptions[outputOptions.indexOf(name) + 1];
    expect(option("-filter_complex")).toBe(
      "[0:v:0]scale=w=1280:h=720:flags=bicubic,format=yuv420p,split=3[v1][c1][poster];" +
        "[c1]select=not(mod(n\\,2)),fps=30,scale=w=854:h=480:flags=bicubic,split=2[v2][c2];" +
        "[c2]scale=w=640:h=360:flags=bicubic,split=2[v3][c3];" +
        "[c3]select=not(mod(n\\,2)),fps=15,scale=w=256:h=144:flags=bicubic[v4];" +
        "[poster]select=isnan(prev_selected_t)+gte(t-prev_selected_t\\,10)[posterout]",
    );
    expect(outputOptions.slice(outputOptions.indexOf("[v1]") - 3, outputOptions.indexOf("-preset"))).toEqual([
      "-map", "0:v:0", "-map", "[v1]", "-map", "[v2]", "-map", "[v3]", "-map", "[v4]",
      "-c:v:0", "copy", "-c:v:1", "libx264", "-c:v:2", "libx264", "-c:v:3", "libx264", "-c:v:4", "libx264",
    ]);
    expect(option("-force_key_frames")).toBe("source");
    expect(outputOptions).not.toContain("-b:v:0");
    expect(option("-b:v:1")).toBe("2800k");
  });

  it("uses the chosen encoder's codec and options for every encoded rung", () => {
    const ladder = chooseLadder({ width: 640, height: 360, fps: null, hasAudio: false });
    const { outputOptions } = buildFfmpegInvocation({ inputUrl: "in", outputDir: "/o", ladder, encoder: NVENC });
    const codecs = outputOptions.slice(outputOptions.indexOf("-c:v:0"), outputOptions.indexOf("-force_key_frames"));
    expect(outputOptions.indexOf("-c:v:0")).toBeGreaterThan(outputOptions.indexOf("/o/poster.jpg"));
    expect(codecs).toEqual(["-c:v:0", "h264_nvenc", "-c:v:1", "h264_nvenc", "-preset", "p4", "-tune", "ll", "-forced-idr", "1", "-no-scenecut", "1"]);
  });

  it("follows bitrate overrides and segment settings", () => {
    const ladder = chooseLadder({ width: 640, height: 360, fps: null, hasAudio: true }, { "360p": 600, audio: 96 });
    const { outputOptions } = buildFfmpegInvocation({ inputUrl: "in", outputDir: "/o", ladder, segmentSeconds: 4, playlistSize: 10 });
    const option = (name: string) => outputOptions[outputOptions.indexOf(name) + 1];
    expect([option("-b:v:0"), option("-maxrate:v:0"), option("-bufsize:v:0"), option("-b:a")]).toEqual(["600k", "642k", "900k", "96k"]);
    expect([option("-seg_duration"), option("-window_size"), option("-force_key_frames")]).toEqual(["4", "10", "expr:gte(t,n_forced*4)"]);
  });

  it("gives each rendition a part target its fragments fit: one frame past half a second, AAC at 0.512 s", () => {
    const ladder = chooseLadder({ width: 1920, height: 1080, fps: { num: 25, den: 1 }, hasAudio: true });
    expect(Object.fromEntries(partTargets(ladder))).toEqual({ "1080p": 0.525, "720p": 0.525, "480p": 0.525, "360p": 0.525, "144p": 0.566, audio: 0.512 });
    const ntsc = chooseLadder({ width: 1280, height: 720, fps: { num: 30000, den: 1001 }, hasAudio: false });
    expect(Object.fromEntries(partTargets(ntsc))).toEqual({ "720p": 0.506, "480p": 0.506, "360p": 0.506, "144p": 0.539 });
  });

  it("expects the DASH muxer's routine warnings, and only those", () => {
    const { expectedWarnings } = buildFfmpegInvocation({ inputUrl: "in", outputDir: "/o", ladder: chooseLadder({ width: 640, height: 360, fps: null, hasAudio: true }) });
    const expected = (line: string) => expectedWarnings.some((pattern) => pattern.test(line));
    expect(expected("[dash @ 0x55d1c0] No bit rate set for stream 0")).toBe(true);
    expect(expected("[dash @ 0x55d1c0] failed to delete /spool/s1/720p/seg-00001.m4s: No such file or directory")).toBe(true);
    expect(expected("[dash @ 0x55d1c0] failed to delete /spool/s1/720p/seg-00001.m4s: Permission denied")).toBe(false);
    expect(expected("rtmp://127.0.0.1:1935/live/sk_0048…: Input/output error")).toBe(false);
  });
});
