#include "judge.hpp"

#include <sys/wait.h>

#include <fmt/format.h>

namespace crashloop {

std::string end_in_words(const ServiceState& end) {
    if (end.exec_main_code == CLD_EXITED)
        return "exit code " + std::to_string(end.exec_main_status);
    return "signal " + signal_name(end.exec_main_status);
}

Outcome outcome_of(const ServiceState& end) {
    Outcome o;
    if (end.result == "watchdog") {
        o.kind = Outcome::Kind::watchdog;
    } else if (end.result == "timeout") {
        o.kind = Outcome::Kind::timeout;
    } else if (end.exec_main_code == CLD_EXITED) {
        o.exit_code = end.exec_main_status;
    } else {
        o.kind = Outcome::Kind::killed;
        o.signal = end.exec_main_status;
    }
    return o;
}

std::optional<std::string> restart_count_mismatch(int observed, int supervisor_restarts,
                                                  bool start_limit_refused_one,
                                                  const std::string& supervisor,
                                                  const std::string& counted_from) {
    if (observed == supervisor_restarts) return std::nullopt;
    if (start_limit_refused_one && supervisor_restarts == observed + 1) return std::nullopt;
    return fmt::format("{} counted {} restart(s), {}'s NRestarts={}", counted_from, observed,
                       supervisor, supervisor_restarts);
}

void judge_restart(CellResult& cell, bool restarted, const KnownDeviation* known,
                   const std::string& supervisor, const std::string& what_ended) {
    cell.verdict = judge(cell.expected_restarted, restarted, known);
    if (cell.verdict == Verdict::known_deviation)
        cell.reason = known->reason;
    else if (cell.verdict == Verdict::unexpected_pass)
        cell.reason = unexpected_pass_reason(*known);
    else if (cell.verdict == Verdict::fail)
        cell.reason = fmt::format("the manual says {} {}, {} {}", what_ended,
                                  cell.expected_restarted ? "restarts" : "stays down", supervisor,
                                  restarted ? "restarted it" : "left it down");
}

} // namespace crashloop
