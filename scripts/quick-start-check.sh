#!/usr/bin/env bash
# The README's quick start, run the way a newcomer runs it on a fresh clone after `npm ci`:
# `npm start` in one terminal, `npx lienthong demo` in a second, nothing else. Exits 0 when the demo
# delivered its document both ways (push and pull), with status 03 back and its receipts verified.
# test/demo/demo-command.test.ts runs it. Needs Redis on 127.0.0.1:6379 and port 9441 free (where
# the demo registry says the hub pushes to 000.00.00.G22).
# Differences from a newcomer's terminals, so that it can run beside other tests: a free port
# instead of 8080 (QUICK_START_PORT to choose one), a temporary data directory, its own queue prefix.
set -euo pipefail
cd "$(dirname "$0")/.."

say () { printf 'quick start: %s\n' "$*"; }

# `npm ci` builds dist/ (the prepare script) and bin/lienthong.js runs it; a working checkout whose
# src/ changed since (or that never built) is brought to the state `npm ci` leaves, and a dist/
# made only for this check is removed again.
built_here=
if [ ! -f dist/cli/main.js ] || [ -n "$(find src -newer dist/cli/main.js -print -quit)" ]; then
  [ -d dist ] || built_here=1
  say "dist/ is missing or older than src/: npm run build, as npm ci does"
  npm run build --silent
fi

port=${QUICK_START_PORT:-$(node -e "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close() })")}
work=$(mktemp -d)
export LIENTHONG_PORT="$port" LIENTHONG_DATA_DIR="$work/data" LIENTHONG_QUEUE_PREFIX="{lt-quickstart-$$}" DATABASE_URL=

hub=
cleanup () {
  if [ -n "$hub" ] && kill -0 "$hub" 2>/dev/null; then
    # npm, its shell and the hub share the process group `set -m` gave them.
    kill -TERM -- "-$hub" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$hub" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$hub" 2>/dev/null || true
  fi
  if command -v redis-cli >/dev/null 2>&1; then
    redis="${REDIS_URL:-redis://127.0.0.1:6379}"
    redis-cli -u "$redis" --scan --pattern "{lt-quickstart-$$}*" 2>/dev/null | xargs -r redis-cli -u "$redis" del >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
  if [ -n "$built_here" ]; then rm -rf dist; fi
}
trap cleanup EXIT
# A stopped check (Ctrl-C, a test timeout) still stops the hub and removes what it made.
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# First terminal.
set -m
npm start >"$work/hub.log" 2>&1 &
hub=$!
set +m
for _ in $(seq 1 1200); do
  grep -q 'demo-api-keys.json' "$work/hub.log" 2>/dev/null && break
  kill -0 "$hub" 2>/dev/null || break
  sleep 0.1
done
if ! grep -q 'demo-api-keys.json' "$work/hub.log"; then
  say "FAILED: npm start did not come up on port $port"
  cat "$work/hub.log"
  exit 1
fi
say "npm start is listening on port $port"

# Second terminal.
set +e
npx lienthong demo >"$work/demo.out" 2>&1
code=$?
set -e
cat "$work/demo.out"

failed=
[ "$code" = 0 ] || failed="npx lienthong demo exited $code"
for line in \
  '✓ accepted by the hub' \
  '✓ delivered to 000.00.00.G22 by push' \
  '✓ delivered to 000.00.00.G12 by pull' \
  '✓ status 03 from 000.00.00.G22 back at 000.00.00.H41' \
  '✓ status 03 from 000.00.00.G12 back at 000.00.00.H41' \
  'receipts verified' \
  'was delivered both ways'; do
  [ -n "$failed" ] || grep -qF -- "$line" "$work/demo.out" || failed="the demo did not print \"$line\""
done
if [ -n "$failed" ]; then
  say "FAILED: $failed; the hub's log:"
  tail -n 50 "$work/hub.log"
  exit 1
fi
say "OK"
