#pragma once
// One cell of the matrix (a Restart= value × an exit cause): what the manual
// says, what was observed, the verdict and its evidence.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "restart_table.hpp"

namespace crashloop {

enum class Verdict { pass, fail, known_deviation, not_applicable, error };
std::string_view to_string(Verdict verdict); // "pass" "fail" "known-deviation" "n/a" "error"

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
    std::string reason;                 // why error / known-deviation / n/a
    std::chrono::milliseconds duration{0};
};

// pass / fail / known-deviation from expected vs observed and a possible known
// deviation; error stays error.
struct KnownDeviation;
Verdict judge(bool expected_restarted, bool observed_restarted, const KnownDeviation* known);

struct MatrixReport {
    std::string supervisor = "systemd";
    std::string supervisor_version;
    std::string expectations_file;
    std::vector<RestartValue> restarts; // columns, in order
    std::vector<std::string> causes;    // rows, in order
    std::vector<CellResult> cells;
    std::chrono::milliseconds wall{0};
    bool all_good() const;              // every cell pass or known-deviation
};

} // namespace crashloop
