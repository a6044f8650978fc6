#!/usr/bin/env bash
# The full matrix (every cause under every Restart= value) against a real
# supervisor driven through its shipped exec file, judged against its
# expectation file:
#
#   full_matrix.sh CRASHLOOP SOURCE_DIR SUPERVISOR PROGRAM UNREPORTED
#
# Passes when crashloop exits 0 (every cell passes, is a listed known deviation
# or n/a), no cell is an error, the cells it can express were judged (not all
# n/a), the judged cells say what the supervisor does not report (UNREPORTED:
# "restart count", "exit status", comma-separated, or "-") and only that, and
# no PROGRAM process outlives the run. Skipped, visibly, when PROGRAM is not
# installed (scripts/test installs it).
set -u
crashloop=$1 source=$2 supervisor=$3 program=$4 unreported=$5
command -v "$program" >/dev/null || { echo "SKIP: $program ($supervisor) is not installed"; exit 77; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

"$crashloop" matrix --supervisor "exec:$source/scenarios/supervisors/$supervisor.toml" \
  --format json -o "$work/report.json" 2>"$work/err"
rc=$?
failures=0
check() { # check WHAT GOT WANT
  if [ "$2" = "$3" ]; then echo "ok   $1: $2"; else echo "FAIL $1: got '$2', expected '$3'"; failures=$((failures+1)); fi
}
check "crashloop's exit status" "$rc" 0
[ -s "$work/report.json" ] || { echo "FAIL: no report"; cat "$work/err"; exit 1; }
summary() { jq -r ".summary[\"$1\"]" "$work/report.json"; }
check "cells in the matrix" "$(jq '.cells | length' "$work/report.json")" 175
check "errors" "$(summary error)" 0
check "failures" "$(summary fail)" 0
check "unexpected passes" "$(summary unexpected-pass)" 0
judged=$(( $(summary pass) + $(summary known-deviation) ))
echo "     $(summary pass) pass, $(summary known-deviation) known deviation, $(summary n/a) n/a"
[ "$judged" -gt 0 ] || { echo "FAIL: no cell judged"; failures=$((failures+1)); }
said() { jq --arg what "$1" '[.cells[] | select(.unchecked | index($what))] | length' "$work/report.json"; }
for what in "restart count" "exit status"; do
  case ",$unreported," in
  *",$what,"*)
    [ "$(said "$what")" -gt 0 ] || { echo "FAIL no cell says its $what was not checked"; failures=$((failures+1)); }
    [ "$what" != "restart count" ] || check "judged cells that say the restart count was not checked" "$(said "$what")" "$judged" ;;
  *) check "cells that say the $what was not checked" "$(said "$what")" 0 ;;
  esac
done
# Live ones of a crashloop run (their service folders, or supervise-daemon's service
# names, say crashloop), not a supervisor the host itself runs: an orphan the jail killed
# is a zombie until init reaps it, which a container's init may do late.
left=$(pgrep -f "^(/[^ ]*/)?$program .*crashloop" --runstates D,R,S,T,t | wc -l)
check "$program processes left after the run" "$left" 0
# The story's cell, where the supervisor can express it: a SIGABRT is restarted.
story=$(jq -r '.cells[] | select(.cause == "sigabrt" and .restart == "always") | "\(.verdict) \(.observed.restarted)"' "$work/report.json")
check "always/sigabrt" "$story" "pass true"
if [ $failures -ne 0 ]; then
  jq -r '.cells[] | select(.verdict == "error" or .verdict == "fail") | "\(.restart)/\(.cause): \(.reason)\n  \(.evidence)"' "$work/report.json"
  cat "$work/err"
fi
[ $failures -eq 0 ]
