#!/usr/bin/env bash
# `crashloop doctor` on this machine: as root, every required part ok (exit 0), each
# optional supervisor said present or absent with its package; as another user, root
# is MISSING with the fix (exit 1).
set -u
crashloop=$1 root=$2
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
failures=0
check() { # check WHAT GOT WANT
  if [ "$2" = "$3" ]; then echo "ok   $1: $2"; else echo "FAIL $1: got '$2', expected '$3'"; failures=$((failures+1)); fi
}
[ "$(id -u)" -eq 0 ] || { echo "SKIP: not root"; exit 77; }
"$crashloop" doctor >"$work/out" 2>&1
check "doctor as root: exit status" "$?" 0
cat "$work/out"
for part in "root" "cgroups" "mount namespaces" "systemd" "fixture and keeper" "scenarios"; do
  check "$part" "$(grep -c "^ok       $part: " "$work/out")" 1
done
check "each optional supervisor said" "$(grep -cE '^(ok     |absent )  (supervisord|runit|s6|daemontools|supervise-daemon):' "$work/out")" 5
check "core_pattern said" "$(grep -c '^ok       core_pattern: ' "$work/out")" 1
if command -v setpriv >/dev/null; then
  cp "$crashloop" "$work/crashloop"; chmod 755 "$work" "$work/crashloop"
  setpriv --reuid=nobody --regid=nogroup --clear-groups "$work/crashloop" --scenarios "$root/scenarios" doctor >"$work/nobody" 2>&1
  check "doctor as nobody: exit status" "$?" 1
  check "root MISSING, with the fix" "$(grep -c '^MISSING  root: running as uid 65534 — run crashloop as root or with sudo' "$work/nobody")" 1
fi
[ $failures -eq 0 ]
