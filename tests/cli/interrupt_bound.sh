#!/usr/bin/env bash
# Ctrl-C is answered within a second, from every command on every driver, at every moment
# of a run: while crashloop sets up, while the supervisor starts (supervisord's own start-up,
# an exec file's `up`), as the first fixture starts, and with cells or reloads well under way. Each time: exit 130,
# no report, and nothing of the run left when crashloop has exited.
set -u
crashloop=$1 src=$2
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
. "$(dirname "$0")/lib/run_tree.sh"
failures=0 interrupted=0
bound_ms=1000

# The moment, as an event of the run (not a time): what the test waits for before SIGINT.
reach() { # reach MOMENT PID: 0 once the run is there, 1 if it ended first
  local moment=$1 pid=$2
  wait_for 30 catches_sigint "$pid" || return 1 # before that, Ctrl-C is the shell's
  [ "$moment" = setup ] && return 0
  wait_for 30 keeper_of "$pid" >/dev/null || return 1
  keeper=$(keeper_of "$pid")
  # In its own cgroup: from here on, that cgroup is what must be gone after the run.
  wait_for 30 keeper_moved "$keeper" || return 1
  [ "$moment" = keeper ] && return 0
  case $moment in
  first-fixture) wait_for 30 fixtures_running 1 "$keeper" ;;
  busy) wait_for 30 fixture_lines 20 "$keeper" ;; # cells or reloads well under way
  esac
}

run_case() { # run_case DRIVER MOMENT COMMAND…
  local driver=$1 moment=$2; shift 2
  local name="${driver##*/} $1 at $moment"
  "$crashloop" --scenarios "$src/scenarios" "$@" --supervisor "$driver" --format json \
    >"$work/out" 2>"$work/err" &
  local pid=$!
  keeper= cg= pids=
  if ! reach "$moment" "$pid"; then
    if kill -0 "$pid" 2>/dev/null; then
      # Still running, yet the moment never came: that is a defect, not a skip.
      kill -INT "$pid"; wait "$pid"
      echo "FAIL $name: the run never reached that moment in 30 s"; failures=$((failures + 1)); return
    fi
    wait "$pid"; echo "--   $name: the run ended before that moment (exit $?)"; return
  fi
  if [ "$moment" = setup ]; then
    # No keeper yet, or one still joining its cgroup: it, at least, must be gone after.
    keeper=$(keeper_of "$pid"); pids=$keeper cg=
  else
    pids="$keeper $(tree_pids "$cg" | tr '\n' ' ')" # reach() saw the keeper in its cgroup
  fi
  local began=$EPOCHREALTIME
  kill -INT "$pid"
  wait "$pid"; local rc=$? took; took=$(ms_since "$began")
  if [ $rc -eq 0 ] && [ $took -lt 50 ]; then echo "--   $name: the run ended as the signal came"; return; fi
  interrupted=$((interrupted + 1))
  local bad=
  [ $rc -eq 130 ] || bad+="exit $rc, expected 130; "
  [ "$took" -le $bound_ms ] || bad+="took $took ms (bound $bound_ms); "
  [ -s "$work/out" ] && bad+="a report was written; "
  # Everything is gone when crashloop has exited (a killed process may stay a zombie until
  # its reaper runs: that is not a process left).
  [ -n "$keeper" ] && ! run_gone && bad+="left behind: $(what_is_left); "
  if [ -n "$bad" ]; then echo "FAIL $name: $bad"; sed 's/^/     /' "$work/err" | tail -5; failures=$((failures + 1))
  else echo "ok   $name: exit 130 in $took ms, $(echo $pids | wc -w) processes gone"; fi
}

drivers=(systemd)
command -v supervisord >/dev/null && drivers+=(supervisord)
command -v runsv >/dev/null && drivers+=("exec:$src/scenarios/supervisors/runit.toml")
command -v s6-supervise >/dev/null && drivers+=("exec:$src/scenarios/supervisors/s6.toml")
command -v supervise-daemon >/dev/null && drivers+=("exec:$src/scenarios/supervisors/supervise-daemon.toml")

for driver in "${drivers[@]}"; do
  for moment in setup keeper first-fixture busy; do
    run_case "$driver" "$moment" matrix
    run_case "$driver" "$moment" check "$src/scenarios/units/httpd.service" --dropin "$src/tests/cli/data/restart-always.conf"
    run_case "$driver" "$moment" soak --reloads 1000 --restart always
  done
done
echo "$interrupted runs interrupted, $failures failed"
[ $interrupted -gt 0 ] && [ $failures -eq 0 ]
