// Every cell of the matrix is its own test, against a real systemd: the
// private user manager that crashloop starts (and removes) itself. Names read
// like the table: on_failure/Cell.agrees_with_the_manual/sigabrt.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <tuple>

#include "../cell_params.hpp"
#include "exit_cause.hpp"
#include "expectations.hpp"
#include "private_systemd.hpp"
#include "restart_table.hpp"
#include "runner.hpp"
#include "registry.hpp"
#include "supervisor.hpp"

using namespace crashloop;
using namespace cell_params;

namespace {

class Cell : public ::testing::TestWithParam<std::tuple<RestartValue, std::string>> {};

TEST_P(Cell, agrees_with_the_manual) {
    const auto& [value, cause_id] = GetParam();
    const RestartTable table = RestartTable::load(scenarios_dir() / "table.toml");
    auto supervisor = make_supervisor("systemd", {.libexec = libexec_dir(), .scenarios = scenarios_dir()});
    const auto expectations = Expectations::for_supervisor(scenarios_dir(), supervisor->name(), supervisor->version());

    RunOptions options;
    options.restarts = {value};
    options.causes = select_causes(causes(), cause_id);
    options.fixture = libexec_dir() / "fake-httpd";
    const MatrixReport report = run_matrix(*supervisor, table, expectations, options);

    ASSERT_EQ(report.cells.size(), 1u);
    const CellResult& cell = report.cells.front();
    const std::string story = std::string("Restart=") + std::string(to_string(value)) + ", " +
                              cause_id + ": the manual says " +
                              (cell.expected_restarted ? "restarted" : "stays down") + ", observed " +
                              (cell.observed.restarted ? "restarted" : "stayed down") + " → " +
                              std::string(to_string(cell.verdict)) +
                              (cell.reason.empty() ? "" : " (" + cell.reason + ")") +
                              "\n  evidence: " + cell.evidence;
    EXPECT_TRUE(cell.verdict == Verdict::pass || cell.verdict == Verdict::known_deviation) << story;
    const ExitCause& cause = options.causes.front();
    if (cause.every_incarnation && cell.observed.restarted) {
        // A crash loop runs into StartLimitBurst= (5 starts by default) and stays down.
        EXPECT_TRUE(cell.observed.start_limit_hit) << story;
        EXPECT_EQ(cell.observed.restarts, 4) << story;
        EXPECT_EQ(cell.observed.supervisor_restarts, 5) << story;
    } else {
        // Counted from the fixture's own incarnations, and systemd agrees.
        EXPECT_EQ(cell.observed.restarts, cell.observed.restarted ? 1 : 0) << story;
        EXPECT_EQ(cell.observed.supervisor_restarts, cell.observed.restarts) << story;
    }
    if (cell.verdict == Verdict::known_deviation) {
        EXPECT_NE(expectations.find(cause_id, value), nullptr) << story;
    }
}

CRASHLOOP_CELLS(Cell);

} // namespace
