// Every cell of the matrix against supervisord (Debian's supervisor package),
// run privately by the supervisord driver in a jail of its own. One matrix run
// is shared by all cells (a supervisord and ~175 programs take a while to set
// up); each cell is its own test, named like the table:
// on_failure/SupervisordCell.agrees_with_the_manual/sigabrt. A cell passes when
// supervisord does what the manual says, or what
// scenarios/expectations/supervisord-4.toml says it knowingly does instead,
// or when supervisord cannot express it (n/a: a watchdog, a start timeout …).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
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

bool supervisord_installed() {
    for (const char* dir : {"/usr/bin", "/usr/local/bin", "/bin"})
        if (access((std::string(dir) + "/supervisord").c_str(), X_OK) == 0) return true;
    return false;
}

std::unique_ptr<Supervisor> make_driver() {
    DriverContext context;
    context.libexec = libexec_dir();
    context.scenarios = scenarios_dir();
    return make_supervisor("supervisord", context);
}

// The cells this process runs (the --gtest_filter's): all of them when the
// binary runs on its own, one when ctest runs each test in a process of its
// own. A run covers the smallest Restart= × cause rectangle holding them.
std::set<std::pair<RestartValue, std::string>> selected_cells() {
    std::map<std::string, std::pair<RestartValue, std::string>> by_name;
    for (RestartValue value : all_restart_values)
        for (const auto& id : cause_ids())
            by_name[identifier(std::string(to_string(value))) +
                    "/SupervisordCell.agrees_with_the_manual/" + identifier(id)] = {value, id};
    std::set<std::pair<RestartValue, std::string>> selected;
    const auto& unit = *::testing::UnitTest::GetInstance();
    for (int i = 0; i < unit.total_test_suite_count(); ++i) {
        const auto& suite = *unit.GetTestSuite(i);
        for (int j = 0; j < suite.total_test_count(); ++j) {
            const auto& test = *suite.GetTestInfo(j);
            auto it = by_name.find(std::string(test.test_suite_name()) + "." + test.name());
            if (test.should_run() && it != by_name.end()) selected.insert(it->second);
        }
    }
    return selected;
}

struct MatrixRun {
    std::string error; // the run itself failed
    std::string version;
    std::string expectations_file;
    std::map<std::pair<RestartValue, std::string>, CellResult> cells;
};

// The whole matrix, once, the first time a cell asks.
const MatrixRun& matrix() {
    static const MatrixRun run = [] {
        MatrixRun r;
        try {
            auto supervisor = make_driver();
            r.version = supervisor->version();
            const RestartTable table = RestartTable::load(scenarios_dir() / "table.toml");
            const auto expectations =
                Expectations::for_supervisor(scenarios_dir(), supervisor->name(), r.version);
            r.expectations_file = expectations.source();
            RunOptions options;
            options.fixture = libexec_dir() / "fake-httpd";
            const auto selected = selected_cells();
            for (RestartValue value : all_restart_values)
                if (std::any_of(selected.begin(), selected.end(),
                                [&](const auto& c) { return c.first == value; }))
                    options.restarts.push_back(value);
            for (const auto& cause : causes())
                if (std::any_of(selected.begin(), selected.end(),
                                [&](const auto& c) { return c.second == cause.id; }))
                    options.causes.push_back(cause);
            const MatrixReport report = run_matrix(*supervisor, table, expectations, options);
            std::map<Verdict, int> counts;
            for (const auto& cell : report.cells) {
                r.cells[{cell.restart, cell.cause}] = cell;
                ++counts[cell.verdict];
            }
            // A summary on stderr (stdout is ctest's), every cell not a plain pass with its reason.
            std::fprintf(stderr, "supervisord %s matrix: %zu cells in %lld ms:", r.version.c_str(),
                         report.cells.size(), static_cast<long long>(report.wall.count()));
            for (const auto& [verdict, n] : counts)
                std::fprintf(stderr, " %d %s", n, std::string(to_string(verdict)).c_str());
            std::fprintf(stderr, "\n");
            for (const auto& cell : report.cells)
                if (cell.verdict != Verdict::pass)
                    std::fprintf(stderr, "  %s/%s: %s (%s)\n",
                                 std::string(to_string(cell.restart)).c_str(), cell.cause.c_str(),
                                 std::string(to_string(cell.verdict)).c_str(), cell.reason.c_str());
        } catch (const std::exception& e) {
            r.error = e.what();
        }
        return r;
    }();
    return run;
}

class SupervisordCell : public ::testing::TestWithParam<std::tuple<RestartValue, std::string>> {};

TEST_P(SupervisordCell, agrees_with_the_manual) {
    if (!supervisord_installed())
        GTEST_SKIP() << "supervisord not found; install Debian's supervisor package";
    const auto& [value, cause_id] = GetParam();
    const MatrixRun& run = matrix();
    ASSERT_TRUE(run.error.empty()) << "the supervisord matrix did not run: " << run.error;
    auto it = run.cells.find({value, cause_id});
    ASSERT_NE(it, run.cells.end()) << "no result for " << to_string(value) << "/" << cause_id;
    const CellResult& cell = it->second;
    const std::string story =
        "supervisord " + run.version + ", Restart=" + std::string(to_string(value)) + ", " +
        cause_id + ": the manual says " + (cell.expected_restarted ? "restarted" : "stays down") +
        ", observed " + (cell.observed.restarted ? "restarted" : "stayed down") + " → " +
        std::string(to_string(cell.verdict)) +
        (cell.reason.empty() ? "" : " (" + cell.reason + ")") + "\n  evidence: " + cell.evidence +
        "\n  expectations: " + (run.expectations_file.empty() ? "none" : run.expectations_file);
    EXPECT_TRUE(cell.verdict == Verdict::pass || cell.verdict == Verdict::known_deviation ||
                cell.verdict == Verdict::not_applicable)
        << story;
    // n/a only for what supervisord has no way to express, and always with the reason.
    static const std::set<std::string> inexpressible = {"start-timeout", "watchdog", "reload-timeout",
                                                        "crash-loop"};
    if (cell.verdict == Verdict::not_applicable) {
        EXPECT_TRUE(inexpressible.count(cause_id)) << story;
        EXPECT_FALSE(cell.reason.empty()) << story;
    } else {
        EXPECT_FALSE(inexpressible.count(cause_id)) << "supervisord ran a cell it cannot express: " << story;
    }
    if (cell.verdict == Verdict::pass || cell.verdict == Verdict::known_deviation) {
        // Counted from the fixture's own incarnations, and supervisord's log agrees.
        EXPECT_EQ(cell.observed.restarts, cell.observed.restarted ? 1 : 0) << story;
        EXPECT_EQ(cell.observed.supervisor_restarts, cell.observed.restarts) << story;
    }
}

CRASHLOOP_CELLS(SupervisordCell);

} // namespace
