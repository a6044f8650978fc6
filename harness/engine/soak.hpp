#pragma once
// `crashloop soak`: the story's intermittent reload crash, on demand and replayable. One fake
// httpd under any supervisor (the built-in systemd by default; a real unit's settings or the
// built-in unit), a logrotate-style loop
// that asks systemd for a graceful reload every interval, the fixture crashing on reload k
// exactly when reload_crashes(seed, k, p) says so, and an HTTP prober hitting it all along.
// Every crash is followed to the next incarnation's `ready` (its downtime) or to the service
// staying down; the counts come from the fixture's own log and are cross-checked with
// systemd's NRestarts and with the crash schedule the seed predicts.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "restart_table.hpp"

namespace crashloop {

class Supervisor;
class Expectations;

struct SoakOptions {
    std::optional<std::filesystem::path> unit; // run under this unit's settings ...
    std::vector<std::filesystem::path> dropins;
    RestartValue restart = RestartValue::on_failure; // ... else the built-in unit with this
    unsigned reloads = 100;
    std::chrono::milliseconds interval{20}; // the least time between two reloads asked
    double crash_probability = 1.0 / 30;
    uint64_t seed = 0;
    std::string fault = "sigabrt"; // sigabrt | sigsegv | hang
    bool keep_start_limit = false; // else StartLimitIntervalSec=0 (see SoakReport::start_limit)
    unsigned workers = 2;
    std::filesystem::path fixture; // fake-httpd
    int interrupt_fd = -1;         // readable = stop now (throws Interrupted)
    std::function<void(unsigned done, unsigned total)> progress;
    std::string replay; // the exact command line, filled by the CLI

    // soak --real: the unit's own daemon (`unit`, required) in place of the fake httpd.
    bool real = false;
    std::string url;           // the HTTP load's target; "" = from the unit's environment
    unsigned clients = 4;      // HTTP clients, every other one keeping its connection alive
    bool inject = false;       // the preload library fails the daemon's reload (real only)
    std::string inject_signal; // the reload signal it catches; "" = from ExecReload=
    std::filesystem::path inject_library; // libcrashloop-inject.so
    bool until_crash = false;             // stop at the first crash
    std::optional<std::filesystem::path> keep_cores; // move each crash's core here
    std::vector<std::filesystem::path> core_dirs;    // where else the daemon dumps core
    // Debian's logrotate with this configuration asks for the reloads (its postrotate), the
    // logs moved into log_dir (logrotate_run.hpp).
    std::optional<std::filesystem::path> logrotate;
    std::optional<std::filesystem::path> log_dir;
};

// One run of logrotate under soak --real --logrotate.
struct LogrotateRun {
    unsigned run = 0;
    bool daemon_up = true;          // when it began
    int exit_code = 0;              // logrotate's own
    std::vector<std::string> asked; // what its scripts asked through the router, and the answer
    std::vector<std::string> said;  // its output and logger's, last lines
};

// One crash of the fixture during a reload (a `die`, or a `reload-hang` for --fault hang).
struct SoakCrash {
    uint64_t k = 0; // the reload's number in the seeded schedule
    int incarnation = 0;
    int pid = 0;
    std::string what;                  // "die SIGABRT", "reload-hang"
    long long at_ns = 0;               // CLOCK_MONOTONIC, from the fixture's log
    std::optional<double> downtime_ms; // to the next incarnation's `ready`; none: unrecovered
    int next_pid = 0;
    std::string supervisor_saw; // "signal SIGABRT, Result=core-dump", when the supervisor said so in time

    // soak --real: what the fixture's log would have said, from the daemon and the OS.
    unsigned reload = 0;                // the reload asked (from 1) it died during or after
    std::optional<double> since_reload_ms; // from the reload's request to the death
    std::optional<Outcome> outcome;     // how it ended (the supervisor's record), as Table 2 reads it
    std::optional<double> http_downtime_ms; // what the HTTP clients saw (http_downtime_ms())
    std::string core;                   // the core file, where it is now ("" when none found)
    std::vector<std::string> backtrace; // the crashing thread's, from gdb
    std::string core_note;              // why there is no core or no backtrace, and what to do
};

struct Downtime {
    double min = 0, median = 0, p99 = 0, max = 0; // ms
};

// What the CLI decides the exit status from (judge_soak below).
struct SoakVerdict {
    bool as_promised = false;
    std::string reason;
};

struct SoakReport {
    uint64_t seed = 0;
    std::string unit = "built-in"; // "httpd.service + override.conf"
    RestartValue restart = RestartValue::on_failure;
    RestartRules rules; // the unit's exit status rules, for judge_soak
    std::string fault;
    double crash_probability = 0;
    unsigned workers = 0;
    std::string supervisor = "systemd", supervisor_version;
    std::string not_applicable; // why the supervisor cannot run this soak at all (nothing ran)

    unsigned reloads_planned = 0;
    unsigned reloads = 0;        // asked of systemd (ReloadUnit), never while it was down
    unsigned reloads_logged = 0; // `reload-begin` lines in the fixture's log
    unsigned crashes = 0;
    unsigned predicted_crashes = 0; // reload_crashes(seed, k, p) over every k logged
    int restarts_observed = 0;      // incarnations - 1, from the fixture's log
    int supervisor_restarts = 0;    // systemd's NRestarts, read before the unit is stopped
    unsigned unrecovered = 0;
    unsigned probes = 0, probes_failed = 0;
    unsigned probes_refused = 0, probes_timed_out = 0, probes_bad = 0;
    bool start_limit_kept = false, start_limit_hit = false;
    std::string start_limit; // what the run did with the start limit, in words
    std::vector<SoakCrash> crash_list;
    std::optional<Downtime> downtime; // over recovered crashes; none when none was
    double reloads_per_s = 0;
    std::chrono::milliseconds wall{0}; // the reload loop, from the first reload to the last word
    std::string final_state, final_result;
    std::string ended_early; // why the loop stopped before every reload was asked, or ""
    std::vector<std::string> notes, warnings;
    std::vector<std::string> errors; // any hit deadline or contradiction: never a silent pass
    std::string replay;
    std::optional<SoakVerdict> verdict; // set by the CLI through judge_soak()

    bool real = false;
    std::string daemon;      // soak --real: the daemon's command line (ExecStart=)
    std::string injection;   // how faults were injected, "" when none was
    std::string http_target; // "http://127.0.0.1:8080/", "" when there was no HTTP load
    unsigned http_clients = 0;
    std::string cores;       // where the kernel puts cores, in words
    std::string logrotate;   // the configuration, "" when the soak asked for the reloads itself
    std::vector<LogrotateRun> logrotate_runs;
};

struct ServiceSettings;
// InputError unless the fake httpd can play this unit's daemon under a reload loop (its Type=,
// an ExecReload= to ask for). run_soak checks it too; the CLI calls it before anything runs.
void check_soakable(const ServiceSettings& unit, const std::string& where);

// Reads the unit if any (InputError on bad input), then soaks. Throws SupervisorError when the
// manager fails us, Interrupted when interrupt_fd becomes readable.
SoakReport run_soak(Supervisor& supervisor, const SoakOptions& options);

// soak --real: the unit's own daemon under the supervisor, its reloads asked for real, every
// death of its main process caught (pidfd and the supervisor's record), followed to its
// restart, its HTTP downtime and its core (real_soak.cpp).
SoakReport run_real_soak(Supervisor& supervisor, const SoakOptions& options);
// The signal --inject-signal names ("SIGHUP", "USR1"): InputError for an unknown one, and for
// one no handler can catch or the fault raises itself (KILL, STOP, ABRT, SEGV).
int injectable_signal(const std::string& text);

// What both soaks account the same way: the downtime over the crashes that came back (none
// when none did), a seed's schedule against the reloads logged, the HTTP load's counts.
std::optional<Downtime> downtime_of(const std::vector<SoakCrash>& crashes);
std::string schedule_mismatch(const std::vector<std::string>& mismatches, size_t reloads);
class HttpLoad;
void take_http_counts(SoakReport& report, HttpLoad& load); // stops the load first

// P in plain decimal digits (the fixture's plan and the injection library take no exponent),
// as many as it takes to read back as the very same double: prediction and draw agree.
std::string exact_decimal(double p);

// "1 in 30" when P is one over a whole number, else the number itself.
std::string probability_text(double p);

// Did every crash come back as Restart= promises (Table 2, the unit's exit status rules, and a
// known deviation for the hang)? Errors in the report always say no.
SoakVerdict judge_soak(const SoakReport& report, const RestartTable& table,
                       const Expectations& expectations);



} // namespace crashloop
