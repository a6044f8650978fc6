// The story with the real thing: Debian's apache2 under the built-in systemd.
//
// The unit is Debian's apache2.service (scenarios/units/apache2.service: Type=forking,
// ExecStart=apachectl start, ExecStop=apachectl graceful-stop, ExecReload=apachectl graceful,
// KillMode=mixed) plus the operator's override Restart=on-failure, started as a transient
// service on a private systemd user manager. apachectl is Debian's own; APACHE_CONFDIR and
// APACHE_ENVVARS point it at a ServerRoot in a temp dir of this test (config, envvars, PidFile,
// runtime and lock dirs, error log, Listen 127.0.0.1:<free port>), so the host's /etc/apache2,
// /run/apache2 and any Apache it runs are never read or signalled.
//
// Every wait is on an event with a deadline: systemd's PropertiesChanged / JobRemoved signals
// followed by a property read (a barrier), pidfds, and HTTP requests with a timeout.
// The site (ServerRoot, config, port) is apache_site.hpp's, shared with check_real_test.cpp.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "apache_site.hpp"
#include "private_systemd.hpp"
#include "systemd_bus.hpp"

using namespace crashloop;
using namespace apache_site;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr auto kStepDeadline = 30s; // per awaited event; hitting one fails the test

// Probes the server back to back from its own thread until stopped; only counts.
class Prober {
  public:
    explicit Prober(uint16_t port) : port_(port), thread_([this] { run(); }) {}
    ~Prober() { stop(); }
    void stop() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        if (thread_.joinable()) thread_.join();
    }
    int probes() const { return probes_; }
    int failed() const { return failed_; }
    // "connect: Connection refused ×2, status 503 ×1"
    std::string failures() const {
        std::string text;
        for (const auto& [kind, count] : kinds_)
            text += (text.empty() ? "" : ", ") + kind + " ×" + std::to_string(count);
        return text.empty() ? "none" : text;
    }

  private:
    void run() {
        std::unique_lock lock(mutex_);
        while (!stopping_) {
            lock.unlock();
            HttpResult result = http_get(port_, 2000ms);
            lock.lock();
            ++probes_;
            if (result.status != 200) {
                ++failed_;
                ++kinds_[result.status ? "status " + std::to_string(result.status) : result.error];
            }
            // Pacing between probes, not synchronisation: stop() cuts it short.
            wake_.wait_for(lock, 5ms, [this] { return stopping_; });
        }
    }

    uint16_t port_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::atomic<int> probes_{0}, failed_{0};
    std::map<std::string, int> kinds_;
    std::thread thread_; // last: starts once everything above exists
};


std::string describe(const ServiceState& s) {
    return s.state() + " Result=" + s.result + " MainPID=" + std::to_string(s.main_pid) +
           " NRestarts=" + std::to_string(s.n_restarts) + " Job=" + std::to_string(s.job_id);
}

std::string signal_text(int sig) {
    const char* name = sigabbrev_np(sig);
    return name ? std::string("SIG") + name : std::to_string(sig);
}

// ---- the fixture: a private systemd running the test's Apache ---------------------------

class RealApache : public ::testing::Test {
  protected:
    void SetUp() override {
        for (const char* needed : {kApache, kApachectl})
            if (!fs::exists(needed))
                GTEST_SKIP() << needed << " is missing: Debian's apache2 is not installed "
                             << "(apt-get install apache2; scripts/test installs it as root)";
        dir_.emplace("apache", /*others_may_enter=*/true);
        site_.emplace(dir_->path());
        systemd_ = std::make_unique<PrivateSystemd>(
            PrivateSystemd::Options{libexec_dir() / "crashloop-sandbox"});
        bus_ = std::make_unique<SystemdBus>(systemd_->bus_address());
        bus_->watch(
            [this](const std::string& path, const ServiceState& live) {
                if (path != unit_path_) return;
                ++changes_;
                // systemd forgets how a main process ended once the next one runs.
                if (live.exec_main_code != 0 && live.exec_main_exit_us != last_end_us_) {
                    last_end_us_ = live.exec_main_exit_us;
                    ends_.push_back(live);
                }
            },
            [this](const std::string& job, const std::string&, const std::string& result) {
                jobs_removed_[job] = result;
            });
        // An anchor that refers to the unit keeps it loaded once it is inactive, with
        // its Result and NRestarts (a transient unit is garbage-collected otherwise).
        ServiceSpec anchor;
        anchor.name = "crashloop-apache2-anchor.service";
        anchor.description = "crashloop: keeps the Apache unit loaded";
        anchor.type = "simple";
        anchor.exec_start = {"/bin/sleep", "infinity"};
        anchor.after = {kUnit};
        ASSERT_EQ(run_job([&](SystemdBus::Done done) { bus_->start(anchor, std::move(done)); }),
                  "done");

        const auto started = Clock::now();
        const std::string result =
            run_job([&](SystemdBus::Done done) { bus_->start(site_->unit(), std::move(done)); });
        ASSERT_EQ(result, "done") << "apachectl start" << site_->error_log_tail();
        const ServiceState s = snapshot();
        ASSERT_EQ(s.state(), "active/running") << describe(s) << site_->error_log_tail();
        ASSERT_NE(s.main_pid, 0u) << describe(s);
        EXPECT_EQ(site_->pid_in_file(), static_cast<pid_t>(s.main_pid))
            << "Apache's PidFile and systemd's MainPID disagree";
        main_pid_ = s.main_pid;
        const HttpResult http = http_get(site_->port, 10s);
        ASSERT_EQ(http.status, 200) << http.error << site_->error_log_tail();
        std::cerr
            << "apache2 up under systemd " << bus_->version() << " in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count()
            << " ms: main pid " << main_pid_ << ", http://127.0.0.1:" << site_->port
            << "/ answers 200\n";
    }

    // Calls a method that queues a job and waits for the job's end; returns its result
    // ("done", "failed" …) or the method's error.
    std::string run_job(const std::function<void(SystemdBus::Done)>& call) {
        std::optional<std::string> error, job;
        call([&](const std::string& e, const std::string& j) {
            error = e;
            job = j;
        });
        const auto deadline = Clock::now() + kStepDeadline;
        for (;;) {
            if (error && !error->empty()) return "refused: " + *error;
            if (job) {
                auto it = jobs_removed_.find(*job);
                if (it != jobs_removed_.end()) return it->second;
            }
            if (Clock::now() >= deadline) return "no answer within the deadline";
            bus_->wait(deadline, -1);
        }
    }

    // A method with no job (KillUnit): waits for its reply.
    std::string call(const std::function<void(SystemdBus::Done)>& method) {
        std::optional<std::string> error;
        method([&](const std::string& e, const std::string&) { error = e; });
        const auto deadline = Clock::now() + kStepDeadline;
        while (!error && Clock::now() < deadline)
            bus_->wait(deadline, -1);
        return error.value_or("no reply within the deadline");
    }

    // The unit's properties as of now (the reply follows every change before it).
    ServiceState snapshot() {
        std::optional<ServiceState> result;
        std::string error;
        bus_->snapshot(unit_path_, [&](const std::string& e, const ServiceState& s) {
            error = e;
            result = s;
        });
        const auto deadline = Clock::now() + kStepDeadline;
        while (!result && Clock::now() < deadline)
            bus_->wait(deadline, -1);
        if (!result)
            throw std::runtime_error("no snapshot of " + unit_path_ + " within the deadline");
        if (!error.empty()) throw std::runtime_error("snapshot of " + unit_path_ + ": " + error);
        return *result;
    }

    // Waits until a snapshot satisfies `settled`: read, and if not yet, sleep on the
    // bus until the unit changes again. Returns the last snapshot either way.
    ServiceState wait_until(const std::function<bool(const ServiceState&)>& settled,
                            bool& reached) {
        const auto deadline = Clock::now() + kStepDeadline;
        for (;;) {
            const long seen = changes_;
            ServiceState s = snapshot();
            if (settled(s)) {
                reached = true;
                return s;
            }
            while (changes_ == seen && Clock::now() < deadline)
                bus_->wait(deadline, -1);
            if (changes_ == seen) {
                reached = false;
                return s;
            }
        }
    }

    // Waits for a process to end (pidfd readable).
    static bool ended(int pidfd, Clock::time_point deadline) {
        return wait_fd(pidfd, POLLIN, deadline);
    }

    // Members are destroyed in reverse: the bus, then the manager with everything under
    // it (Apache included), then the temp dir.
    std::optional<TempDir> dir_;
    std::optional<ApacheSite> site_;
    std::unique_ptr<PrivateSystemd> systemd_;
    std::unique_ptr<SystemdBus> bus_;
    const std::string unit_path_ = SystemdBus::unit_path(kUnit);
    long changes_ = 0;
    uint64_t last_end_us_ = 0;
    std::vector<ServiceState> ends_; // how each main process ended, as signals said
    std::map<std::string, std::string> jobs_removed_;
    uint32_t main_pid_ = 0;
};

// `kill -s SIGABRT <MainPID>`: the crash of the story. Restart=on-failure brings a new
// main pid that serves again.
TEST_F(RealApache, sigabrt_restarts_with_a_new_main_pid) {
    Fd old_main = pidfd_of(main_pid_);
    ASSERT_GE(old_main.get(), 0) << "pidfd_open " << main_pid_ << ": " << std::strerror(errno);
    const auto killed = Clock::now();
    ASSERT_EQ(call([&](SystemdBus::Done done) { bus_->kill(kUnit, SIGABRT, std::move(done)); }),
              "");
    ASSERT_TRUE(ended(old_main.get(), Clock::now() + kStepDeadline))
        << "main pid " << main_pid_ << " survived SIGABRT";

    bool reached = false;
    const ServiceState s = wait_until(
        [&](const ServiceState& now) {
            return now.state() == "active/running" && now.job_id == 0 && now.main_pid != 0 &&
                   now.main_pid != main_pid_;
        },
        reached);
    ASSERT_TRUE(reached) << "no new main pid: " << describe(s) << site_->error_log_tail();
    const auto restarted_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - killed).count();
    EXPECT_EQ(s.n_restarts, 1u) << describe(s);
    EXPECT_EQ(site_->pid_in_file(), static_cast<pid_t>(s.main_pid));
    // systemd saw the crash for what it was.
    ASSERT_FALSE(ends_.empty()) << "systemd never said how main pid " << main_pid_ << " ended";
    const ServiceState& end = ends_.front();
    EXPECT_NE(end.exec_main_code, CLD_EXITED) << "exit status " << end.exec_main_status;
    EXPECT_EQ(end.exec_main_status, SIGABRT) << signal_text(end.exec_main_status);
    EXPECT_TRUE(end.result == "signal" || end.result == "core-dump") << end.result;
    // The parent's own last word, as in the story's error log.
    EXPECT_EQ(site_->logged("AH00060"), 1)
        << "no \"AH00060: seg fault or similar nasty error detected in the parent process\""
        << site_->error_log_tail();

    const HttpResult http = http_get(site_->port, 10s);
    EXPECT_EQ(http.status, 200) << http.error << site_->error_log_tail();
    std::cerr << "SIGABRT: main pid " << main_pid_ << " → " << s.main_pid << ", systemd saw "
              << signal_text(end.exec_main_status) << " (Result=" << end.result
              << "), active/running " << restarted_ms
              << " ms after the kill, NRestarts=" << s.n_restarts << ", HTTP " << http.status
              << "; Apache logged AH00060 (\"seg fault or similar nasty error "
              << "detected in the parent process\")\n";
}

// A plain `kill <MainPID>` (SIGTERM): Apache shuts down cleanly; on-failure leaves it down.
TEST_F(RealApache, plain_kill_stays_down) {
    Fd old_main = pidfd_of(main_pid_);
    ASSERT_GE(old_main.get(), 0) << "pidfd_open " << main_pid_ << ": " << std::strerror(errno);
    ASSERT_EQ(call([&](SystemdBus::Done done) { bus_->kill(kUnit, SIGTERM, std::move(done)); }),
              "");
    ASSERT_TRUE(ended(old_main.get(), Clock::now() + kStepDeadline))
        << "main pid " << main_pid_ << " survived SIGTERM";

    // Settled: down, with no job queued (a restart would be a job, or auto-restart).
    bool reached = false;
    const ServiceState s = wait_until(
        [](const ServiceState& now) {
            return (now.active_state == "inactive" || now.active_state == "failed") &&
                   now.job_id == 0;
        },
        reached);
    ASSERT_TRUE(reached) << "never settled down: " << describe(s) << site_->error_log_tail();
    EXPECT_EQ(s.state(), "inactive/dead") << describe(s);
    EXPECT_EQ(s.n_restarts, 0u) << describe(s);
    EXPECT_EQ(s.result, "success") << describe(s);
    ASSERT_FALSE(ends_.empty()) << "systemd never said how main pid " << main_pid_ << " ended";
    const ServiceState& end = ends_.front();
    const bool clean = (end.exec_main_code == CLD_EXITED && end.exec_main_status == 0) ||
                       (end.exec_main_code != CLD_EXITED && end.exec_main_status == SIGTERM);
    EXPECT_TRUE(clean) << "code " << end.exec_main_code << " status " << end.exec_main_status;

    const HttpResult http = http_get(site_->port, 5s);
    EXPECT_EQ(http.status, 0) << "something still answers on port " << site_->port;
    std::cerr << "SIGTERM: main pid " << main_pid_ << " ended with "
              << (end.exec_main_code == CLD_EXITED
                      ? "exit code " + std::to_string(end.exec_main_status)
                      : signal_text(end.exec_main_status))
              << "; now " << describe(s) << "; HTTP: " << http.error << "\n";
}

// logrotate's nightly `apachectl graceful`, many times over, under HTTP probing.
TEST_F(RealApache, graceful_reload_loop_keeps_the_main_pid) {
    constexpr int kReloads = 20;
    Prober prober(site_->port);
    const auto begin = Clock::now();
    for (int i = 0; i < kReloads; ++i) {
        const std::string result =
            run_job([&](SystemdBus::Done done) { bus_->reload(kUnit, std::move(done)); });
        ASSERT_EQ(result, "done") << "reload " << i + 1 << site_->error_log_tail();
    }
    const auto reload_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begin).count();
    prober.stop();

    const ServiceState s = snapshot();
    EXPECT_EQ(s.state(), "active/running") << describe(s) << site_->error_log_tail();
    EXPECT_EQ(s.main_pid, main_pid_) << describe(s);
    EXPECT_EQ(s.n_restarts, 0u) << describe(s);
    EXPECT_TRUE(ends_.empty()) << "a main process ended: " << describe(ends_.front());
    const HttpResult http = http_get(site_->port, 10s);
    EXPECT_EQ(http.status, 200) << http.error << site_->error_log_tail();

    // The figure, not an assertion: what a client saw while Apache reloaded.
    std::ostringstream figure;
    figure << kReloads << " reloads (apachectl graceful via ReloadUnit) in " << reload_ms
           << " ms; Apache had logged " << site_->logged("AH00493")
           << " graceful restarts (SIGUSR1, AH00493) by then; HTTP probes: " << prober.probes()
           << ", failed " << prober.failed() << " (" << prober.failures() << "); main pid "
           << s.main_pid << ", NRestarts=" << s.n_restarts;
    std::cout << "apache graceful loop: " << figure.str() << std::endl;
    RecordProperty("reloads", kReloads);
    RecordProperty("probes", prober.probes());
    RecordProperty("probes_failed", prober.failed());
}

} // namespace

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
