// `crashloop soak` on the built-in systemd: the seeded reload crash comes on schedule, every
// crash is accounted for three ways (the fixture's `die` events, its incarnations, systemd's
// NRestarts), and Restart= decides whether the soak goes on after the first one.
#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "expectations.hpp"
#include "private_systemd.hpp"
#include "restart_table.hpp"
#include "soak.hpp"
#include "registry.hpp"
#include "report.hpp"
#include "supervisor.hpp"

using namespace crashloop;

namespace {

// 60 reloads at 1 in 5: a dozen crashes in a few seconds.
constexpr uint64_t kSeed = 7;

struct Soaked {
    SoakReport report;
    SoakVerdict verdict;
};

Soaked soak(RestartValue restart, unsigned reloads) {
    auto systemd = make_supervisor("systemd", {.libexec = libexec_dir(), .scenarios = scenarios_dir()});
    SoakOptions options;
    options.restart = restart;
    options.reloads = reloads;
    options.interval = std::chrono::milliseconds(10);
    options.crash_probability = 1.0 / 5;
    options.seed = kSeed;
    options.fixture = libexec_dir() / "fake-httpd";
    options.replay = "(soak_test)";
    SoakReport report = run_soak(*systemd, options);
    const RestartTable table = RestartTable::load(scenarios_dir() / "table.toml");
    const auto expectations = Expectations::for_supervisor(scenarios_dir(), systemd->name(), systemd->version());
    const SoakVerdict verdict = judge_soak(report, table, expectations);
    return {report, verdict};
}

std::vector<uint64_t> crash_schedule(const SoakReport& report) {
    std::vector<uint64_t> ks;
    for (const auto& crash : report.crash_list)
        ks.push_back(crash.k);
    return ks;
}

TEST(Soak, on_failure_every_crash_comes_back) {
    const auto [r, verdict] = soak(RestartValue::on_failure, 60);
    const std::string story = render_soak(r, false);
    EXPECT_TRUE(r.errors.empty()) << story;
    EXPECT_EQ(r.reloads, 60u) << story;
    EXPECT_GT(r.crashes, 0u) << "the seed should crash some of 60 reloads at 1 in 5\n" << story;
    EXPECT_EQ(r.crashes, r.predicted_crashes) << story;
    EXPECT_EQ(int(r.crashes), r.restarts_observed) << story;
    EXPECT_EQ(r.restarts_observed, r.supervisor_restarts) << story;
    EXPECT_EQ(r.unrecovered, 0u) << story;
    EXPECT_FALSE(r.start_limit_hit) << story;
    EXPECT_GT(r.probes, 0u) << story;
    ASSERT_TRUE(r.downtime.has_value()) << story;
    EXPECT_GT(r.downtime->min, 0) << story;
    EXPECT_TRUE(verdict.as_promised) << verdict.reason << "\n" << story;
}

TEST(Soak, same_seed_same_crashes) {
    const auto first = soak(RestartValue::on_failure, 30).report;
    const auto second = soak(RestartValue::on_failure, 30).report;
    EXPECT_TRUE(first.errors.empty()) << render_soak(first, false);
    EXPECT_TRUE(second.errors.empty()) << render_soak(second, false);
    EXPECT_EQ(first.crashes, second.crashes);
    EXPECT_EQ(crash_schedule(first), crash_schedule(second))
        << "first run:\n"
        << render_soak(first, false) << "second run:\n"
        << render_soak(second, false);
}

TEST(Soak, no_stays_down_after_the_first_crash) {
    const auto [r, verdict] = soak(RestartValue::no, 60);
    const std::string story = render_soak(r, false);
    EXPECT_TRUE(r.errors.empty()) << story;
    EXPECT_EQ(r.crashes, 1u) << story;
    EXPECT_EQ(r.unrecovered, 1u) << story;
    EXPECT_EQ(r.restarts_observed, 0) << story;
    EXPECT_EQ(r.supervisor_restarts, 0) << story;
    ASSERT_EQ(r.crash_list.size(), 1u) << story;
    // The soak ends there: the crashing reload was the last one asked.
    EXPECT_EQ(r.reloads, r.crash_list.front().k + 1) << story;
    EXPECT_FALSE(r.ended_early.empty()) << story;
    EXPECT_EQ(r.final_state, "failed/failed") << story;
    EXPECT_TRUE(verdict.as_promised) << verdict.reason << "\n" << story;
}

} // namespace
