#!/usr/bin/env bash
# Bad arguments and malformed scenario files: exit 2, a message naming the
# file, the line and what was expected, and no report at all.
set -u
crashloop=$1 root=$2
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
failures=0

expect() { # expect NAME PATTERN -- ARGS…
  local name=$1 pattern=$2; shift 3
  "$crashloop" "$@" >"$work/out" 2>"$work/err"; local rc=$?
  if [ $rc -ne 2 ]; then echo "FAIL $name: exit $rc, expected 2"; cat "$work/err"; failures=$((failures+1)); return; fi
  if ! grep -qE -e "$pattern" "$work/err"; then echo "FAIL $name: stderr lacks /$pattern/:"; cat "$work/err"; failures=$((failures+1)); return; fi
  if [ -s "$work/out" ]; then echo "FAIL $name: something was reported on stdout"; failures=$((failures+1)); return; fi
  echo "ok   $name: $(head -n1 "$work/err")"
}

expect unknown-restart "--restart: unknown Restart= value 'sometimes'" -- matrix --restart sometimes
expect unknown-cause "unknown exit cause 'sigfoo'" -- matrix --cause sigabrt,sigfoo
expect unknown-format "--format: unknown format 'yaml'" -- matrix --format yaml
expect unknown-supervisor "--supervisor: unknown supervisor" -- matrix --supervisor upstart
expect unknown-option "" -- matrix --frobnicate
expect no-subcommand "" --

scenarios() { rm -rf "$work/s"; cp -r "$root/scenarios" "$work/s"; }

scenarios; printf '\n[[cause]]\nid = "broken"\ngroup = "table"\nsummary = "x"\nplan = "ready,explode"\noutcome = { exit_code = 0 }\n' >>"$work/s/causes.toml"
line=$(grep -n 'ready,explode' "$work/s/causes.toml" | cut -d: -f1)
expect bad-plan-step "causes.toml:$line:" -- --scenarios "$work/s" matrix --cause exit-0

scenarios; printf '\n[[cause]\n' >>"$work/s/causes.toml"
line=$(wc -l <"$work/s/causes.toml")
expect toml-syntax "causes.toml:$line:" -- --scenarios "$work/s" matrix

# What Debian's toml++ 3.3.0 mishandles (undefined behaviour, a failed assertion) never
# reaches it: a one-letter non-ASCII typo as a key, a header left open.
scenarios; printf '\n\xc3\xa9 = 2\n' >>"$work/s/causes.toml"
line=$(wc -l <"$work/s/causes.toml")
expect toml-non-ascii-key "causes.toml:$line:.*ASCII" -- --scenarios "$work/s" matrix
scenarios; printf '[\n' >"$work/s/table.toml"
expect toml-open-header "table.toml:1:.*table header" -- --scenarios "$work/s" matrix

scenarios; sed -i '0,/restarted_by = \[/s//restarted_by = ["sometimes", /' "$work/s/table.toml"
line=$(grep -n '"sometimes"' "$work/s/table.toml" | cut -d: -f1)
expect bad-table-value "table.toml:$line:.*sometimes" -- --scenarios "$work/s" matrix

scenarios; printf '\n[[deviation]]\ncause = "stop"\nrestart = "sometimes"\nrestarted = true\nreason = "x"\n' >>"$work/s/expectations/systemd-252.toml"
line=$(grep -n '"sometimes"' "$work/s/expectations/systemd-252.toml" | cut -d: -f1)
expect bad-expectation "systemd-252.toml:$line:" -- --scenarios "$work/s" matrix --cause exit-0 --restart no

# A deviation for a cause that does not exist (a typo), and a broken expectations file.
scenarios; printf '\n[[deviation]]\ncause = "sigabtr"\nrestart = "no"\nrestarted = true\nreason = "x"\n' >>"$work/s/expectations/systemd-252.toml"
line=$(grep -n '"sigabtr"' "$work/s/expectations/systemd-252.toml" | cut -d: -f1)
expect deviation-unknown-cause "systemd-252.toml:$((line - 1)):.*sigabtr" -- --scenarios "$work/s" matrix --cause exit-0 --restart no
scenarios; rm "$work/s/expectations/systemd-252.toml"; ln -s "$work/s/nowhere.toml" "$work/s/expectations/systemd-252.toml"
expect expectations-dangling-link "systemd-252.toml" -- --scenarios "$work/s" matrix --cause exit-0 --restart no

# A message quoting the file shows its control bytes (here an ESC, written \u001b in TOML),
# never sends them to the terminal.
scenarios; printf '\n[[deviation]]\ncause = "stop"\nrestart = "\\u001b[2Jno"\nrestarted = true\nreason = "x"\n' >>"$work/s/expectations/systemd-252.toml"
expect escape-in-message '\\x1b\[2Jno' -- --scenarios "$work/s" matrix --cause exit-0 --restart no
if grep -q $'\033' "$work/err"; then echo "FAIL escape-in-message: an ESC byte reached stderr"; failures=$((failures+1)); fi

expect cell-timeout-zero "--cell-timeout" -- matrix --cell-timeout 0
expect restart-window-on-systemd "--restart-window" -- --restart-window 1000 matrix --cause exit-0 --restart no

# Not root: said in one line, before anything starts (list needs no root).
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
  cp "$crashloop" "$work/crashloop"; chmod 755 "$work" "$work/crashloop"
  as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$work/crashloop" "$@"; }
  as_nobody --scenarios "$root/scenarios" matrix --cause exit-0 --restart no >"$work/out" 2>"$work/err"
  rc=$?
  if [ $rc -eq 2 ] && grep -q "needs root" "$work/err" && [ "$(wc -l <"$work/err")" -eq 1 ]; then
    echo "ok   not-root: $(cat "$work/err")"
  else
    echo "FAIL not-root: exit $rc:"; cat "$work/err"; failures=$((failures+1))
  fi
  if [ "$(as_nobody --scenarios "$root/scenarios" list --cause exit-0 --restart no)" = "$(printf 'no/exit-0\tstays-down')" ]; then
    echo "ok   not-root: list runs"
  else
    echo "FAIL not-root: list did not run"; failures=$((failures+1))
  fi
fi

# Supervisors: named wrongly, or not allowed, before anything starts.
expect host-needs-allow "--allow-host" -- matrix --supervisor systemd-host
expect systemctl-needs-path "needs an argument" -- matrix --supervisor systemctl
expect compare-needs-two "at least two" -- compare --supervisor systemd
expect compare-no-junit "no junit" -- compare --supervisor systemd --supervisor supervisord --format junit
expect exec-missing-file "nowhere.toml" -- matrix --supervisor exec:"$work/nowhere.toml"
printf 'name = "x"\nversion = "true"\nstart = "true"\nstop = "true"\nreload = "true"\nkill = "true"\nstate = "true {nonsense}"\n' >"$work/bad-exec.toml"
expect exec-bad-placeholder "bad-exec.toml:7:" -- matrix --supervisor exec:"$work/bad-exec.toml"

# A supervisor command that writes without end is cut off at 16 MiB, with an error naming it
# (the supervisor failed: exit 1), and crashloop stays small (here: /usr/bin/time's peak RSS).
printf 'name = "x"\nversion = "yes"\nstart = "true {name}"\nstop = "true {name}"\nstate = "true {names}"\n' >"$work/endless.toml"
/usr/bin/time -f "%M" -o "$work/rss" "$crashloop" matrix --supervisor exec:"$work/endless.toml" \
  --cause exit-0 --restart no >"$work/out" 2>"$work/err"
rc=$?
if [ $rc -ne 1 ] || ! grep -q "wrote more than 16 MiB" "$work/err" || [ "$(cat "$work/rss" | tail -1)" -gt 200000 ]; then
  echo "FAIL exec-endless-output: exit $rc, peak $(tail -1 "$work/rss") KB:"; cat "$work/err"; failures=$((failures+1))
else
  echo "ok   exec-endless-output: $(head -n1 "$work/err") (peak $(tail -1 "$work/rss") KB)"
fi
printf 'name = "x"\nversion = "true"\nstart = "true {name"\nstop = "true"\nstate = "true {names}"\n' >"$work/unbalanced.toml"
expect exec-unbalanced-brace "unbalanced.toml:3:.*no closing brace" -- matrix --supervisor exec:"$work/unbalanced.toml"
expect real-never-on-the-host "--real: runs the unit.s real daemon only on a supervisor crashloop starts itself" -- check "$root/scenarios/units/httpd.service" --real --supervisor systemd-host --allow-host

# soak --real: the unit's own daemon, and the options that only mean something with it.
expect soak-real-needs-a-unit "--real soaks the daemon of a unit" -- soak --real
expect soak-inject-needs-real "--inject goes with --real" -- soak --inject
expect soak-url-needs-real "--url goes with --real" -- soak --url http://127.0.0.1:8080/
expect soak-inject-signal-needs-inject "--inject-signal goes with --inject" -- soak --real --unit "$root/scenarios/units/httpd.service" --inject-signal SIGHUP
expect soak-real-no-clients "--clients: expected 1 to 256" -- soak --real --unit "$root/scenarios/units/httpd.service" --clients 0
printf '[Service]\nExecStart=/bin/true\n' >"$work/no-reload.service"
expect soak-real-no-reload "no-reload.service: the unit has no ExecReload=" -- soak --real --unit "$work/no-reload.service"
expect soak-real-never-on-the-host "--real: runs the unit.s real daemon only" -- soak --real --unit "$root/scenarios/units/httpd.service" --supervisor systemd-host --allow-host
touch "$work/plain-file"
expect soak-keep-cores-unwritable "--keep-cores: cannot write into" -- soak --real --unit "$root/scenarios/units/httpd.service" --keep-cores "$work/plain-file/cores"
expect soak-inject-signal-unknown "--inject-signal: unknown signal 'SIGFOO'" -- soak --real --unit "$root/scenarios/units/apache2.service" --inject --inject-signal SIGFOO
expect soak-inject-signal-uncatchable "--inject-signal: SIGKILL cannot be a reload signal to fail: no handler can catch it" -- soak --real --unit "$root/scenarios/units/apache2.service" --inject --inject-signal KILL
expect soak-inject-signal-the-fault "--inject-signal: SIGABRT cannot be a reload signal to fail" -- soak --real --unit "$root/scenarios/units/apache2.service" --inject --inject-signal SIGABRT
expect soak-real-schedule-needs-inject "--crash-probability schedules crashes, which a real daemon has only with --inject" -- soak --real --unit "$root/scenarios/units/apache2.service" --crash-probability 1/5
expect soak-real-no-workers "--workers is the fake httpd's" -- soak --real --unit "$root/scenarios/units/apache2.service" --workers 3
mkdir -p "$work/logs"
expect soak-logrotate-missing "nowhere.logrotate: cannot read it" -- soak --real --unit "$root/scenarios/units/apache2.service" --logrotate "$work/nowhere.logrotate" --log-dir "$work/logs"
expect soak-logrotate-a-folder "logs: cannot read it: a directory" -- soak --real --unit "$root/scenarios/units/apache2.service" --logrotate "$work/logs" --log-dir "$work/logs"
expect soak-logrotate-needs-log-dir "--logrotate needs --log-dir" -- soak --real --unit "$root/scenarios/units/apache2.service" --logrotate "$root/scenarios/logrotate/apache2"
expect soak-logrotate-built-in-systemd-only "--logrotate: runs logrotate as a service of the built-in systemd" -- soak --real --unit "$root/scenarios/units/apache2.service" --logrotate "$root/scenarios/logrotate/apache2" --log-dir "$work/logs" --supervisor supervisord

[ $failures -eq 0 ] && echo "all bad inputs rejected cleanly" || exit 1
