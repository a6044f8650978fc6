// `crashloop check --real` on Debian's real apache2: the operator's unit files
// (Debian's apache2.service, a drop-in pointing it at this test's own ServerRoot,
// config and port on 127.0.0.1, and the override Restart=on-failure) run through
// run_check with real=true on the built-in systemd. The real daemon is judged
// from the OS and systemd alone (main pids, pidfds, NRestarts): a kill -s SIGABRT
// brings a new main pid, a plain kill leaves it down, graceful reloads keep the
// main pid, and what needs the daemon's cooperation is n/a with its reason.
#include <gtest/gtest.h>
#include <spdlog/cfg/env.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>

#include "apache_site.hpp"
#include "check.hpp"
#include "private_systemd.hpp"
#include "real_check.hpp"
#include "registry.hpp"
#include "report.hpp"
#include "supervisor.hpp"

using namespace crashloop;
using namespace apache_site;

namespace {

// kill-sigabrt and kill-sigterm are the story's hand check; sigkill a table row sent
// from outside; the rest need the daemon's cooperation (n/a), stop is systemd's own.
constexpr const char* kCauses =
    "kill-sigabrt,kill-sigterm,sigkill,stop,exit-1,watchdog,reload-sigabrt";
constexpr unsigned kReloads = 5;

class CheckReal : public ::testing::Test {
  protected:
    // One private systemd and one run for the whole suite: cells run one at a time.
    static void SetUpTestSuite() {
        for (const char* needed : {kApache, kApachectl})
            if (!fs::exists(needed)) {
                missing_ = std::string(needed) +
                           " is missing: Debian's apache2 is not installed "
                           "(apt-get install apache2; scripts/test installs it as root)";
                return;
            }
        dir_ = new TempDir("apache", /*others_may_enter=*/true);
        site_ = new ApacheSite(dir_->path());
        const auto files = site_->write_units(dir_->path(), "on-failure");

        try {
            const auto scenarios = scenarios_dir();
            const RestartTable table = RestartTable::load(scenarios / "table.toml");
            const auto all_causes = load_exit_causes(scenarios / "causes.toml");
            auto supervisor = make_supervisor("systemd", {.argument = "",
                                                          .libexec = libexec_dir(),
                                                          .scenarios = scenarios,
                                                          .allow_host = false});
            const auto expectations =
                Expectations::for_supervisor(scenarios, supervisor->name(), supervisor->version());
            CheckOptions options;
            options.unit = files.unit;
            options.dropins = {files.site_dropin, files.override_dropin};
            options.causes = kCauses;
            options.real = true;
            options.reloads = kReloads;
            options.run.fixture = libexec_dir() / "fake-httpd";
            report_ =
                new CheckReport(run_check(*supervisor, table, expectations, all_causes, options));
        } catch (const std::exception& e) {
            failure_ = std::string("run_check --real threw: ") + e.what() + site_->error_log_tail();
            return;
        }
        // The manager goes with `supervisor`, and Apache with it; the site stays until the end.
        std::cerr << render_check(*report_, ReportFormat::table, false, true);
    }
    static void TearDownTestSuite() {
        delete report_;
        delete site_;
        delete dir_;
        report_ = nullptr;
        site_ = nullptr;
        dir_ = nullptr;
    }
    void SetUp() override {
        if (!missing_.empty()) GTEST_SKIP() << missing_;
        ASSERT_TRUE(failure_.empty()) << failure_;
        ASSERT_NE(report_, nullptr);
    }

    static const CellResult& cell(const std::string& cause) {
        const auto& cells = report_->matrix.cells;
        auto it = std::find_if(cells.begin(), cells.end(),
                               [&](const CellResult& c) { return c.cause == cause; });
        if (it == cells.end()) throw std::runtime_error("no cell for " + cause);
        return *it;
    }
    static std::string told(const CellResult& c) {
        return c.cause + ": " + std::string(to_string(c.verdict)) + " (" + c.reason +
               ") evidence: " + c.evidence + (site_ ? site_->error_log_tail() : "");
    }

    static inline std::string missing_, failure_;
    static inline TempDir* dir_ = nullptr;
    static inline ApacheSite* site_ = nullptr;
    static inline CheckReport* report_ = nullptr;
};

TEST_F(CheckReal, reads_the_operators_unit_and_says_it_ran_the_real_daemon) {
    EXPECT_EQ(report_->settings.restart, RestartValue::on_failure);
    EXPECT_EQ(report_->settings.type, "forking");
    EXPECT_NE(report_->title.find("--real"), std::string::npos) << report_->title;
    const auto& notes = report_->notes;
    EXPECT_TRUE(std::any_of(notes.begin(), notes.end(), [](const std::string& n) {
        return n.starts_with("the real daemon: /usr/sbin/apachectl start");
    })) << "no note naming the real daemon";
    EXPECT_TRUE(std::any_of(notes.begin(), notes.end(), [](const std::string& n) {
        return n.find("PrivateTmp=") != std::string::npos;
    })) << "PrivateTmp= is not carried and must be named";
}

// `kill -s SIGABRT <MainPID>`: Restart=on-failure brings a new, live main pid.
TEST_F(CheckReal, kill_sigabrt_restarts_with_a_new_main_pid) {
    const CellResult& c = cell("kill-sigabrt");
    EXPECT_EQ(c.verdict, Verdict::pass) << told(c);
    EXPECT_TRUE(c.expected_restarted) << told(c);
    EXPECT_TRUE(c.observed.restarted) << told(c);
    EXPECT_EQ(c.observed.restarts, 1) << told(c);
    EXPECT_EQ(c.observed.supervisor_restarts, 1) << told(c);
    ASSERT_EQ(c.observed.incarnations.size(), 2u) << told(c);
    EXPECT_NE(c.observed.incarnations[0].pid, c.observed.incarnations[1].pid) << told(c);
    EXPECT_EQ(c.observed.signal, SIGABRT) << told(c);
    EXPECT_EQ(c.observed.final_state, "active/running") << told(c);
    EXPECT_NE(c.evidence.find("sent from outside"), std::string::npos) << told(c);
}

// A plain `kill <MainPID>`: Apache shuts down cleanly, on-failure leaves it down.
TEST_F(CheckReal, kill_sigterm_stays_down_with_no_restart) {
    const CellResult& c = cell("kill-sigterm");
    EXPECT_EQ(c.verdict, Verdict::pass) << told(c);
    EXPECT_FALSE(c.expected_restarted) << told(c);
    EXPECT_FALSE(c.observed.restarted) << told(c);
    EXPECT_EQ(c.observed.restarts, 0) << told(c);
    EXPECT_EQ(c.observed.supervisor_restarts, 0) << told(c);
    EXPECT_EQ(c.observed.final_state, "inactive/dead") << told(c);
    EXPECT_EQ(c.observed.final_result, "success") << told(c);
}

TEST_F(CheckReal, sigkill_from_outside_restarts) {
    const CellResult& c = cell("sigkill");
    EXPECT_EQ(c.verdict, Verdict::pass) << told(c);
    EXPECT_TRUE(c.observed.restarted) << told(c);
    EXPECT_EQ(c.observed.signal, SIGKILL) << told(c);
}

TEST_F(CheckReal, systemds_own_stop_never_restarts) {
    const CellResult& c = cell("stop");
    EXPECT_EQ(c.verdict, Verdict::pass) << told(c);
    EXPECT_FALSE(c.observed.restarted) << told(c);
    EXPECT_EQ(c.observed.final_state, "inactive/dead") << told(c);
}

// logrotate's `apachectl graceful`, through ReloadUnit: every job done, the main pid kept.
TEST_F(CheckReal, graceful_reloads_keep_the_main_pid) {
    const CellResult& c = cell(graceful_reload_id);
    EXPECT_EQ(c.verdict, Verdict::pass) << told(c);
    EXPECT_FALSE(c.observed.restarted) << told(c);
    ASSERT_EQ(c.observed.incarnations.size(), 1u) << told(c);
    EXPECT_EQ(c.observed.final_state, "active/running") << told(c);
    EXPECT_NE(c.evidence.find("5 of 5 reloads done"), std::string::npos) << told(c);
    const int pid = c.observed.incarnations[0].pid;
    EXPECT_NE(c.evidence.find("main pid " + std::to_string(pid) + " before, " +
                              std::to_string(pid) + " after"),
              std::string::npos)
        << told(c);
}

// What a real daemon cannot be told to do is n/a, with the reason and the way out.
TEST_F(CheckReal, causes_needing_the_daemons_cooperation_are_not_applicable) {
    for (const char* id : {"exit-1", "watchdog", "reload-sigabrt"}) {
        const CellResult& c = cell(id);
        EXPECT_EQ(c.verdict, Verdict::not_applicable) << told(c);
        EXPECT_NE(c.reason.find("a real daemon cannot be told to"), std::string::npos) << told(c);
        EXPECT_NE(c.reason.find("run without --real to use the fake httpd"), std::string::npos)
            << told(c);
    }
    EXPECT_NE(cell("exit-1").reason.find("exit 1"), std::string::npos) << told(cell("exit-1"));
    EXPECT_TRUE(report_->ok()) << render_check(*report_, ReportFormat::table, false, true);
}

} // namespace

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    spdlog::cfg::load_env_levels(); // SPDLOG_LEVEL=systemd=trace shows every job and change
    return RUN_ALL_TESTS();
}
