#pragma once
// The judgements every workload makes the same way, whichever command runs it: how the
// supervisor saw a main process end, and whether its restart count agrees with the
// incarnations observed.
#include <optional>
#include <string>

#include "cell_result.hpp"
#include "expectations.hpp"
#include "restart_table.hpp"
#include "supervisor.hpp"

namespace crashloop {

// "exit code 1", "signal SIGABRT": how the supervisor saw a main process end.
std::string end_in_words(const ServiceState& end);

// The same end as a row of Table 2 (a timeout or watchdog by the supervisor's Result=).
Outcome outcome_of(const ServiceState& end);

// Does the supervisor's own restart count agree with the restarts observed (incarnations in
// the fixture's log, or distinct main pids)? nullopt when it does, else the reason for an
// error. A restart the start limit refused is counted by NRestarts though nothing ran for it.
std::optional<std::string> restart_count_mismatch(int observed, int supervisor_restarts,
                                                  bool start_limit_refused_one,
                                                  const std::string& supervisor,
                                                  const std::string& counted_from);

// The verdict once the restart question is answered: pass, fail, known deviation or unexpected
// pass, each with its reason. `what_ended` names the end the manual's row is read for ("it",
// "signal SIGTERM", "a stop").
void judge_restart(CellResult& cell, bool restarted, const KnownDeviation* known,
                   const std::string& supervisor, const std::string& what_ended);

} // namespace crashloop
