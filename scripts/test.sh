#!/usr/bin/env bash
# `npm test`: installs what is missing, then runs every check and every test tier, and ends with one line
# "N passed, N failed" that counts vitest's tests plus the checks below.
set -uo pipefail
cd "$(dirname "$0")/.."
# Offline, wrangler cannot fetch the Request.cf sample object; the fallback it uses is fine, so skip the try.
export CLOUDFLARE_CF_FETCH_ENABLED=false
bash scripts/ensure-deps.sh ffmpeg chromium emoji-font || { echo "0 passed, 1 failed"; exit 1; }

results=test-results
mkdir -p "$results"
passed=0
failed=0

check() {
  local name=$1; shift
  if "$@" >"$results/$name.log" 2>&1; then
    passed=$((passed + 1)); echo "check ok: $name"
  else
    failed=$((failed + 1)); echo "check FAILED: $name (last lines of $results/$name.log):"; tail -n 30 "$results/$name.log"
  fi
}

check build-web npm run -s build:web
check typecheck npm run -s typecheck
dry=$(mktemp -d)
check wrangler-dry-run npx wrangler deploy --dry-run --outdir "$dry"
rm -rf "$dry"

rm -f "$results/vitest.json"
npx vitest run --reporter=default --reporter=json --outputFile="$results/vitest.json" "$@"
read -r vp vf < <(node -e '
  try {
    const r = require(process.argv[1]);
    console.log(r.numPassedTests, r.numFailedTests + (r.success || r.numFailedTests ? 0 : 1));
  } catch { console.log(0, 1); }' "$PWD/$results/vitest.json")
passed=$((passed + vp))
failed=$((failed + vf))

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
