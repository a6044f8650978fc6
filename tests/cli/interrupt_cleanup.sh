#!/usr/bin/env bash
# Nothing outlives a run: not after a normal end, not after Ctrl-C (SIGINT),
# not after SIGKILL halfway. Checked precisely on what this run started (the
# keeper's cgroup, every process in it), so tests running beside it don't count.
set -u
crashloop=$1
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
failures=0

. "$(dirname "$0")/lib/run_tree.sh"
gone() { run_gone; }

run_case() { # run_case NAME SIGNAL EXPECTED_EXIT JOBS [SUPERVISOR]
  local name=$1 signal=$2 expected=$3 jobs=$4 supervisor=${5:-systemd}
  # Four cells at a time: long enough (seconds) to be interrupted halfway.
  "$crashloop" matrix --supervisor "$supervisor" --jobs "$jobs" --format json >"$work/out" 2>"$work/err" &
  local pid=$!
  wait_for 30 keeper_of $pid >/dev/null || { echo "FAIL $name: no keeper"; failures=$((failures+1)); return; }
  keeper=$(keeper_of $pid)
  # The keeper moves itself into a cgroup of its own first thing; wait for that.
  wait_for 30 keeper_moved "$keeper" || { echo "FAIL $name: keeper never got its cgroup"; failures=$((failures+1)); }
  if [ "$signal" != none ]; then
    wait_for 30 fixtures_running 10 "$keeper" || { echo "FAIL $name: fixtures never ran"; failures=$((failures+1)); }
  fi
  pids="$keeper $(tree_pids "$cg" | tr '\n' ' ')"
  [ "$signal" != none ] && kill -s "$signal" $pid
  wait $pid; local rc=$?
  if [ $rc -ne "$expected" ]; then echo "FAIL $name: exit $rc, expected $expected"; cat "$work/err"
    # which cells, and why: the report says
    jq -r '.cells[]? | select(.verdict != "pass" and .verdict != "known-deviation") | "  \(.restart)/\(.cause): \(.verdict): \(.reason) (\(.evidence))"' "$work/out" 2>/dev/null
    failures=$((failures+1))
  fi
  if ! wait_for 20 gone; then
    echo "FAIL $name: left behind: $(what_is_left)"
    failures=$((failures+1)); return
  fi
  if [ "$signal" = INT ] && [ -s "$work/out" ]; then echo "FAIL $name: a report was written after Ctrl-C"; failures=$((failures+1)); return; fi
  echo "ok   $name: exit $rc; $(echo $pids | wc -w) processes and the cgroup gone"
}

[ -z "${ONLY_INTERRUPTS:-}" ] && run_case normal-end none 0 0
run_case ctrl-c INT 130 4
run_case sigkill KILL 137 4
# A supervisor in a jail (its own supervisord, its programs) goes the same way.
if command -v supervisord >/dev/null; then
  run_case supervisord-ctrl-c INT 130 4 supervisord
  run_case supervisord-sigkill KILL 137 4 supervisord
fi
[ $failures -eq 0 ] && echo "nothing outlived any run" || exit 1
