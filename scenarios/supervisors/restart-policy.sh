#!/bin/sh
# systemd's restart decision, for a supervisor that restarts every death and
# lets a finish script stop it (runit, s6): exit 0 to restart, 1 to stay down.
#
#   restart-policy.sh RESTART exited CODE|killed SIGNUM|dumped SIGNUM SUCCESS PREVENT FORCE
#
# RESTART is Restart='s value; SUCCESS, PREVENT and FORCE are SuccessExitStatus=,
# RestartPreventExitStatus= and RestartForceExitStatus= as one word each
# ("3 SIGUSR2"). Written from systemd's src/core/service.c
# (service_shall_restart) and systemd.service(5), Table 2, not from crashloop's
# own table: a verdict through it tests this mapping and the supervisor.
# Timeouts and watchdogs never reach it: the supervisors that run it have none.
# Type=oneshot's own rules (no clean signals) are not here: no cell runs one.
set -eu
restart=$1 how=$2 value=$3 success=$4 prevent=$5 force=$6

case $how in
exited) status=$value ;;
killed | dumped) status=SIG$(kill -l "$value") ;;
*) echo "restart-policy.sh: expected 'exited', 'killed' or 'dumped', got '$how'" >&2; exit 2 ;;
esac

listed() {
    for word in $1; do
        [ "$word" = "$status" ] && return 0
    done
    return 1
}

# RestartPreventExitStatus= wins over everything, RestartForceExitStatus= over Restart=.
if listed "$prevent"; then exit 1; fi
if listed "$force"; then exit 0; fi

# A clean death: exit 0, SIGHUP, SIGINT, SIGTERM or SIGPIPE, or one SuccessExitStatus= lists;
# never a core dump (is_clean_exit() is false for CLD_DUMPED).
clean=false
case $how/$status in
exited/0 | killed/SIGHUP | killed/SIGINT | killed/SIGTERM | killed/SIGPIPE) clean=true ;;
dumped/*) ;;
*) if listed "$success"; then clean=true; fi ;;
esac

case $restart in
always) exit 0 ;;
on-success) $clean ;;
on-failure) ! $clean ;;
on-abnormal | on-abort) [ "$how" != exited ] && ! $clean ;;
no | on-watchdog) exit 1 ;;
*) echo "restart-policy.sh: unknown Restart=$restart" >&2; exit 2 ;;
esac
