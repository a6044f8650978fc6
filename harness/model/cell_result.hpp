#pragma once
// One cell of the matrix (a Restart= value × an exit cause): what the manual
// says, what was observed, the verdict and its evidence.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "restart_table.hpp"

namespace crashloop {

// unexpected_pass: the cell agrees with the manual although the expectations
// file lists it as a known deviation; the file is out of date and must lose
// that entry (or the supervisor changed), so it is not a good verdict.
enum class Verdict { pass, fail, known_deviation, unexpected_pass, not_applicable, error };
// "pass" "fail" "known-deviation" "unexpected-pass" "n/a" "error"
std::string_view to_string(Verdict verdict);

// One incarnation of the fake httpd, from its own event log.
struct Incarnation {
    int number = 0;
    int pid = 0;
    long long started_ns = 0;           // CLOCK_MONOTONIC
    std::optional<long long> ready_ns;
    std::string last_event;             // "exit 1", "die SIGABRT", "serve" …
};

struct Observation {
    bool restarted = false;
    int restarts = 0;                   // incarnations - 1, from the fixture's event log
    int supervisor_restarts = 0;        // NRestarts, as systemd reports it
    std::optional<int> exit_code;       // as the supervisor saw the first incarnation end
    std::optional<int> signal;
    std::string result;                 // systemd's Result= ("core-dump", "timeout" …)
    std::optional<long long> delay_ms;  // first death → next incarnation's start
    std::string final_state;            // "active/running", "failed/failed" …
    std::string final_result;           // systemd's Result= at the verdict
    bool start_limit_hit = false;       // systemd refused a restart: StartLimitBurst= reached
    std::vector<Incarnation> incarnations;
};

struct CellResult {
    RestartValue restart = RestartValue::no;
    std::string cause;
    bool expected_restarted = false;
    Observation observed;
    Verdict verdict = Verdict::error;
    std::string evidence;               // one line a human reads: pids, exit, timings, result
    std::string reason;                 // why error / known-deviation / unexpected-pass / n/a
    std::chrono::milliseconds duration{0};
    // Settings crashloop set in place of the unit's for this cell's last attempt,
    // with the value used (ServiceSpec::overrides): "TimeoutStartSec= is 500 ms (the unit's: 90
    // s)".
    std::vector<std::string> overrides;
    // Attempts given up on and run again as a new unit (a reload-timeout cell
    // whose start timed out before the reload); the verdict is the last one's.
    int retries = 0;
    // The supervisor's evidence the judge could not check, because the supervisor does not
    // report it ("restart count", "exit status"): the verdict rests on the fixture's log there.
    std::vector<std::string> unchecked;
};

// The verdict from expected vs observed and the cell's entry in the
// expectations file, if any (error and n/a are decided before, by the runner):
//   agrees with the manual, not listed              → pass
//   agrees with the manual, listed                  → unexpected_pass
//   differs, listed with exactly the observed answer → known_deviation
//   differs otherwise                               → fail
struct KnownDeviation;
Verdict judge(bool expected_restarted, bool observed_restarted, const KnownDeviation* known);
// The reason an unexpected pass carries: "listed as a known deviation
// (scenarios/expectations/systemd-252.toml:19: <its reason>) but now agrees with
// the manual".
std::string unexpected_pass_reason(const KnownDeviation& known);

struct MatrixReport {
    std::string supervisor = "systemd";
    std::string supervisor_version;
    std::string expectations_file;
    std::vector<RestartValue> restarts; // columns, in order
    std::vector<std::string> causes;    // rows, in order
    std::vector<CellResult> cells;
    std::chrono::milliseconds wall{0};
    bool all_good() const;              // every cell pass, known-deviation or n/a
};

// A cell's answer in plain words: "restarted after 118 ms (new main pid 12687)",
// "stays down (inactive/dead, Result=success)", "n/a: …".
std::string answer_in_words(const CellResult& cell);

} // namespace crashloop
