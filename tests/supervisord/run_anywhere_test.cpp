// soak, check and check --real on supervisord (Debian's supervisor package), through the
// Supervisor interface alone; skipped, visibly, when supervisord is not installed. Where
// supervisord cannot express something (Type=forking, a watchdog, a start limit) the cell is
// n/a with the driver's reason, never a pass or an error.
#include <gtest/gtest.h>

#include <unistd.h>

#include "../anywhere/run_anywhere.hpp"

using namespace crashloop;
using namespace run_anywhere;

namespace {

bool supervisord_installed() {
    for (const char* dir : {"/usr/bin", "/usr/local/bin", "/bin"})
        if (access((std::string(dir) + "/supervisord").c_str(), X_OK) == 0) return true;
    return false;
}

class OnSupervisord : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!supervisord_installed())
            GTEST_SKIP() << "supervisord not found; install Debian's supervisor package";
    }
};

// supervisord's reload is a signal with no job: each reload ends at the fixture's word, so two
// reloads never merge into one (20 asked must be 20 logged).
TEST_F(OnSupervisord, soak_every_crash_comes_back) {
    const Soaked s = soak("supervisord");
    expect_every_crash_came_back(s);
    EXPECT_EQ(s.report.supervisor, "supervisord") << s.story;
}

TEST_F(OnSupervisord, check_the_story) {
    const auto units = scenarios_dir() / "units";
    const auto report =
        check("supervisord", units / "httpd.service", {units / "httpd.service.d/override.conf"},
              "exit-0,sigabrt,kill-sigabrt,kill-sigterm,reload-sigabrt,crash-loop", false);
    for (const char* comes_back : {"sigabrt", "kill-sigabrt", "reload-sigabrt"}) {
        const auto& cell = cell_of(report, comes_back);
        EXPECT_EQ(cell.verdict, Verdict::pass) << told(cell);
        EXPECT_TRUE(cell.observed.restarted) << told(cell);
    }
    EXPECT_EQ(cell_of(report, "exit-0").verdict, Verdict::pass) << told(cell_of(report, "exit-0"));
    // scenarios/expectations/supervisord-4.toml: a signal death is never "expected".
    const auto& sigterm = cell_of(report, "kill-sigterm");
    EXPECT_EQ(sigterm.verdict, Verdict::known_deviation) << told(sigterm);
    const auto& loop = cell_of(report, "crash-loop");
    EXPECT_EQ(loop.verdict, Verdict::not_applicable) << told(loop);
    EXPECT_NE(loop.reason.find("supervisord"), std::string::npos) << told(loop);
    EXPECT_TRUE(report.ok());
}

// No reloads here: supervisord says RUNNING as soon as it has forked (startsecs=0, no readiness
// protocol), so a SIGUSR1 sent at once may reach a daemon that has not yet installed its handler.
TEST_F(OnSupervisord, check_real_a_simple_daemon) {
    TempDir dir;
    const auto unit = write_real_unit(dir.path());
    const auto report = check("supervisord", unit, {}, "kill-sigabrt,kill-sigterm,sigkill,stop",
                              /*real=*/true, /*reloads=*/0);
    expect_named(report, "supervisord");
    for (const char* cause : {"kill-sigabrt", "sigkill"}) {
        const auto& cell = cell_of(report, cause);
        EXPECT_EQ(cell.verdict, Verdict::pass) << told(cell);
        EXPECT_TRUE(cell.observed.restarted) << told(cell);
        EXPECT_EQ(cell.observed.restarts, cell.observed.supervisor_restarts) << told(cell);
    }
    const auto& stop = cell_of(report, "stop");
    EXPECT_EQ(stop.verdict, Verdict::pass) << told(stop);
    EXPECT_FALSE(stop.observed.restarted) << told(stop);
    const auto& sigterm = cell_of(report, "kill-sigterm");
    EXPECT_EQ(sigterm.verdict, Verdict::known_deviation) << told(sigterm);
    EXPECT_TRUE(report.ok());
}

TEST_F(OnSupervisord, check_real_a_forking_daemon_is_na) {
    TempDir dir;
    const auto unit = write_real_unit(dir.path(), "forking");
    const auto report = check("supervisord", unit, {}, "kill-sigabrt,kill-sigterm,stop",
                              /*real=*/true, /*reloads=*/3);
    ASSERT_EQ(report.matrix.cells.size(), 4u); // the three and the graceful reload
    for (const auto& cell : report.matrix.cells) {
        EXPECT_EQ(cell.verdict, Verdict::not_applicable) << told(cell);
        EXPECT_NE(cell.reason.find("Type=forking"), std::string::npos) << told(cell);
    }
    EXPECT_TRUE(report.ok());
}

} // namespace
