#!/usr/bin/env bash
# `npm start`: the whole local stack (edge Worker in workerd with local R2 and Durable Objects, the ingest
# node, and a demo stream unless --no-demo).
set -euo pipefail
cd "$(dirname "$0")/.."
# Offline, wrangler cannot fetch the Request.cf sample object; the fallback it uses is fine, so skip the try.
export CLOUDFLARE_CF_FETCH_ENABLED=false
# wrangler logs every request at info level, and a live stream alone makes several a second (segment
# notices, health): quiet unless asked for (WRANGLER_LOG=info npm start).
export WRANGLER_LOG="${WRANGLER_LOG:-warn}"
bash scripts/ensure-deps.sh ffmpeg
npm run -s build:web
exec node_modules/.bin/tsx scripts/start.ts "$@"
