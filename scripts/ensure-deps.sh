#!/usr/bin/env bash
# Installs what `npm start` / `npm test` need and is missing: npm packages always; ffmpeg and chromium from
# apt when running as root on Debian, otherwise one line saying what to install. Usage:
# ensure-deps.sh [ffmpeg] [chromium] [emoji-font]. The emoji font is optional (reaction buttons in Chromium
# screenshots render as boxes without it): missing it is only a note.
set -euo pipefail
cd "$(dirname "$0")/.."

major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "onair needs Node.js 20 or newer (found $(node --version)). Install it from your distribution or nodejs.org." >&2
  exit 1
fi

# npm ci when node_modules is missing or older than the lockfile.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "onair: installing npm packages (npm ci)..."
  npm ci --no-audit --no-fund --loglevel=error
fi

missing=()
optional=()
for tool in "$@"; do
  case "$tool" in
    ffmpeg) { command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null; } || missing+=(ffmpeg) ;;
    chromium) [ -x /usr/bin/chromium ] || missing+=(chromium) ;;
    emoji-font) [ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || optional+=(fonts-noto-color-emoji) ;;
    *) echo "ensure-deps: unknown tool $tool" >&2; exit 2 ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && [ ${#optional[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "onair: installing ${missing[*]} ${optional[*]} from apt..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" "${optional[@]}" >/dev/null || [ ${#missing[@]} -eq 0 ]
elif [ ${#missing[@]} -gt 0 ]; then
  echo "onair: missing ${missing[*]}. Install with: sudo apt-get install -y ${missing[*]} ${optional[*]}" >&2
  exit 1
else
  echo "onair: note: ${optional[*]} is not installed; emoji in browser screenshots will show as boxes (sudo apt-get install -y ${optional[*]})" >&2
fi
