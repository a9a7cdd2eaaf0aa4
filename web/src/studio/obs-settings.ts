import { h } from "../lib/dom";

/** OBS settings that suit the ingest ladder (2 s CMAF segments re-encoded to 720p/480p/360p). */
const SETTINGS: Array<[string, string]> = [
  ["Settings › Stream › Service", "Custom…"],
  ["Video encoder", "x264, or your GPU's H.264 encoder (NVENC, Quick Sync, AMF, Apple VT)"],
  ["Rate control", "CBR"],
  ["Bitrate", "4500 Kbps at 1080p30 (6000 at 1080p60, 3000 at 720p30)"],
  ["Keyframe interval", "2 s (matches the 2 s segments viewers get)"],
  ["x264 CPU preset / profile", "veryfast / high"],
  ["B-frames (hardware encoders)", "2 or fewer"],
  ["Audio", "AAC, 160 Kbps, 48 kHz stereo"],
  ["Settings › Video", "Output 1920×1080, 30 fps"],
];

export function obsSettings(): HTMLElement {
  return h(
    "details",
    { class: "obs-settings", open: true },
    h("summary", {}, "Recommended OBS settings"),
    h("p", { class: "hint" }, "Settings › Output, with Output Mode set to Advanced, then the Streaming tab:"),
    h("dl", { class: "settings-list" }, ...SETTINGS.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
  );
}
