# What one crashloop run started, found precisely (the keeper's cgroup and every
# process in it), so tests running beside it do not count. Sourced by the CLI tests.

# Polls a condition until a deadline (seconds): the shell's way of waiting on an event.
wait_for() { local deadline=$((SECONDS + $1)); shift; until "$@"; do [ $SECONDS -ge $deadline ] && return 1; sleep 0.02; done; }

# The keeper (crashloop-sandbox) crashloop PID started for its supervisor or jail.
keeper_of() { pgrep -o -P "$1" -f 'crashloop-sandbox --(jail|systemd)'; }

keeper_cgroup() { # the keeper's own cgroup in the name=systemd (or unified) hierarchy
  local path; path=$(awk -F: '$2=="name=systemd"{print $3}' /proc/"$1"/cgroup 2>/dev/null)
  if [ -n "$path" ]; then echo "/sys/fs/cgroup/systemd$path"; return; fi
  path=$(awk -F: '$1=="0"{print $3}' /proc/"$1"/cgroup 2>/dev/null)
  [ -d /sys/fs/cgroup/unified ] && echo "/sys/fs/cgroup/unified$path" || echo "/sys/fs/cgroup$path"
}
# systemd moves the keeper into its init.scope; the keeper's own cgroup is the one above.
# Sets cg to it once the keeper has moved there.
keeper_moved() { cg=$(keeper_cgroup "$1"); cg=${cg%/init.scope}; [[ $cg == */crashloop-$1 ]]; }
tree_pids() { find "$1" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u; }

# At least N fixtures of the run have written their event logs (the built-in systemd's are
# in its private /run, a jailed supervisor's in the jail's dir).
fixtures_running() {
  [ "$(ls /proc/"$2"/root/run/crashloop/events/ /tmp/crashloop-jail-"$2"/events/ 2>/dev/null | grep -c '\.log$')" -ge "$1" ]
}

# At least N lines in all the run's fixture event logs together (cells started, reloads asked).
fixture_lines() {
  [ "$(cat /proc/"$2"/root/run/crashloop/events/*.log /tmp/crashloop-jail-"$2"/events/*.log 2>/dev/null | wc -l)" -ge "$1" ]
}

# PID has its own handler for SIGINT (bit 2 of SigCgt): a Ctrl-C from now on is crashloop's.
catches_sigint() { local mask; mask=$(awk '/^SigCgt:/{print $2}' /proc/"$1"/status 2>/dev/null); [ -n "$mask" ] && (( 0x$mask & 2 )); }

# A process that still runs (a zombie has released everything; its reaper clears it).
alive() { [ -r /proc/"$1"/stat ] && ! awk '{ exit $3 != "Z" }' /proc/"$1"/stat 2>/dev/null; }

# Nothing of the run is left: no process of $pids, not the keeper's cgroup, not its jail dir.
run_gone() {
  local p
  for p in $pids; do alive "$p" && return 1; done
  [ ! -d "$cg" ] && [ ! -d /tmp/crashloop-jail-"$keeper" ]
}
what_is_left() {
  local p
  for p in $pids; do alive "$p" && cat /proc/"$p"/comm 2>/dev/null; done | sort | uniq -c | tr '\n' ' '
  [ -d "$cg" ] && echo -n "cgroup $cg "
  [ -d /tmp/crashloop-jail-"$keeper" ] && echo -n "dir /tmp/crashloop-jail-$keeper"
}

# Milliseconds since an $EPOCHREALTIME reading.
ms_since() { local now=$EPOCHREALTIME; echo $(( (${now/./} - ${1/./}) / 1000 )); }
