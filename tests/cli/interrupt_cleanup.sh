#!/usr/bin/env bash
# Nothing outlives a run: not after a normal end, not after Ctrl-C (SIGINT),
# not after SIGKILL halfway. Checked precisely on what this run started (the
# keeper's cgroup, every process in it), so tests running beside it don't count.
set -u
crashloop=$1
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
failures=0

# Polls a condition until a deadline: the shell's way of waiting on an event.
wait_for() { local deadline=$((SECONDS + $1)); shift; until "$@"; do [ $SECONDS -ge $deadline ] && return 1; sleep 0.02; done; }

keeper_cgroup() { # the keeper's own cgroup in the name=systemd (or unified) hierarchy
  local path; path=$(awk -F: '$2=="name=systemd"{print $3}' /proc/"$1"/cgroup 2>/dev/null)
  if [ -n "$path" ]; then echo "/sys/fs/cgroup/systemd$path"; return; fi
  path=$(awk -F: '$1=="0"{print $3}' /proc/"$1"/cgroup 2>/dev/null)
  [ -d /sys/fs/cgroup/unified ] && echo "/sys/fs/cgroup/unified$path" || echo "/sys/fs/cgroup$path"
}
# systemd moves the keeper into its init.scope; the keeper's own cgroup is the one above.
keeper_moved() { cg=$(keeper_cgroup "$1"); cg=${cg%/init.scope}; [[ $cg == */crashloop-$1 ]]; }
tree_pids() { find "$1" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u; }
# Halfway: the fixtures of at least ten cells have written their event logs.
# (the built-in systemd's are in its private /run; a jailed supervisor's in the jail's dir)
fixtures_running() { [ "$(ls /proc/"$keeper"/root/run/crashloop/events/ /tmp/crashloop-jail-"$keeper"/events/ 2>/dev/null | grep -c '\.log$')" -ge 10 ]; }
gone() { for p in $pids; do [ -d /proc/"$p" ] && return 1; done; [ ! -d "$cg" ] && [ ! -d /tmp/crashloop-jail-"$keeper" ]; }

run_case() { # run_case NAME SIGNAL EXPECTED_EXIT JOBS [SUPERVISOR]
  local name=$1 signal=$2 expected=$3 jobs=$4 supervisor=${5:-systemd}
  # Four cells at a time: long enough (seconds) to be interrupted halfway.
  "$crashloop" matrix --supervisor "$supervisor" --jobs "$jobs" --format json >"$work/out" 2>"$work/err" &
  local pid=$!
  wait_for 30 pgrep -o -P $pid -f 'crashloop-sandbox --(jail|systemd)' >/dev/null || { echo "FAIL $name: no keeper"; failures=$((failures+1)); return; }
  keeper=$(pgrep -o -P $pid -f 'crashloop-sandbox --(jail|systemd)')
  # The keeper moves itself into a cgroup of its own first thing; wait for that.
  wait_for 30 keeper_moved "$keeper" || { echo "FAIL $name: keeper never got its cgroup"; failures=$((failures+1)); }
  if [ "$signal" != none ]; then
    wait_for 30 fixtures_running || { echo "FAIL $name: fixtures never ran"; failures=$((failures+1)); }
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
    echo "FAIL $name: left behind: $(for p in $pids; do [ -d /proc/$p ] && cat /proc/$p/comm; done | sort | uniq -c | tr '\n' ' ') cgroup $( [ -d "$cg" ] && echo "$cg")"
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
