#!/usr/bin/env bash
# `crashloop compare` with two real supervisors shows the real difference the
# README tells of: after a plain SIGTERM, supervisord (autorestart=unexpected)
# restarts the service and systemd under Restart=on-failure does not; after
# SIGABRT both do. Skipped, visibly, without supervisord.
set -u
crashloop=$1
command -v supervisord >/dev/null || { echo "SKIP: supervisord is not installed"; exit 77; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

"$crashloop" compare --supervisor systemd --supervisor supervisord \
  --restart on-failure --cause sigterm,sigabrt --format json >"$work/out" 2>"$work/err"
rc=$?
[ $rc -eq 0 ] || { echo "FAIL: exit $rc"; cat "$work/err"; exit 1; }

answer() { # answer CAUSE SUPERVISOR → true/false (restarted)
  jq -r --arg c "$1" --arg s "$2" \
    '.cells[] | select(.cause == $c) | .answers[] | select(.supervisor | startswith($s)) | .restarted' "$work/out"
}
differ() { jq -r --arg c "$1" '.cells[] | select(.cause == $c) | .differ' "$work/out"; }
failures=0
check() { # check WHAT GOT WANT
  if [ "$2" = "$3" ]; then echo "ok   $1: $2"; else echo "FAIL $1: got '$2', expected '$3'"; failures=$((failures+1)); fi
}
check "restarted by systemd after SIGTERM" "$(answer sigterm systemd)" false
check "restarted by supervisord after SIGTERM" "$(answer sigterm supervisord)" true
check "the SIGTERM cell is marked as a difference" "$(differ sigterm)" true
check "restarted by systemd after SIGABRT" "$(answer sigabrt systemd)" true
check "restarted by supervisord after SIGABRT" "$(answer sigabrt supervisord)" true
check "the SIGABRT cell is not a difference" "$(differ sigabrt)" false
check "differences counted" "$(jq -r .differences "$work/out")" 1
[ $failures -eq 0 ]
