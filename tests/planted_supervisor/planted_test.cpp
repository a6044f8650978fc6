// The matrix against planted-systemctl, a supervisor with two bugs planted on
// purpose (planted_systemctl.cpp): (a) Restart=on-failure restarts after a
// clean SIGTERM, (b) RestartPreventExitStatus= is ignored. Driven as
// systemctl:PATH and through exec:scenarios/supervisors/planted.toml, both in
// process (run_matrix) and through the crashloop CLI's JSON report, the cells
// flagged (verdict fail) must be exactly those where the planted rule
// and Table 2 disagree — computed here from the table, not copied from a run —
// and every other cell must pass.
#include <gtest/gtest.h>
#include <spdlog/cfg/env.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <iterator>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <sys/wait.h>

#include "exit_cause.hpp"
#include "expectations.hpp"
#include "private_systemd.hpp"
#include "restart_table.hpp"
#include "runner.hpp"
#include "supervisor.hpp"
#include "temp_dir.hpp"

using namespace crashloop;

namespace crashloop {
DriverInfo systemctl_driver(); // harness/drivers/command/systemctl_driver.cpp
DriverInfo exec_driver();      // harness/drivers/command/exec_driver.cpp
} // namespace crashloop

namespace {

// Every cause planted-systemctl can run: the exit codes and signals, its own
// stop, a kill from outside, and the modifiers (no timeouts, no watchdog, no
// reload crash, no crash loop).
const char* const kCauses = "exit-0,sighup,sigint,sigterm,sigpipe,exit-1,sigabrt,sigsegv,sigkill,"
                            "sigquit,sigbus,stop,success-exit-status,success-exit-signal,"
                            "restart-prevent,restart-force,restart-force-signal,"
                            "restart-prevent-over-force,kill-sigabrt,kill-sigterm";

// What planted-systemctl does: the manual's answer with its two bugs put in.
bool planted_restarts(const RestartTable& table, RestartValue value, const ExitCause& cause) {
    const Outcome& outcome = cause.outcome;
    if (outcome.kind == Outcome::Kind::supervisor_stop) return false;
    RestartRules rules = cause.rules;
    rules.restart_prevent_exit_status = {}; // bug (b): ignored entirely
    if (value == RestartValue::on_failure && outcome.kind == Outcome::Kind::killed &&
        outcome.signal == SIGTERM)
        return true; // bug (a): a clean SIGTERM restarts under on-failure
    return table.shall_restart(value, outcome, rules);
}

// The cells the manual and planted-systemctl disagree on: what must be flagged.
std::set<std::string> planted_cells(const RestartTable& table,
                                    const std::vector<ExitCause>& causes) {
    std::set<std::string> cells;
    for (const auto& cause : causes)
        for (RestartValue value : all_restart_values)
            if (expected_restart(table, value, cause) != planted_restarts(table, value, cause))
                cells.insert(std::string(to_string(value)) + "/" + cause.id);
    return cells;
}

std::string listed(const std::set<std::string>& cells) {
    std::string text;
    for (const auto& cell : cells)
        text += " " + cell;
    return text;
}

class Planted : public ::testing::TestWithParam<std::string> {};

TEST_P(Planted, flags_exactly_the_planted_bugs) {
    const std::string driver = GetParam();
    spdlog::cfg::load_env_levels(); // SPDLOG_LEVEL=debug: every cell's verdict and evidence
    const RestartTable table = RestartTable::load(scenarios_dir() / "table.toml");
    const auto all_causes = load_exit_causes(scenarios_dir() / "causes.toml");
    setenv("PLANTED_SYSTEMCTL", PLANTED_SYSTEMCTL, 1); // read by planted.toml's commands
    // What make_supervisor("systemctl:PATH" / "exec:FILE") runs, called by name
    // so that this test does not depend on the list in drivers.cpp.
    const bool systemctl = driver == "systemctl";
    // "polled": the same supervisor as a foreign design (planted-polled.toml): restarts from a
    // one-second poll, nothing pending shown, no NRestarts, no exit status, a forking start.
    const bool polled = driver == "polled";
    // The polled design rewrites its state files in place: each torn read `show` made is
    // counted here, to show that the verdicts below held through real torn reads. (Set
    // before the driver is made: its commands get the environment of that moment.)
    TempDir torn;
    const std::string torn_log = (torn.path() / "torn-reads").string();
    if (polled) setenv("PLANTED_TORN_LOG", torn_log.c_str(), 1);
    DriverContext context{
        .argument = systemctl ? std::string(PLANTED_SYSTEMCTL)
                    : polled  ? std::string(PLANTED_POLLED_TOML)
                              : (scenarios_dir() / "supervisors" / "planted.toml").string(),
        .libexec = libexec_dir(),
        .scenarios = scenarios_dir()};
    auto supervisor = (systemctl ? systemctl_driver() : exec_driver()).make(context);
    EXPECT_EQ(supervisor->name(), "planted-systemctl");
    const auto expectations =
        Expectations::for_supervisor(scenarios_dir(), supervisor->name(), supervisor->version());

    RunOptions options;
    options.restarts.assign(all_restart_values.begin(), all_restart_values.end());
    options.causes = select_causes(all_causes, kCauses);
    options.fixture = libexec_dir() / "fake-httpd";
    options.jobs = 40;
    const MatrixReport report = run_matrix(*supervisor, table, expectations, options);
    unsetenv("PLANTED_TORN_LOG");
    if (polled) {
        std::ifstream log(torn_log);
        const auto reads = std::count(std::istreambuf_iterator<char>(log),
                                      std::istreambuf_iterator<char>(), '\n');
        EXPECT_GT(reads, 0) << "no torn read happened: the test showed nothing about them";
        std::printf("torn reads during the run: %ld\n", static_cast<long>(reads));
    }

    const std::set<std::string> expected_flags = planted_cells(table, options.causes);
    std::set<std::string> flagged;
    ASSERT_EQ(report.cells.size(), options.causes.size() * options.restarts.size());
    for (const CellResult& cell : report.cells) {
        const std::string name = std::string(to_string(cell.restart)) + "/" + cell.cause;
        const std::string story = name + ": " + std::string(to_string(cell.verdict)) +
                                  (cell.reason.empty() ? "" : " (" + cell.reason + ")") +
                                  "\n  evidence: " + cell.evidence;
        if (cell.verdict == Verdict::fail) flagged.insert(name);
        if (expected_flags.count(name)) {
            EXPECT_EQ(cell.verdict, Verdict::fail) << "a planted bug went unseen: " << story;
        } else {
            EXPECT_EQ(cell.verdict, Verdict::pass) << story;
            if (!polled) {
                EXPECT_EQ(cell.observed.supervisor_restarts, cell.observed.restarts) << story;
            }
        }
        // What the polled supervisor does not report is said in every judged cell.
        if (polled && cell.verdict != Verdict::not_applicable) {
            EXPECT_NE(std::find(cell.unchecked.begin(), cell.unchecked.end(), "restart count"),
                      cell.unchecked.end())
                << story;
        }
    }
    EXPECT_EQ(flagged, expected_flags)
        << "flagged:" << listed(flagged) << "\nplanted:" << listed(expected_flags);
    // The planted bugs show where they should, not nowhere.
    EXPECT_TRUE(expected_flags.count("on-failure/sigterm"));
    EXPECT_TRUE(expected_flags.count("always/restart-prevent"));
}

INSTANTIATE_TEST_SUITE_P(Matrix, Planted, ::testing::Values("systemctl", "exec", "polled"),
                         [](const auto& info) { return info.param; });

// Without its restart window the polled supervisor's restarts come after the verdict: every
// cell whose restart is promised is judged "stayed down" (the false verdicts the window is
// for). This is what the window guards against, shown so that the guard cannot go unnoticed.
TEST(PlantedPolled, without_its_restart_window_restarts_are_missed) {
    const RestartTable table = RestartTable::load(scenarios_dir() / "table.toml");
    const auto all_causes = load_exit_causes(scenarios_dir() / "causes.toml");
    setenv("PLANTED_SYSTEMCTL", PLANTED_SYSTEMCTL, 1);
    // Restarts 30 s after a death: however slow the machine, the verdict and crashloop's own
    // stop (which cancels the restart) come first.
    setenv("PLANTED_POLL_MS", "30000", 1);
    struct Unset {
        ~Unset() { unsetenv("PLANTED_POLL_MS"); }
    } unset;
    DriverContext context{.argument = PLANTED_POLLED_TOML,
                          .libexec = libexec_dir(),
                          .scenarios = scenarios_dir(),
                          .restart_window = std::chrono::milliseconds(0)};
    auto supervisor = exec_driver().make(context);
    RunOptions options;
    options.restarts = {RestartValue::always};
    options.causes = select_causes(all_causes, "exit-1,sigabrt");
    options.fixture = libexec_dir() / "fake-httpd";
    const MatrixReport report = run_matrix(*supervisor, table, Expectations(), options);
    ASSERT_EQ(report.cells.size(), 2u);
    for (const CellResult& cell : report.cells)
        EXPECT_EQ(cell.verdict, Verdict::fail)
            << cell.cause << ": " << to_string(cell.verdict) << " " << cell.reason << "\n  "
            << cell.evidence;
}

// An exec file's `up` runs once, before the first service, told every service the run may
// make; its `down` once at the end. Both leave their mark where the test can read it.
TEST(PlantedLifecycle, up_once_with_every_service_and_down_at_the_end) {
    const RestartTable table = RestartTable::load(scenarios_dir() / "table.toml");
    const auto all_causes = load_exit_causes(scenarios_dir() / "causes.toml");
    setenv("PLANTED_SYSTEMCTL", PLANTED_SYSTEMCTL, 1);
    TempDir dir;
    std::ifstream planted(scenarios_dir() / "supervisors" / "planted.toml");
    std::string text((std::istreambuf_iterator<char>(planted)), std::istreambuf_iterator<char>());
    const std::string marks = dir.path().string();
    text.insert(text.find("install ="), "up = 'echo {names} >> " + marks + "/up'\n" +
                                            "down = 'echo down >> " + marks + "/down'\n");
    const auto file = dir.path() / "planted-lifecycle.toml";
    std::ofstream(file) << text;
    {
        DriverContext context{.argument = file.string(), .libexec = libexec_dir(), .scenarios = scenarios_dir()};
        auto supervisor = exec_driver().make(context);
        RunOptions options;
        options.restarts = {RestartValue::always, RestartValue::no};
        options.causes = select_causes(all_causes, "exit-1");
        options.fixture = libexec_dir() / "fake-httpd";
        const MatrixReport report = run_matrix(*supervisor, table, Expectations(), options);
        for (const auto& cell : report.cells)
            EXPECT_EQ(cell.verdict, Verdict::pass) << cell.cause << ": " << cell.reason;
        EXPECT_FALSE(std::filesystem::exists(dir.path() / "down")) << "down before the end";
    }
    auto lines = [&](const char* name) {
        std::ifstream in(dir.path() / name);
        std::vector<std::string> all;
        for (std::string line; std::getline(in, line);) all.push_back(line);
        return all;
    };
    const auto up = lines("up");
    ASSERT_EQ(up.size(), 1u) << "up runs once";
    EXPECT_NE(up[0].find("crashloop-always-exit-1.service"), std::string::npos) << up[0];
    EXPECT_NE(up[0].find("crashloop-no-exit-1.service"), std::string::npos) << up[0];
    EXPECT_EQ(lines("down"), std::vector<std::string>{"down"}) << "down runs once, at the end";
}

// The same through the command line, as a user runs it: the JSON report's
// failing cells are exactly the planted ones, and everything else passes.
class PlantedCli : public ::testing::TestWithParam<std::string> {};

TEST_P(PlantedCli, flags_exactly_the_planted_bugs) {
    const bool systemctl = GetParam() == "systemctl";
    const RestartTable table = RestartTable::load(scenarios_dir() / "table.toml");
    const auto causes = select_causes(load_exit_causes(scenarios_dir() / "causes.toml"), kCauses);
    setenv("PLANTED_SYSTEMCTL", PLANTED_SYSTEMCTL, 1);
    const std::string supervisor =
        systemctl ? "systemctl:" + std::string(PLANTED_SYSTEMCTL)
                  : "exec:" + (scenarios_dir() / "supervisors" / "planted.toml").string();
    const std::string command = std::string("'") + CRASHLOOP_CLI + "' matrix --supervisor '" +
                                supervisor + "' --cause " + kCauses + " --jobs 40 --format json";
    std::string output;
    FILE* pipe = popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr) << command;
    char buffer[65536];
    for (size_t got; (got = fread(buffer, 1, sizeof buffer, pipe)) > 0;)
        output.append(buffer, got);
    const int status = pclose(pipe);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1)
        << command << ": a run with failing cells exits 1, got status " << status;

    const auto report = nlohmann::json::parse(output, nullptr, false);
    ASSERT_FALSE(report.is_discarded()) << command << " printed no JSON:\n" << output;
    EXPECT_EQ(report["supervisor"]["name"], "planted-systemctl");
    std::set<std::string> flagged;
    size_t cells = 0;
    for (const auto& cell : report["cells"]) {
        ++cells;
        const std::string name =
            cell["restart"].get<std::string>() + "/" + cell["cause"].get<std::string>();
        const std::string verdict = cell["verdict"];
        if (verdict == "fail")
            flagged.insert(name);
        else
            EXPECT_EQ(verdict, "pass") << name << ": " << cell.dump();
    }
    EXPECT_EQ(cells, causes.size() * all_restart_values.size());
    const std::set<std::string> expected_flags = planted_cells(table, causes);
    EXPECT_EQ(flagged, expected_flags)
        << "flagged:" << listed(flagged) << "\nplanted:" << listed(expected_flags);
}

INSTANTIATE_TEST_SUITE_P(Matrix, PlantedCli, ::testing::Values("systemctl", "exec"),
                         [](const auto& info) { return info.param; });

} // namespace
