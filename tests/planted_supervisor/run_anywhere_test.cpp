// soak, check and check --real through `systemctl:PATH` on planted-systemctl: the same runs as on
// the built-in systemd, and the only verdict that differs is planted bug (a), a plain kill
// (SIGTERM) restarted under Restart=on-failure.
#include <gtest/gtest.h>

#include "../anywhere/run_anywhere.hpp"

using namespace crashloop;
using namespace run_anywhere;

namespace {

const std::string kPlanted = std::string("systemctl:") + PLANTED_SYSTEMCTL;

// A reload during which the daemon dies ends its reload job 'failed' (planted-systemctl exits 1,
// "Job for … failed"): the soak must count that as the seeded crash, not stop at a refusal. And
// NRestarts is read once planted-systemctl has recorded the latest restart.
TEST(PlantedSoak, every_crash_comes_back_and_failed_reloads_are_the_crashes) {
    const Soaked s = soak(kPlanted);
    expect_every_crash_came_back(s);
    EXPECT_EQ(s.report.supervisor, "planted-systemctl") << s.story;
}

TEST(PlantedCheck, the_story_flags_only_the_planted_plain_kill) {
    const auto units = scenarios_dir() / "units";
    const auto report =
        check(kPlanted, units / "httpd.service", {units / "httpd.service.d/override.conf"},
              "exit-0,sigabrt,kill-sigabrt,kill-sigterm,reload-sigabrt", false);
    for (const char* comes_back : {"sigabrt", "kill-sigabrt", "reload-sigabrt"}) {
        const auto& cell = cell_of(report, comes_back);
        EXPECT_EQ(cell.verdict, Verdict::pass) << told(cell);
        EXPECT_TRUE(cell.observed.restarted) << told(cell);
        EXPECT_EQ(cell.observed.restarts, cell.observed.supervisor_restarts) << told(cell);
    }
    EXPECT_EQ(cell_of(report, "exit-0").verdict, Verdict::pass) << told(cell_of(report, "exit-0"));
    const auto& planted = cell_of(report, "kill-sigterm");
    EXPECT_EQ(planted.verdict, Verdict::fail) << "planted bug (a) went unseen: " << told(planted);
    EXPECT_TRUE(planted.observed.restarted) << told(planted);
}

TEST(PlantedCheckReal, a_real_daemon_judged_by_pids_and_the_planted_kill_flagged) {
    TempDir dir;
    const auto unit = write_real_unit(dir.path());
    const auto report = check(kPlanted, unit, {}, "kill-sigabrt,kill-sigterm,sigkill,stop,exit-1",
                              /*real=*/true, /*reloads=*/3);
    expect_named(report, "planted-systemctl");
    for (const char* cause : {"kill-sigabrt", "sigkill"}) {
        const auto& cell = cell_of(report, cause);
        EXPECT_EQ(cell.verdict, Verdict::pass) << told(cell);
        EXPECT_TRUE(cell.observed.restarted) << told(cell);
    }
    const auto& stop = cell_of(report, "stop");
    EXPECT_EQ(stop.verdict, Verdict::pass) << told(stop);
    EXPECT_FALSE(stop.observed.restarted) << told(stop);
    const auto& planted = cell_of(report, "kill-sigterm");
    EXPECT_EQ(planted.verdict, Verdict::fail) << "planted bug (a) went unseen: " << told(planted);
    EXPECT_EQ(cell_of(report, "exit-1").verdict, Verdict::not_applicable)
        << told(cell_of(report, "exit-1"));
    const auto& reload = cell_of(report, graceful_reload_id);
    EXPECT_EQ(reload.verdict, Verdict::pass) << told(reload);
    EXPECT_FALSE(reload.observed.restarted) << told(reload);
}

} // namespace
