#!/usr/bin/env bash
# Times every test file alone (or the files given as arguments): one `tap <file>` per file, PARALLEL
# at a time (default 1), and prints "cpu_s wall_s user_s sys_s exit file" sorted by CPU time, the
# longest first. CPU time (user + sys of tap and every child it waited for) is what to compare on a
# loaded machine; wall time only on a quiet one. Processes the tests talk to but did not start
# (PostgreSQL, Redis) are not counted. Usage: scripts/time-test-files.sh [-j PARALLEL] [files...]
set -uo pipefail
cd "$(dirname "$0")/.."
parallel=1
if [ "${1:-}" = "-j" ]; then parallel=$2; shift 2; fi
if [ $# -gt 0 ]; then files=("$@"); else mapfile -t files < <(find test -name '*.test.ts' | sort); fi

# Build and make the PGlite template once up front so that no file's time includes them.
node scripts/before-tests.js
out=$(mktemp -d)
printf '%s\n' "${files[@]}" | xargs -P "$parallel" -I{} bash -c '
  f="$1"; log="$2/$(echo "$f" | tr / _)"
  /usr/bin/time -f "%e %U %S" -o "$log.time" node_modules/.bin/tap --reporter=tap "$f" >"$log.out" 2>&1
  rc=$?
  # time(1) puts "Command exited with non-zero status N" before its line when the run failed.
  read -r wall user sys < <(tail -1 "$log.time")
  awk -v w="$wall" -v u="$user" -v s="$sys" -v rc="$rc" -v f="$f" "BEGIN { printf \"%.1f %.1f %.1f %.1f %d %s\n\", u + s, w, u, s, rc, f }"
' _ {} "$out" | sort -rn
