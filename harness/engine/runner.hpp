#pragma once
// Runs cells (a Restart= value × an exit cause) against a supervisor (any
// driver, supervisor.hpp), many at once, and judges each from
// events: the fixture's own log and the supervisor's state changes, never
// from waiting a while.
#include <chrono>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <vector>

#include "cell_result.hpp"
#include "errors.hpp"
#include "exit_cause.hpp"
#include "expectations.hpp"
#include "restart_table.hpp"

namespace crashloop {

class Supervisor;
struct ServiceSettings;

struct RunOptions {
    std::vector<RestartValue> restarts;
    std::vector<ExitCause> causes;
    unsigned jobs = 0; // cells in flight at once; 0 = as many as starts keep up (admission.hpp)
    std::chrono::milliseconds cell_deadline{30000};
    std::filesystem::path fixture; // fake-httpd
    // A real unit's settings to run every cause under (crashloop check), the
    // fake httpd standing in for its daemon; null: the matrix's own defaults.
    const ServiceSettings* unit = nullptr;
    int interrupt_fd = -1;         // readable = stop now (throws Interrupted)
    std::function<void(const CellResult&)> on_cell_done;
};

// The restarts the manual promises for one cell.
bool expected_restart(const RestartTable& table, RestartValue value, const ExitCause& cause);

MatrixReport run_matrix(Supervisor& supervisor, const RestartTable& table,
                        const Expectations& expectations, const RunOptions& options);

} // namespace crashloop
