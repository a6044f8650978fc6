#pragma once
// What the engine reads of a real daemon's main process from /proc, where the daemon keeps no
// event log for us: has it exec'd the daemon yet, is it done starting up. Shared by check
// --real and soak --real.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "session.hpp"

namespace crashloop {

// The fields of /proc/PID/stat after the name: state(0), ppid(1) … utime(11), stime(12);
// empty when the process is gone.
std::vector<std::string> stat_fields(uint32_t pid);

// A supervisor may name the main pid as soon as it has forked it (supervisord with
// startsecs=0, systemd for Type=simple). Until the child execs the daemon it runs the
// supervisor's code with the supervisor's signal handlers, and a signal sent then is lost.
// Nothing announces an exec, so /proc is read again at each of the session's events or every
// few milliseconds, until the program differs from its parent's (or the process died). False
// at the deadline.
bool wait_for_exec(Session& session, uint32_t pid, Clock::time_point deadline);

// "Running" comes when the daemon is started, not when it is done starting: Apache's parent
// still forks its workers and sets up after systemd has read its PIDFile=, and a signal that
// lands then can wedge it in its own handler. Nothing announces the end of a daemon's
// start-up (or of a graceful reload's work); a main process asleep with no CPU time spent
// between two reads of /proc, 30 ms apart, is taken as done, within `limit`.
void wait_until_idle(Session& session, uint32_t pid, Clock::time_point limit);

// The program a process runs (/proc/PID/exe), read while it lives; "" when it cannot be.
std::string executable_of(uint32_t pid);
// Its working directory (/proc/PID/cwd); "" when it cannot be read.
std::string working_directory_of(uint32_t pid);

} // namespace crashloop
