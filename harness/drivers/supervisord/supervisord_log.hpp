#pragma once
// supervisord's own log, one line at a time, as the driver replays it into a
// program's state (supervisord_driver.cpp says why the log and not XML-RPC).
// A record is "2024-05-01 12:00:00,123 INFO message"; the messages read here
// are the ones supervisord 4.2 logs for a process's state changes.
#include <cstdint>
#include <optional>
#include <string>

namespace crashloop {

// How a process ended, as the log says it: "exit status 1", "terminated by
// SIGABRT (core dumped)", "terminated by signal 64", anything else (supervisord's
// "unknown termination cause 0x…") a kill by signal 0.
struct SupervisordExit {
    int32_t code = 0;   // CLD_EXITED / CLD_KILLED / CLD_DUMPED
    int32_t status = 0; // the exit code or the signal number
};
SupervisordExit decode_supervisord_exit(const std::string& text);

struct SupervisordLogLine {
    enum class Kind {
        other,        // a record about something else
        started,      // "supervisord started with pid N"
        spawned,      // "spawned: 'NAME' with pid N"
        success,      // "success: NAME entered RUNNING state"
        exited,       // "exited: NAME (exit status 1; not expected)"
        stopped,      // "stopped: NAME (terminated by SIGTERM)"
        killing,      // "killing NAME (pid N) with signal SIGTERM" (debug)
        gave_up,      // "gave up: NAME entered FATAL state, too many start retries too quickly"
        backoff_stop, // "Attempted to kill NAME, which is in BACKOFF state."
    };
    Kind kind = Kind::other;
    std::string program;   // supervisord's name of the process; empty for other, started
    uint32_t pid = 0;      // spawned, killing
    SupervisordExit exit;  // exited, stopped
    bool expected = false; // exited: "expected"
    std::string why;       // gave_up: "too many start retries too quickly"
};

// nullopt for a line that is no record (a child's output continuing a debug record).
std::optional<SupervisordLogLine> parse_supervisord_log_line(const std::string& line);

} // namespace crashloop
