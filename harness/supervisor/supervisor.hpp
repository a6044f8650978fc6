#pragma once
// The one interface every supervisor driver implements. The runner, the table,
// the verdicts and the reports speak only to this; a driver translates it into
// its supervisor's own terms (D-Bus calls, XML-RPC, command lines).
//
// The contract, in short:
// - Services are described and reported in systemd's words (ServiceSpec,
//   ServiceState); a driver maps them onto what its supervisor has and says,
//   through cannot_express(), which cells it cannot run at all.
// - Every operation is asynchronous: it returns at once and its Done runs later,
//   from wait(). Nothing runs outside wait(), so the caller needs no locks.
// - watch()'s on_change runs whenever a service's state may have changed, with
//   the driver's latest view (from events, or from polling where the supervisor
//   has none). state() is stronger: its answer reflects every change the
//   supervisor made before the call, so "it stays down" can be decided on it.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "errors.hpp"
#include "service_spec.hpp"

namespace crashloop {

struct ExitCause;

// What the supervisor says about a service at one moment, in systemd's words.
struct ServiceState {
    std::string active_state; // "active", "activating", "inactive", "failed" …
    std::string sub_state;    // "running", "auto-restart", "dead" …
    std::string result;       // "success", "exit-code", "signal", "core-dump", "timeout" …
    uint32_t main_pid = 0;
    uint32_t n_restarts = 0;        // the supervisor's own count of restarts
    int32_t exec_main_code = 0;     // CLD_EXITED / CLD_KILLED / CLD_DUMPED, 0 when none
    int32_t exec_main_status = 0;   // exit code or signal number
    uint64_t exec_main_exit_us = 0; // CLOCK_MONOTONIC; 0 if the supervisor does not say
    uint32_t job_id = 0;            // an operation in progress (start, stop, reload, a pending restart); 0 if none
    std::string load_state;         // "loaded"; "not-found" once the supervisor forgot it
    bool collected = false;         // gone from the supervisor: this is its last word
    // The supervisor's own state and why, when its words are not systemd's
    // (supervisord: "FATAL: Exited too quickly (process log may have details)");
    // empty for systemd. The fields above are the nearest systemd words.
    std::string own_words;
    // Whether the supervisor reports these at all (a command-line supervisor may print no
    // NRestarts= or ExecMainCode=): what it does not report is said, never taken as 0.
    bool reports_restarts = true; // n_restarts
    bool reports_exit = true;     // exec_main_code, exec_main_status
    std::string state() const { return active_state + "/" + sub_state; }
};

class Supervisor {
  public:
    // error is empty on success; job names the operation when the supervisor
    // queues one (its end comes to on_job_done), else empty.
    using Done = std::function<void(const std::string& error, const std::string& job)>;
    using StateDone = std::function<void(const std::string& error, const ServiceState&)>;
    using OnChange = std::function<void(const std::string& service, const ServiceState& live)>;
    // A job's end: "done", "failed", "timeout", "canceled" … A job the caller
    // did not start (a restart) that fails is the supervisor refusing it.
    using OnJobDone =
        std::function<void(const std::string& job, const std::string& service, const std::string& result)>;

    virtual ~Supervisor() = default;

    virtual std::string name() const = 0; // "systemd", "supervisord" … (picks the expectation file)
    virtual std::string version() = 0;    // its own version string

    // Where fixtures write their logs and pidfiles, as the services see it, and
    // the same path as the harness opens it.
    virtual std::filesystem::path events_dir() const = 0;
    virtual std::filesystem::path from_host(const std::filesystem::path& inside) const { return inside; }
    // Every service name a run makes starts with this (unique per run where the
    // supervisor is shared with others).
    virtual std::string service_prefix() const { return "crashloop-"; }

    // Whether how each main process ended always reaches watch() or a state() read before the
    // next one starts (systemd's signals, supervisord's log). A driver that polls may read
    // only after a quick restart: the fixture's own log is then the evidence of the end, and
    // the verdict says that the supervisor's record of it could not be checked.
    virtual bool records_every_end() const { return true; }

    // How a restart still to come shows. nullopt: in the state itself (systemd's queued job
    // and auto-restart, supervisord's BACKOFF), so a confirmed read that shows the service down
    // with nothing queued is final. A duration: the supervisor shows nothing (it polls its
    // services, or restarts from a loop), and a restart may come up to this long after a
    // death (its poll interval + the service's RestartSec= + a margin): "stayed down" is
    // decided only once it has passed.
    virtual std::optional<std::chrono::milliseconds> restart_window(const ServiceSpec& service) const {
        (void)service;
        return std::nullopt;
    }

    // Whether a service's launcher may exit and leave it running (a start that forks, as
    // start-stop-daemon does): the fake httpd then sets no parent-death signal, and the
    // run's jail is what ends it.
    virtual bool parent_may_exit() const { return false; }

    // Why this supervisor cannot run a cell at all (its verdict is n/a), or
    // nullopt when it can. Never a guess at the outcome: only what it lacks.
    virtual std::optional<std::string> cannot_express(const ServiceSpec& service, const ExitCause& cause) const = 0;

    // Every service the run may create, before the first start.
    virtual void reserve(const std::vector<std::string>& services) { (void)services; }
    virtual void watch(OnChange on_change, OnJobDone on_job_done) = 0;
    virtual void start(const ServiceSpec& service, Done done) = 0; // install and start
    virtual void stop(const std::string& service, Done done) = 0;
    virtual void reload(const std::string& service, Done done) = 0;
    virtual void kill(const std::string& service, int signal, Done done) = 0; // the main process only
    virtual void state(const std::string& service, StateDone done) = 0;

    // Runs whatever has arrived, else waits for something (or for
    // interrupt_fd to become readable) until the deadline. Returns true when
    // interrupt_fd is readable. Callers loop until their condition holds.
    virtual bool wait(std::chrono::steady_clock::time_point deadline, int interrupt_fd) = 0;
};

// What a driver is made from: the command line's choices.
struct DriverContext {
    std::string argument = {};           // after the colon: "systemctl:PATH" → PATH
    std::filesystem::path libexec;       // crashloop-sandbox, fake-httpd
    std::filesystem::path scenarios;
    bool allow_host = false;             // --allow-host: may touch the host's own supervisor
    // --restart-window: how long after a death a restart may still come, for a supervisor
    // that shows no pending restart (see Supervisor::restart_window); nullopt: the driver's own.
    std::optional<std::chrono::milliseconds> restart_window = {};
};

// One entry of the list in drivers.cpp.
struct DriverInfo {
    std::string name;                    // "supervisord", "systemctl" (used as systemctl:PATH)
    std::string usage;                   // one line for --help and errors
    bool takes_argument = false;         // NAME:ARGUMENT
    bool argument_optional = false;      // NAME alone is fine too
    std::function<std::unique_ptr<Supervisor>(const DriverContext&)> make;
};

} // namespace crashloop
