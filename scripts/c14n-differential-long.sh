#!/usr/bin/env bash
# The long C14N differential run (issue 15): about 1,000,000 cases (document x method x node set)
# of generated documents against libxml2, in two processes with their own seeds, generated
# documents only (the fixed inputs are in the CI run). Needs the oracle of the CI run
# (python3-libxml2, python3-lxml, libxml2-utils). DOCS is per process; 35,000 documents are about
# 500,000 cases.
#   bash scripts/c14n-differential-long.sh            # ~1,000,000 cases
#   DOCS=3500 bash scripts/c14n-differential-long.sh  # a tenth of it
set -uo pipefail
cd "$(dirname "$0")/.."
DOCS="${DOCS:-35000}"
run () {
  C14N_GENERATED_ONLY=1 C14N_DOCS="$DOCS" SEED="$1" npx tap --timeout=0 --reporter=tap test/xmldsig/c14n-libxml2-differential.test.ts > "${TMPDIR:-/tmp}/c14n-long-$1.log" 2>&1
  status=$?
  grep -E '# [0-9]+ generated documents|^# \{' "${TMPDIR:-/tmp}/c14n-long-$1.log" | sed "s/^/seed $1: /"
  return $status
}
run 1001 & a=$!
run 1002 & b=$!
wait $a; ra=$?
wait $b; rb=$?
[ $ra -eq 0 ] && [ $rb -eq 0 ] && echo "long differential run: no difference" || { echo "long differential run: FAILED (logs in ${TMPDIR:-/tmp}/c14n-long-*.log)"; exit 1; }
