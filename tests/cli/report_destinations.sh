#!/usr/bin/env bash
# Where the report goes: a report that cannot be written is exit 2 with a
# message, never a silent success (stdout on /dev/full, stdout closed); with
# -o, a regular file is replaced whole, a symlink's target is replaced and the
# link kept, and a device or fifo is written into, never replaced by a file.
set -u
crashloop=$1
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL $*"; failures=$((failures+1)); }
run() { "$crashloop" matrix --restart no --cause exit-0 --format json "$@"; }

run >/dev/full 2>"$work/err"; rc=$?
if [ $rc -ne 2 ]; then fail "stdout on /dev/full: exit $rc, expected 2"; cat "$work/err"
elif ! grep -q "stdout: cannot write the report" "$work/err"; then fail "stdout on /dev/full: no message"; cat "$work/err"
else echo "ok   stdout on /dev/full: $(tail -n1 "$work/err")"; fi

run >&- 2>"$work/err"; rc=$?
if [ $rc -ne 2 ]; then fail "stdout closed: exit $rc, expected 2"; cat "$work/err"
elif ! grep -q "stdout: cannot write the report" "$work/err"; then fail "stdout closed: no message"; cat "$work/err"
else echo "ok   stdout closed: $(tail -n1 "$work/err")"; fi

# A relative symlink: the file it names is replaced, the link stays.
echo old >"$work/real.json"; ln -s real.json "$work/link"
run -o "$work/link" 2>"$work/err"; rc=$?
if [ $rc -ne 0 ]; then fail "-o symlink: exit $rc"; cat "$work/err"
elif [ ! -L "$work/link" ] || [ "$(readlink "$work/link")" != real.json ]; then fail "-o symlink: the link was replaced"
elif ! jq -e '.cells | length == 1' "$work/real.json" >/dev/null; then fail "-o symlink: the target does not hold the report"
elif ls "$work" | grep -q partial; then fail "-o symlink: a .partial file was left"
else echo "ok   -o symlink: target replaced, link kept"; fi

# A fifo is written into (its reader gets the report), never replaced.
mkfifo "$work/fifo"
cat "$work/fifo" >"$work/from-fifo" & reader=$!
run -o "$work/fifo" 2>"$work/err"; rc=$?
# A run that failed may never have opened the fifo: its reader would wait forever.
if [ $rc -ne 0 ]; then kill "$reader" 2>/dev/null; fi
if [ ! -p "$work/fifo" ]; then
  fail "-o fifo: the fifo was replaced by a file (exit $rc)"; kill "$reader" 2>/dev/null
else
  wait "$reader" 2>/dev/null
  if [ $rc -ne 0 ]; then fail "-o fifo: exit $rc"; cat "$work/err"
  elif ! jq -e '.cells | length == 1' "$work/from-fifo" >/dev/null; then fail "-o fifo: the reader did not get the report"
  else echo "ok   -o fifo: written into, still a fifo"; fi
fi

# A device node (a private copy of /dev/null, so a failure harms nothing).
if mknod "$work/null" c 1 3 2>/dev/null; then
  run -o "$work/null" 2>"$work/err"; rc=$?
  if [ $rc -ne 0 ]; then fail "-o device: exit $rc"; cat "$work/err"
  elif [ ! -c "$work/null" ]; then fail "-o device: the device node was replaced by a file"
  else echo "ok   -o device: written into, still a character device"; fi
else
  echo "SKIP -o device: mknod is not allowed here"
fi

[ $failures -eq 0 ] && echo "every report destination handled" || exit 1
