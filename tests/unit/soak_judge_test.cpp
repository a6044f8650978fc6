// The soak's verdict (judge_soak) on hand-built reports: did every crash
// come back as Restart= promises, with the hung reload's known deviation
// taken from the expectations file, and never a verdict when the run had an
// error.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
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

namespace {

// soak --real: each crash judged by how the daemon really ended, and a crash left down is
// never as promised (the service is down, whatever Restart= says).
class RealSoakJudge : public SoakJudge {
  protected:
    static SoakCrash crash(unsigned reload, int signal, bool back) {
        SoakCrash c;
        c.reload = reload;
        c.pid = int(100 + reload);
        c.what = "die " + signal_name_of(signal);
        Outcome o;
        o.kind = Outcome::Kind::killed;
        o.signal = signal;
        c.outcome = o;
        if (back) {
            c.downtime_ms = 250;
            c.next_pid = c.pid + 1;
        }
        return c;
    }
    static std::string signal_name_of(int signal) { return signal == SIGABRT ? "SIGABRT" : "SIGTERM"; }
    static SoakReport real(RestartValue restart, std::vector<SoakCrash> crashes) {
        SoakReport r;
        r.real = true;
        r.restart = restart;
        r.reloads = 12;
        r.crash_list = std::move(crashes);
        r.crashes = unsigned(r.crash_list.size());
        for (const auto& c : r.crash_list)
            r.restarts_observed += c.downtime_ms ? 1 : 0;
        r.final_state = r.crash_list.empty() || r.crash_list.back().downtime_ms ? "active/running"
                                                                                : "failed/failed";
        return r;
    }
};

TEST_F(RealSoakJudge, no_crash_in_the_reloads_is_as_promised) {
    const SoakVerdict v = judge_soak(real(RestartValue::on_failure, {}), table, no_deviations);
    EXPECT_TRUE(v.as_promised) << v.reason;
    EXPECT_THAT(v.reason, HasSubstr("no crash in 12 graceful reload(s)"));
}

TEST_F(RealSoakJudge, every_crash_back_under_on_failure_is_as_promised) {
    const SoakVerdict v = judge_soak(
        real(RestartValue::on_failure, {crash(4, SIGABRT, true), crash(8, SIGABRT, true)}), table,
        no_deviations);
    EXPECT_TRUE(v.as_promised) << v.reason;
    EXPECT_THAT(v.reason, HasSubstr("every crash came back as Restart=on-failure promises"));
}

TEST_F(RealSoakJudge, a_crash_left_down_under_on_failure_names_its_reload) {
    const SoakVerdict v = judge_soak(
        real(RestartValue::on_failure, {crash(4, SIGABRT, true), crash(8, SIGABRT, false)}), table,
        no_deviations);
    EXPECT_FALSE(v.as_promised) << v.reason;
    EXPECT_THAT(v.reason, HasSubstr("the crash at reload 8 (pid 108, signal SIGABRT) stayed down, "
                                    "though Restart=on-failure promises a restart"));
}

TEST_F(RealSoakJudge, a_crash_left_down_under_restart_no_is_never_a_pass) {
    const SoakVerdict v =
        judge_soak(real(RestartValue::no, {crash(1, SIGABRT, false)}), table, no_deviations);
    EXPECT_FALSE(v.as_promised) << v.reason;
    EXPECT_THAT(v.reason, HasSubstr("the crash at reload 1 (pid 101, signal SIGABRT) stayed down, "
                                    "as Restart=no promises"));
}

TEST_F(RealSoakJudge, a_restart_where_none_is_promised_is_not_as_promised) {
    // SIGTERM is a clean signal: on-failure promises no restart after it.
    const SoakVerdict v = judge_soak(real(RestartValue::on_failure, {crash(2, SIGTERM, true)}),
                                     table, no_deviations);
    EXPECT_FALSE(v.as_promised) << v.reason;
    EXPECT_THAT(v.reason, HasSubstr("was restarted (pid 103), though Restart=on-failure promises "
                                    "no restart after signal SIGTERM"));
}

TEST_F(RealSoakJudge, errors_give_no_verdict) {
    SoakReport r = real(RestartValue::on_failure, {crash(4, SIGABRT, true)});
    r.errors = {"the crash schedule does not match the seed's (1 of 12 reloads): k=3"};
    const SoakVerdict v = judge_soak(r, table, no_deviations);
    EXPECT_FALSE(v.as_promised) << v.reason;
    EXPECT_THAT(v.reason, StartsWith("no verdict: the crash schedule"));
}

} // namespace
