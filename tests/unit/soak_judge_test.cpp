// The soak's verdict (judge_soak) on hand-built reports: did every crash
// come back as Restart= promises, with the hung reload's known deviation
// taken from the expectations file, and never a verdict when the run had an
// error.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "expectations.hpp"
#include "restart_table.hpp"
#include "soak.hpp"

using namespace crashloop;
using ::testing::HasSubstr;
using ::testing::StartsWith;

namespace {

const std::filesystem::path scenarios_dir = CRASHLOOP_SCENARIOS_DIR;

class SoakJudge : public ::testing::Test {
  protected:
    RestartTable table = RestartTable::load(scenarios_dir / "table.toml");
    Expectations no_deviations;
    Expectations systemd_252 =
        Expectations::load(scenarios_dir / "expectations" / "systemd-252.toml");

    // `crashes` reload crashes, of which `unrecovered` never came back.
    static SoakReport report(RestartValue restart, const std::string& fault, unsigned crashes,
                             unsigned unrecovered, const std::string& final_state) {
        SoakReport r;
        r.restart = restart;
        r.fault = fault;
        r.reloads = 100;
        r.crashes = crashes;
        r.unrecovered = unrecovered;
        r.restarts_observed = static_cast<int>(crashes - unrecovered);
        r.supervisor_restarts = r.restarts_observed;
        r.final_state = final_state;
        return r;
    }
};

TEST_F(SoakJudge, every_crash_recovered_under_on_failure_is_as_promised) {
    const SoakVerdict v = judge_soak(
        report(RestartValue::on_failure, "sigabrt", 3, 0, "active/running"), table, no_deviations);
    EXPECT_TRUE(v.as_promised) << v.reason;
    EXPECT_THAT(v.reason, HasSubstr("every crash came back: 3 crash(es), 3 restart(s)"));
}

TEST_F(SoakJudge, crash_left_down_under_on_failure_is_not_as_promised) {
    const SoakVerdict v = judge_soak(
        report(RestartValue::on_failure, "sigsegv", 3, 1, "failed/failed"), table, no_deviations);
    EXPECT_FALSE(v.as_promised) << v.reason;
    EXPECT_THAT(v.reason, HasSubstr("1 of 3 crash(es) never came back"));
    EXPECT_THAT(v.reason, HasSubstr("Restart=on-failure promises a restart after signal SIGSEGV"));
}

TEST_F(SoakJudge, start_limit_hit_is_named_when_a_crash_stayed_down) {
    SoakReport r = report(RestartValue::on_failure, "sigabrt", 6, 1, "failed/failed");
    r.start_limit_hit = true;
    const SoakVerdict v = judge_soak(r, table, no_deviations);
    EXPECT_FALSE(v.as_promised);
    EXPECT_THAT(v.reason, HasSubstr("(the start limit was hit)"));
}

TEST_F(SoakJudge, errors_give_no_verdict_even_when_every_crash_came_back) {
    SoakReport r = report(RestartValue::on_failure, "sigabrt", 3, 0, "active/running");
    r.errors = {"NRestarts=4, the fixture counted 3 restarts", "a probe deadline passed"};
    const SoakVerdict v = judge_soak(r, table, no_deviations);
    EXPECT_FALSE(v.as_promised);
    EXPECT_EQ(v.reason, "no verdict: NRestarts=4, the fixture counted 3 restarts (and 1 more)");
}

TEST_F(SoakJudge, hung_reload_left_running_is_as_promised_by_the_known_deviation) {
    const SoakVerdict v = judge_soak(
        report(RestartValue::on_failure, "hang", 1, 1, "active/running"), table, systemd_252);
    EXPECT_TRUE(v.as_promised) << v.reason;
    EXPECT_THAT(v.reason, HasSubstr("the first hang left it hung (active/running), no restart"));
    EXPECT_THAT(v.reason, HasSubstr("known deviation"));
}

TEST_F(SoakJudge, hung_reload_left_running_without_the_deviation_is_not_as_promised) {
    const SoakVerdict v = judge_soak(
        report(RestartValue::on_failure, "hang", 1, 1, "active/running"), table, no_deviations);
    EXPECT_FALSE(v.as_promised) << v.reason;
    EXPECT_THAT(v.reason, HasSubstr("promises a restart after a reload timeout"));
}

TEST_F(SoakJudge, restart_no_with_the_one_crash_left_down_is_as_promised) {
    const SoakVerdict v = judge_soak(report(RestartValue::no, "sigabrt", 1, 1, "failed/failed"),
                                     table, no_deviations);
    EXPECT_TRUE(v.as_promised) << v.reason;
    EXPECT_THAT(v.reason,
                HasSubstr("the first crash left it down (failed/failed), as Restart=no promises"));
}

TEST_F(SoakJudge, restart_no_that_restarted_is_not_as_promised) {
    const SoakVerdict v = judge_soak(report(RestartValue::no, "sigabrt", 2, 0, "active/running"),
                                     table, no_deviations);
    EXPECT_FALSE(v.as_promised) << v.reason;
    EXPECT_THAT(v.reason, HasSubstr("Restart=no promises no restart after signal SIGABRT"));
}

TEST_F(SoakJudge, not_applicable_is_reported_as_n_a_with_its_reason) {
    SoakReport r;
    r.not_applicable = "no ExecReload= to ask for";
    const SoakVerdict v = judge_soak(r, table, no_deviations);
    EXPECT_EQ(v.reason, "n/a: no ExecReload= to ask for");
}

} // namespace
