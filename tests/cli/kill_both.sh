#!/usr/bin/env bash
# Nothing outlives a run whose crashloop and keeper are killed together (kill -9 of both, as
# the OOM killer or an impatient operator would): the keeper's warden notices and kills the
# run's cgroup, removes it and the jail's dir. Checked on every driver, at several moments,
# with a daemonized (Type=forking) fake httpd on the built-in systemd: it has no parent-death
# signal and used to hold the private namespace alive for 15 s and more.
set -u
crashloop=$1 src=$2
. "$(dirname "$0")/lib/run_tree.sh"
failures=0 killed=0

run_case() { # run_case DRIVER MOMENT COMMAND…
  local driver=$1 moment=$2; shift 2
  local name="${driver##*/} $1 at $moment"
  "$crashloop" --scenarios "$src/scenarios" "$@" --supervisor "$driver" >/dev/null 2>&1 &
  local pid=$!
  keeper= cg= pids=
  if ! wait_for 30 keeper_of "$pid" >/dev/null; then
    wait "$pid"; echo "FAIL $name: no keeper (exit $?)"; failures=$((failures + 1)); return
  fi
  keeper=$(keeper_of "$pid")
  if ! wait_for 30 keeper_moved "$keeper"; then
    kill -9 "$pid" "$keeper"; wait "$pid" 2>/dev/null
    echo "FAIL $name: the keeper never got its cgroup"; failures=$((failures + 1)); return
  fi
  local reached=0
  case $moment in
  keeper) ;;
  first-fixture) wait_for 30 fixtures_running 1 "$keeper" || reached=1 ;;
  busy) wait_for 30 fixture_lines 20 "$keeper" || reached=1 ;;
  esac
  if ! kill -0 "$pid" 2>/dev/null; then wait "$pid"; echo "--   $name: the run ended before that moment"; return; fi
  if [ $reached -ne 0 ]; then
    kill -9 "$pid" "$keeper"; wait "$pid" 2>/dev/null
    echo "FAIL $name: the run never reached that moment in 30 s"; failures=$((failures + 1)); return
  fi
  pids="$keeper $(tree_pids "$cg" | tr '\n' ' ')"
  # The warden is what this checks: it must be among the run's processes (its name, as the
  # kernel keeps 15 characters of it).
  local warden; warden=$(for p in $pids; do [ "$(cat /proc/"$p"/comm 2>/dev/null)" = crashloop-warde ] && echo "$p"; done)
  if [ -z "$warden" ]; then
    kill -9 "$pid" "$keeper"; wait "$pid" 2>/dev/null
    echo "FAIL $name: no crashloop-warden among the run's processes"; failures=$((failures + 1)); return
  fi
  local began=$EPOCHREALTIME
  kill -9 "$pid" "$keeper"
  wait "$pid" 2>/dev/null
  killed=$((killed + 1))
  if wait_for 10 run_gone; then
    echo "ok   $name: $(echo $pids | wc -w) processes, the cgroup and the dir gone $(ms_since "$began") ms after kill -9"
  else
    echo "FAIL $name: left behind 10 s after kill -9: $(what_is_left)"; failures=$((failures + 1))
  fi
}

for moment in keeper first-fixture busy; do
  # Type=forking: the daemonized fake httpd, reparented away from its launcher.
  run_case systemd "$moment" check "$src/scenarios/units/apache2.service" --dropin "$src/tests/cli/data/restart-always.conf"
  run_case systemd "$moment" matrix
  command -v supervisord >/dev/null && run_case supervisord "$moment" matrix
  for supervisor in runit:runsv s6:s6-supervise daemontools:supervise supervise-daemon:supervise-daemon; do
    command -v "${supervisor#*:}" >/dev/null &&
      run_case "exec:$src/scenarios/supervisors/${supervisor%%:*}.toml" "$moment" matrix
  done
done
echo "$killed runs killed, $failures failed"
[ $killed -gt 0 ] && [ $failures -eq 0 ]
