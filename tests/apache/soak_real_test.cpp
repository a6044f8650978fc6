// `crashloop soak --real` on Debian's real apache2 (the operator's unit files, a drop-in for
// the test's own ServerRoot and loopback port) under the built-in systemd: graceful reloads
// under HTTP load with no crash at all, the story's crash injected into Apache's own SIGUSR1
// handler on the reloads a seed picks (recovered under Restart=on-failure, left down under
// Restart=no), a core and its backtrace, and bad input said before anything is left behind.
#include <gtest/gtest.h>
#include <spdlog/cfg/env.h>
#include <sys/socket.h>

#include <csignal>
#include <fstream>
#include <iostream>
#include <memory>

#include "apache_site.hpp"
#include "core_dumps.hpp"
#include "errors.hpp"
#include "expectations.hpp"
#include "private_systemd.hpp"
#include "registry.hpp"
#include "reload_chance.hpp"
#include "report.hpp"
#include "restart_table.hpp"
#include "soak.hpp"
#include "supervisor.hpp"

using namespace crashloop;
using namespace apache_site;

namespace {

class SoakReal : public ::testing::Test {
  protected:
    void SetUp() override {
        for (const char* needed : {kApache, kApachectl})
            if (!fs::exists(needed))
                GTEST_SKIP() << needed << " is missing: Debian's apache2 is not installed "
                                          "(apt-get install apache2; scripts/test installs it)";
        dir_ = std::make_unique<TempDir>("apache", /*others_may_enter=*/true);
        site_ = std::make_unique<ApacheSite>(dir_->path());
        supervisor_ = make_supervisor("systemd", {.argument = "",
                                                  .libexec = libexec_dir(),
                                                  .scenarios = scenarios_dir(),
                                                  .allow_host = false});
    }
    void TearDown() override {
        // The manager goes, and whatever it ran with it: Apache must be gone then.
        const auto pid = site_ ? site_->pid_in_file() : std::nullopt;
        supervisor_.reset();
        if (pid) EXPECT_NE(::kill(*pid, 0), 0) << "Apache (pid " << *pid << ") outlived the run";
    }

    SoakOptions options(const std::string& restart) {
        const auto files = site_->write_units(dir_->path(), restart);
        SoakOptions o;
        o.real = true;
        o.unit = files.unit;
        o.dropins = {files.site_dropin, files.override_dropin};
        o.url = "http://127.0.0.1:" + std::to_string(site_->port) + "/";
        o.clients = 4;
        o.interval = std::chrono::milliseconds(20);
        o.inject_library = libexec_dir() / "libcrashloop-inject.so";
        o.fixture = libexec_dir() / "fake-httpd";
        o.replay = "soak_real_test";
        return o;
    }

    SoakReport run(const SoakOptions& o) {
        SoakReport report = run_real_soak(*supervisor_, o);
        const auto scenarios = scenarios_dir();
        const RestartTable table = RestartTable::load(scenarios / "table.toml");
        const auto expectations =
            Expectations::for_supervisor(scenarios, supervisor_->name(), supervisor_->version());
        report.verdict = judge_soak(report, table, expectations);
        std::cerr << render_soak(report, false);
        return report;
    }

    std::string told(const SoakReport& r) const {
        return render_soak(r, false) + site_->error_log_tail();
    }

    std::unique_ptr<TempDir> dir_;
    std::unique_ptr<ApacheSite> site_;
    std::unique_ptr<Supervisor> supervisor_;
};

// The seed's crashing reloads among the first n (k counted from 0).
std::vector<uint64_t> predicted(uint64_t seed, double p, unsigned n) {
    std::vector<uint64_t> ks;
    for (uint64_t k = 0; k < n; ++k)
        if (reload_crashes(seed, k, p)) ks.push_back(k);
    return ks;
}

TEST_F(SoakReal, two_hundred_graceful_reloads_under_http_load_crash_nothing) {
    SoakOptions o = options("on-failure");
    o.reloads = 200;
    const SoakReport r = run(o);
    EXPECT_TRUE(r.errors.empty()) << told(r);
    EXPECT_EQ(r.reloads, 200u) << told(r);
    EXPECT_EQ(r.crashes, 0u) << told(r);
    EXPECT_EQ(r.restarts_observed, 0) << told(r);
    EXPECT_EQ(r.supervisor_restarts, 0) << told(r);
    EXPECT_GT(r.probes, 200u) << told(r);
    ASSERT_TRUE(r.verdict);
    EXPECT_TRUE(r.verdict->as_promised) << told(r);
    // The figure, for the record (README): requests refused or failed during the reloads.
    std::cerr << "graceful reloads under load: " << r.probes << " requests, " << r.probes_failed
              << " failed (" << r.probes_refused << " refused, " << r.probes_timed_out
              << " timed out, " << r.probes_bad << " bad), " << r.reloads_per_s << " reloads/s\n";
}

TEST_F(SoakReal, injected_crashes_land_on_the_seeds_reloads_and_come_back_under_on_failure) {
    SoakOptions o = options("on-failure");
    o.inject = true;
    o.crash_probability = 1.0 / 5;
    o.reloads = 12;
    // A seed whose schedule crashes twice or more in the 12 reloads, the first not at once.
    for (o.seed = 1; predicted(o.seed, o.crash_probability, o.reloads).size() < 2 ||
                     predicted(o.seed, o.crash_probability, o.reloads).front() == 0;
         ++o.seed) {
    }
    o.core_dirs = {site_->root}; // Apache's CoreDumpDirectory: its ServerRoot
    o.keep_cores = dir_->path() / "cores";
    const SoakReport r = run(o);
    const auto ks = predicted(o.seed, o.crash_probability, r.reloads_logged);
    EXPECT_TRUE(r.errors.empty()) << told(r);
    ASSERT_EQ(r.crash_list.size(), ks.size()) << told(r);
    for (size_t i = 0; i < ks.size(); ++i) {
        const SoakCrash& c = r.crash_list[i];
        EXPECT_EQ(c.k, ks[i]) << told(r);
        EXPECT_EQ(c.reload, ks[i] + 1) << "reload n is k + 1" << told(r);
        EXPECT_EQ(c.what, "die SIGABRT") << told(r);
        ASSERT_TRUE(c.outcome) << told(r);
        EXPECT_EQ(c.outcome->signal, SIGABRT) << told(r);
        EXPECT_NE(c.supervisor_saw.find("SIGABRT"), std::string::npos) << told(r);
        ASSERT_TRUE(c.downtime_ms) << "crash " << i << " never came back" << told(r);
        EXPECT_NE(c.next_pid, 0) << told(r);
        EXPECT_NE(c.next_pid, c.pid) << told(r);
        ASSERT_TRUE(c.since_reload_ms) << told(r);
        EXPECT_GE(*c.since_reload_ms, 0) << told(r);
        EXPECT_TRUE(c.http_downtime_ms) << told(r);
        // The story's own: the parent's SIGABRT leaves a core in its ServerRoot, where the
        // kernel writes cores to files (a core_pattern that pipes them is only named).
        if (read_core_pattern().piped) {
            EXPECT_NE(c.core_note.find("pipes cores"), std::string::npos) << told(r);
            continue;
        }
        ASSERT_FALSE(c.core.empty()) << c.core_note << told(r);
        EXPECT_TRUE(fs::exists(c.core)) << c.core;
        EXPECT_EQ(fs::path(c.core).parent_path(), *o.keep_cores) << c.core;
        if (!c.backtrace.empty()) EXPECT_TRUE(c.backtrace.front().starts_with("#0")) << told(r);
        else EXPECT_NE(c.core_note.find("gdb"), std::string::npos) << told(r);
    }
    EXPECT_EQ(r.restarts_observed, int(ks.size())) << told(r);
    EXPECT_EQ(r.supervisor_restarts, int(ks.size())) << told(r);
    ASSERT_TRUE(r.verdict);
    EXPECT_TRUE(r.verdict->as_promised) << told(r);
}

TEST_F(SoakReal, an_injected_crash_under_restart_no_stays_down_and_says_which) {
    SoakOptions o = options("no");
    o.inject = true;
    o.crash_probability = 1;
    o.reloads = 5;
    const SoakReport r = run(o);
    EXPECT_TRUE(r.errors.empty()) << told(r);
    ASSERT_EQ(r.crash_list.size(), 1u) << told(r);
    EXPECT_EQ(r.crash_list[0].reload, 1u) << told(r);
    EXPECT_FALSE(r.crash_list[0].downtime_ms) << told(r);
    EXPECT_EQ(r.unrecovered, 1u) << told(r);
    EXPECT_EQ(r.restarts_observed, 0) << told(r);
    ASSERT_TRUE(r.verdict);
    EXPECT_FALSE(r.verdict->as_promised) << told(r);
    EXPECT_NE(r.verdict->reason.find("reload 1"), std::string::npos) << r.verdict->reason;
    EXPECT_NE(r.verdict->reason.find("stayed down"), std::string::npos) << r.verdict->reason;
}

TEST_F(SoakReal, until_crash_stops_at_the_first_crash) {
    SoakOptions o = options("on-failure");
    o.inject = true;
    o.crash_probability = 1.0 / 3;
    o.reloads = 30;
    o.until_crash = true;
    o.seed = 7;
    const auto ks = predicted(o.seed, o.crash_probability, o.reloads);
    ASSERT_FALSE(ks.empty());
    const SoakReport r = run(o);
    EXPECT_TRUE(r.errors.empty()) << told(r);
    ASSERT_EQ(r.crash_list.size(), 1u) << told(r);
    EXPECT_EQ(r.crash_list[0].k, ks.front()) << told(r);
    EXPECT_EQ(r.reloads, ks.front() + 1) << told(r);
    EXPECT_NE(r.ended_early.find("--until-crash"), std::string::npos) << told(r);
}

TEST_F(SoakReal, debians_logrotate_configuration_rotates_the_logs_and_reloads_through_postrotate) {
    SoakOptions o = options("on-failure");
    o.logrotate = scenarios_dir() / "logrotate" / "apache2";
    o.log_dir = site_->root / "log";
    o.reloads = 3;
    const SoakReport r = run(o);
    EXPECT_TRUE(r.errors.empty()) << told(r);
    EXPECT_TRUE(r.warnings.empty()) << told(r);
    ASSERT_EQ(r.logrotate_runs.size(), 3u) << told(r);
    for (const auto& run : r.logrotate_runs) {
        EXPECT_EQ(run.exit_code, 0) << told(r);
        ASSERT_EQ(run.asked.size(), 1u) << told(r);
        EXPECT_EQ(run.asked.front(), "invoke-rc.d reload apache2: done") << told(r);
    }
    EXPECT_EQ(r.reloads, 3u) << told(r);
    EXPECT_EQ(r.crashes, 0u) << told(r);
    // Rotated for real, in the site's own folder: error.log.1, then compressed ones (delaycompress).
    EXPECT_TRUE(fs::exists(site_->root / "log" / "error.log.1")) << told(r);
    EXPECT_TRUE(fs::exists(site_->root / "log" / "error.log.2.gz")) << told(r);
    ASSERT_TRUE(r.verdict);
    EXPECT_TRUE(r.verdict->as_promised) << told(r);
}

TEST_F(SoakReal, a_rhel_postrotate_hides_the_failed_reload_once_the_daemon_is_down) {
    SoakOptions o = options("no");
    o.logrotate = scenarios_dir() / "logrotate" / "httpd";
    o.log_dir = site_->root / "log";
    o.reloads = 3;
    o.inject = true;
    o.crash_probability = 1;
    const SoakReport r = run(o);
    EXPECT_TRUE(r.errors.empty()) << told(r);
    ASSERT_EQ(r.crash_list.size(), 1u) << told(r);
    EXPECT_EQ(r.unrecovered, 1u) << told(r);
    // The run whose reload crashed it: the reload failed and `|| true` made logrotate say
    // nothing of it. Then a run with the daemon down: nothing to rotate (the daemon writes
    // nothing, notifempty), no script run, exit 0: nobody is told.
    ASSERT_EQ(r.logrotate_runs.size(), 2u) << told(r);
    const LogrotateRun& crashing = r.logrotate_runs[0];
    EXPECT_TRUE(crashing.daemon_up) << told(r);
    EXPECT_EQ(crashing.exit_code, 0) << told(r);
    ASSERT_EQ(crashing.asked.size(), 1u) << told(r);
    // `failed` when systemd saw the death before apachectl graceful ended, `done` when not:
    // either way the crash is the soak's, and logrotate said nothing.
    EXPECT_TRUE(crashing.asked[0] == "systemctl reload httpd.service: failed" ||
                crashing.asked[0] == "systemctl reload httpd.service: done")
        << told(r);
    const LogrotateRun& after = r.logrotate_runs[1];
    EXPECT_FALSE(after.daemon_up) << told(r);
    EXPECT_EQ(after.exit_code, 0) << told(r);
    EXPECT_TRUE(after.asked.empty()) << told(r);
    ASSERT_TRUE(r.verdict);
    EXPECT_FALSE(r.verdict->as_promised) << told(r);
}

TEST_F(SoakReal, an_unbalanced_logrotate_configuration_is_bad_input_with_its_line) {
    SoakOptions o = options("on-failure");
    const auto broken = dir_->path() / "broken.logrotate";
    std::ofstream(broken) << "/var/log/x/*.log {\n    daily\n    postrotate\n        true\n}\n";
    o.logrotate = broken;
    o.log_dir = site_->root / "log";
    try {
        run_real_soak(*supervisor_, o);
        FAIL() << "no InputError";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("broken.logrotate:3"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("endscript"), std::string::npos) << e.what();
    }
}

TEST_F(SoakReal, a_daemon_that_cannot_start_is_bad_input) {
    SoakOptions o = options("on-failure");
    // A typo in the operator's config: apachectl's config test refuses it.
    std::ofstream(site_->root / "apache2.conf", std::ios::app) << "NoSuchDirective on\n";
    try {
        run_real_soak(*supervisor_, o);
        FAIL() << "no InputError";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("did not start"), std::string::npos) << e.what();
    }
}

TEST_F(SoakReal, a_port_already_taken_is_bad_input) {
    SoakOptions o = options("on-failure");
    Fd holder(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(site_->port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(holder.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(listen(holder.get(), 1), 0);
    try {
        run_real_soak(*supervisor_, o);
        FAIL() << "no InputError";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("is taken"), std::string::npos) << e.what();
    }
}

} // namespace

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    spdlog::cfg::load_env_levels();
    return RUN_ALL_TESTS();
}
