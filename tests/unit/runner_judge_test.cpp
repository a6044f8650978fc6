// The runner's judge (run_matrix) against a scripted supervisor: what it
// concludes from the fixture's event log, the supervisor's announced changes
// and its confirmed reads, without running anything. Each test is one cell
// whose supervisor plays a short script.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <string>
#include <vector>

#include "cell_result.hpp"
#include "exit_cause.hpp"
#include "expectations.hpp"
#include "restart_table.hpp"
#include "runner.hpp"
#include "scripted_supervisor.hpp"
#include "temp_dir.hpp"

using namespace crashloop;
using crashloop::testing::ScriptedSupervisor;
using crashloop::testing::ScriptStep;
using ::testing::HasSubstr;

namespace {

const std::filesystem::path scenarios_dir = CRASHLOOP_SCENARIOS_DIR;
constexpr std::chrono::milliseconds kCellDeadline{300};

const ExitCause& cause(const std::string& id) {
    static const std::vector<ExitCause> causes = load_exit_causes(scenarios_dir / "causes.toml");
    for (const ExitCause& c : causes)
        if (c.id == id) return c;
    throw std::runtime_error("no cause " + id + " in causes.toml");
}

// --- what the supervisor says -------------------------------------------------

ServiceState state(std::string active, std::string sub) {
    ServiceState s;
    s.active_state = std::move(active);
    s.sub_state = std::move(sub);
    s.load_state = "loaded";
    s.result = "success";
    return s;
}

ServiceState running(uint32_t pid, uint32_t n_restarts = 0) {
    ServiceState s = state("active", "running");
    s.main_pid = pid;
    s.n_restarts = n_restarts;
    return s;
}

// systemd after a core dump, the restart queued as job `job`.
ServiceState auto_restart_after_core_dump(int signal, uint32_t n_restarts, uint32_t job) {
    ServiceState s = state("activating", "auto-restart");
    s.result = "core-dump";
    s.exec_main_code = CLD_DUMPED;
    s.exec_main_status = signal;
    s.n_restarts = n_restarts;
    s.job_id = job;
    return s;
}

// The same moment with the end's record lost: no ExecMainCode.
ServiceState auto_restart_without_record(uint32_t job) {
    ServiceState s = state("activating", "auto-restart");
    s.result = "core-dump";
    s.job_id = job;
    return s;
}

ServiceState failed_after_core_dump(int signal, uint32_t n_restarts) {
    ServiceState s = state("failed", "failed");
    s.result = "core-dump";
    s.exec_main_code = CLD_DUMPED;
    s.exec_main_status = signal;
    s.n_restarts = n_restarts;
    return s;
}

// --- what the fixture writes ----------------------------------------------------

std::string event(int incarnation, int pid, long long ns, const std::string& what) {
    return std::to_string(incarnation) + " " + std::to_string(pid) + " " + std::to_string(ns) +
           " " + what;
}
long long at(int incarnation, long long ms) {
    return incarnation * 1000000000LL + ms * 1000000;
}

// Incarnation n started, said READY=1, and the supervisor runs it as main pid
// (counting n - 1 restarts, unless told otherwise).
ScriptStep serving(int incarnation, int pid, int n_restarts = -1) {
    ScriptStep step;
    step.logs(event(incarnation, pid, at(incarnation, 0), "start"))
        .logs(event(incarnation, pid, at(incarnation, 1), "ready"))
        .becomes(running(pid, n_restarts < 0 ? incarnation - 1 : n_restarts));
    return step;
}

// Incarnation n logged its abort(); the supervisor's view is the caller's.
ScriptStep aborted(int incarnation, int pid) {
    ScriptStep step;
    step.logs(event(incarnation, pid, at(incarnation, 500), "die SIGABRT"));
    return step;
}

// --- the run --------------------------------------------------------------------

class RunnerJudge : public ::testing::Test {
  protected:
    TempDir dir;
    ScriptedSupervisor supervisor{dir.path()};
    RestartTable table = RestartTable::load(scenarios_dir / "table.toml");
    Expectations no_deviations;

    CellResult run_cell(RestartValue value, const std::string& cause_id) {
        RunOptions options;
        options.restarts = {value};
        options.causes = {cause(cause_id)};
        options.cell_deadline = kCellDeadline;
        options.fixture = "/nonexistent/fake-httpd"; // never run: the script plays it
        MatrixReport report = run_matrix(supervisor, table, no_deviations, options);
        if (report.cells.size() != 1) throw std::runtime_error("expected one cell");
        return report.cells[0];
    }
};

std::string shown(const CellResult& cell) {
    return std::string(to_string(cell.verdict)) + " (" + cell.reason +
           "); evidence: " + cell.evidence;
}

TEST_F(RunnerJudge, clean_restart_after_sigabrt_under_on_failure_passes) {
    supervisor.script("on-failure-sigabrt")
        .then(serving(1, 101))
        .then(aborted(1, 101).becomes(auto_restart_after_core_dump(SIGABRT, 0, 7)))
        .then(serving(2, 102));

    const CellResult cell = run_cell(RestartValue::on_failure, "sigabrt");

    EXPECT_EQ(cell.verdict, Verdict::pass) << shown(cell);
    EXPECT_TRUE(cell.observed.restarted);
    EXPECT_EQ(cell.observed.restarts, 1);
    EXPECT_EQ(cell.observed.signal, SIGABRT);
    EXPECT_EQ(cell.observed.result, "core-dump");
    EXPECT_TRUE(supervisor.was_called("stop crashloop-on-failure-sigabrt.service"))
        << "a finished cell's unit is stopped";
}

TEST_F(RunnerJudge, restart_whose_first_end_was_never_captured_is_an_error_not_a_pass) {
    supervisor.script("on-failure-sigabrt")
        .then(serving(1, 101))
        .then(aborted(1, 101).becomes(auto_restart_without_record(7)))
        .then(serving(2, 102));

    const CellResult cell = run_cell(RestartValue::on_failure, "sigabrt");

    EXPECT_EQ(cell.verdict, Verdict::error) << shown(cell);
    EXPECT_THAT(cell.reason, HasSubstr("how incarnation 1 ended was never captured"))
        << shown(cell);
}

TEST_F(RunnerJudge, polled_supervisor_whose_first_end_was_missed_is_judged_and_says_so) {
    supervisor.records_ends = false;
    supervisor.script("on-failure-sigabrt")
        .then(serving(1, 101))
        .then(aborted(1, 101).becomes(auto_restart_without_record(7)))
        .then(serving(2, 102));

    const CellResult cell = run_cell(RestartValue::on_failure, "sigabrt");

    EXPECT_EQ(cell.verdict, Verdict::pass) << shown(cell);
    EXPECT_THAT(cell.reason, HasSubstr("scripted is polled and restarted it between two reads"))
        << shown(cell);
    EXPECT_THAT(cell.reason, HasSubstr("the fixture logged: die SIGABRT")) << shown(cell);
}

TEST_F(RunnerJudge, nrestarts_that_disagrees_with_the_incarnations_is_an_error) {
    supervisor.script("on-failure-sigabrt")
        .then(serving(1, 101))
        .then(aborted(1, 101).becomes(auto_restart_after_core_dump(SIGABRT, 0, 7)))
        .then(serving(2, 102, /*n_restarts=*/2));

    const CellResult cell = run_cell(RestartValue::on_failure, "sigabrt");

    EXPECT_EQ(cell.verdict, Verdict::error) << shown(cell);
    EXPECT_THAT(cell.reason, HasSubstr("the fixture counted 1 restart(s), scripted's NRestarts=2"));
}

TEST_F(RunnerJudge, restart_after_the_supervisors_own_stop_fails) {
    ServiceState stopping =
        state("activating", "auto-restart"); // wrongly restarting after its own stop
    stopping.exec_main_code = CLD_KILLED;
    stopping.exec_main_status = SIGTERM;
    stopping.job_id = 8;
    supervisor.script("always-stop")
        .then(serving(1, 101))
        .after_stop(ScriptStep().ends_job("stop-1", "done").becomes(stopping))
        .after_stop(serving(2, 102));

    const CellResult cell = run_cell(RestartValue::always, "stop");

    EXPECT_TRUE(supervisor.was_called("stop crashloop-always-stop.service"));
    EXPECT_EQ(cell.verdict, Verdict::fail) << shown(cell);
    EXPECT_FALSE(cell.expected_restarted);
    EXPECT_TRUE(cell.observed.restarted);
    EXPECT_THAT(cell.reason, HasSubstr("the manual says it stays down, scripted restarted it"));
}

TEST_F(RunnerJudge, refused_restart_at_the_start_limit_is_start_limit_hit_not_an_error) {
    supervisor.script("on-failure-crash-loop")
        .then(serving(1, 101))
        .then(aborted(1, 101).becomes(auto_restart_after_core_dump(SIGABRT, 0, 10)))
        .then(serving(2, 102))
        .then(aborted(2, 102).becomes(auto_restart_after_core_dump(SIGABRT, 1, 11)))
        .then(serving(3, 103))
        .then(aborted(3, 103).becomes(auto_restart_after_core_dump(SIGABRT, 2, 12)))
        // The third restart is refused: its job fails, the unit is left failed,
        // and NRestarts counts the refused one too.
        .then(ScriptStep().ends_job("12", "failed").becomes(failed_after_core_dump(SIGABRT, 3)));

    const CellResult cell = run_cell(RestartValue::on_failure, "crash-loop");

    EXPECT_EQ(cell.verdict, Verdict::pass) << shown(cell);
    EXPECT_TRUE(cell.observed.start_limit_hit) << shown(cell);
    EXPECT_EQ(cell.observed.restarts, 2);
    EXPECT_EQ(cell.observed.supervisor_restarts, 3);
    EXPECT_THAT(cell.evidence, HasSubstr("start limit hit"));
}

TEST_F(RunnerJudge, crash_loop_left_failed_without_a_refused_restart_job_is_an_error) {
    supervisor.script("on-failure-crash-loop")
        .then(serving(1, 101))
        .then(aborted(1, 101).becomes(auto_restart_after_core_dump(SIGABRT, 0, 10)))
        .then(serving(2, 102))
        .then(aborted(2, 102).becomes(failed_after_core_dump(SIGABRT, 2)));

    const CellResult cell = run_cell(RestartValue::on_failure, "crash-loop");

    EXPECT_EQ(cell.verdict, Verdict::error) << shown(cell);
    EXPECT_FALSE(cell.observed.start_limit_hit);
    EXPECT_THAT(cell.reason, HasSubstr("NRestarts=2"));
}

TEST_F(RunnerJudge, announced_failure_that_a_confirmed_read_contradicts_does_not_decide) {
    // The change says failed/failed with nothing pending; the read right after
    // says a restart is queued, and the restart comes.
    ServiceState flap = failed_after_core_dump(SIGABRT, 0);
    supervisor.script("on-failure-sigabrt")
        .then(serving(1, 101))
        .then(aborted(1, 101).announces(flap).reads_as(auto_restart_after_core_dump(SIGABRT, 0, 7)))
        .then(serving(2, 102));

    const CellResult cell = run_cell(RestartValue::on_failure, "sigabrt");

    EXPECT_EQ(cell.verdict, Verdict::pass) << shown(cell);
    EXPECT_TRUE(cell.observed.restarted);
}

TEST_F(RunnerJudge, stays_down_only_once_a_read_confirms_it) {
    // Announced: failed, then a stale active/running; the reads say failed
    // with no job, and that is the verdict: Restart=no kept it down.
    supervisor.script("no-sigabrt")
        .then(serving(1, 101))
        .then(aborted(1, 101)
                  .announces(failed_after_core_dump(SIGABRT, 0))
                  .announces(running(101))
                  .reads_as(failed_after_core_dump(SIGABRT, 0)));

    const CellResult cell = run_cell(RestartValue::no, "sigabrt");

    EXPECT_EQ(cell.verdict, Verdict::pass) << shown(cell);
    EXPECT_FALSE(cell.observed.restarted);
    EXPECT_EQ(cell.observed.final_state, "failed/failed");
}

TEST_F(RunnerJudge, start_that_is_never_answered_ends_at_the_deadline_as_an_error) {
    supervisor.script("on-failure-sigabrt").never_answers_start();

    const auto begin = std::chrono::steady_clock::now();
    const CellResult cell = run_cell(RestartValue::on_failure, "sigabrt");
    const auto took = std::chrono::steady_clock::now() - begin;

    EXPECT_EQ(cell.verdict, Verdict::error) << shown(cell);
    EXPECT_THAT(cell.reason, HasSubstr("no verdict within 300 ms"));
    EXPECT_GE(took, kCellDeadline);
}

TEST_F(RunnerJudge, cell_the_supervisor_cannot_express_is_not_applicable_and_never_started) {
    supervisor.script("on-watchdog-watchdog").lacks("no WATCHDOG=1 keep-alive");

    const CellResult cell = run_cell(RestartValue::on_watchdog, "watchdog");

    EXPECT_EQ(cell.verdict, Verdict::not_applicable) << shown(cell);
    EXPECT_EQ(cell.reason, "no WATCHDOG=1 keep-alive");
    EXPECT_FALSE(supervisor.was_called("start crashloop-on-watchdog-watchdog.service"));
}

} // namespace
