#include "soak.hpp"
#include "log.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <thread>

// The fixture's own header (CMake target reload_chance, header only): the harness predicts the
// crash schedule with the very function the fixture draws it with.
#include "errors.hpp"
#include "event_log.hpp"
#include "http_load.hpp"
#include "judge.hpp"
#include "exit_cause.hpp"
#include "expectations.hpp"
#include "reload_chance.hpp"
#include "runner.hpp"
#include "service_settings.hpp"
#include "service_spec.hpp"
#include "session.hpp"
#include "subject.hpp"
#include "supervisor.hpp"
#include "unit_file.hpp"

namespace crashloop {

namespace {

using std::chrono::milliseconds;

// How long a crash may take to come back on top of RestartSec= before it counts as unrecovered.
constexpr milliseconds kRecoveryGrace{5000};
// A hung reload must time out in seconds, not after the unit's TimeoutStartSec= (90 s by
// default): systemd 252 arms the reload timer with TimeoutStartSec= (service_enter_reload()).
constexpr std::chrono::seconds kHangReloadTimeout{2};

std::shared_ptr<spdlog::logger> logger() { return crashloop::logger("harness"); }

double ms_between(long long from_ns, long long to_ns) {
    return double(to_ns - from_ns) / 1e6;
}


// A loopback port nobody holds right now: bind port 0, read it back, let it go.
uint16_t free_port() {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw SupervisorError(std::string("socket: ") + std::strerror(errno));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) < 0) {
        int error = errno;
        close(fd);
        throw SupervisorError(std::string("finding a free loopback port: ") + std::strerror(error));
    }
    close(fd);
    return ntohs(address.sin_port);
}

// ---- The soak -----------------------------------------------------------------------------

struct IncarnationSeen {
    int pid = 0;
    std::optional<long long> ready_ns;
    bool ended = false;                // logged exit or die
    std::optional<uint64_t> reloading; // k of a reload begun and not done
};

class Soak {
  public:
    Soak(Supervisor& supervisor, const SoakOptions& options)
        : supervisor_(supervisor), session_(supervisor, options.interrupt_fd), options_(options),
          who_(supervisor.name()), unit_(supervisor.service_prefix() + "soak.service"),
          log_inside_((supervisor.events_dir() / "soak.log").string()),
          pidfile_inside_((supervisor.events_dir() / "soak.pid").string()),
          tail_(supervisor.from_host(log_inside_)), watch_(session_.follow(unit_)) {
        watch_.on_change = [this](const ServiceState& live) { on_unit_changed(live); };
        watch_.on_job_done = [this](const std::string& job, const std::string& result) {
            on_job_removed(job, result);
        };
    }

    SoakReport run() {
        ServiceSpec service = service_for(); // InputError before anything runs
        // A fresh log: reload k and the incarnations are counted from it, so a soak run before on
        // the same manager would shift the schedule.
        std::error_code ignored;
        std::filesystem::remove(supervisor_.from_host(log_inside_), ignored);
        report_.supervisor = who_;
        report_.supervisor_version = supervisor_.version();
        supervisor_.reserve({unit_});
        if (auto missing = supervisor_.cannot_express(service, workload_cause())) {
            report_.not_applicable = *missing;
            return report_;
        }
        start(service);
        if (report_.errors.empty()) soak();
        finish();
        return report_;
    }

  private:
    Supervisor& supervisor_;
    Session session_;
    const SoakOptions& options_;
    const std::string who_; // the supervisor's name, for every message
    const std::string unit_, log_inside_, pidfile_inside_;
    EventLogTail tail_;
    ServiceWatch& watch_; // the supervisor's word on the unit: its state, jobs, refused restarts
    SoakReport report_;
    ServiceSpec service_;
    std::optional<milliseconds> window_; // the supervisor's restart window, if it has one
    bool supervisor_reports_restarts_ = true;
    uint16_t port_ = 0;
    std::optional<HttpLoad> load_;

    bool snapshot_pending_ = false, snapshot_dirty_ = false;
    std::string settled_;          // a property read found the service down (or hung) for good: how
    bool snapshot_wanted_ = false; // something changed since the last read
    bool stopping_ = false;        // the soak is over and the supervisor was asked to stop the unit

    std::map<int, IncarnationSeen> incarnations_;
    int latest_ = 0;
    std::vector<uint64_t> ks_logged_;
    std::vector<size_t> open_crashes_; // indices into report_.crash_list
    Clock::time_point recovery_deadline_;

    bool reload_in_flight_ = false;
    std::string reload_job_;
    Clock::time_point reload_deadline_;
    std::map<std::string, unsigned> reload_results_;
    bool reload_by_signal_ = false;   // the reload in flight was a signal, with no job to end
    std::set<uint64_t> reloads_over_; // every k the fixture logged the end of (done or crashed)
    static constexpr const char* kSignalSent = "signal sent, no job";

    // ---- the service ----

    // The soak's workload as the exit cause a driver judges what it can express by: a crash
    // (or a hang) during a graceful reload.
    ExitCause workload_cause() const {
        ExitCause cause;
        cause.id = options_.fault == "hang" ? "reload-timeout" : "reload-" + options_.fault;
        cause.group = "story";
        cause.summary = "a graceful reload that " + std::string(options_.fault == "hang" ? "hangs" : "crashes");
        cause.trigger = Trigger::reload;
        if (options_.fault == "hang") {
            cause.outcome.kind = Outcome::Kind::timeout;
        } else {
            cause.outcome.kind = Outcome::Kind::killed;
            cause.outcome.signal = options_.fault == "sigsegv" ? SIGSEGV : SIGABRT;
        }
        return cause;
    }

    // The unit's settings (service_spec_of) or the soak's own, the fake httpd in place of
    // the commands; each value set in place of the unit's goes to the report's notes.
    ServiceSpec service_for() {
        ServiceSpec s;
        s.type = "notify";
        s.restart = options_.restart;
        if (options_.fault != "sigabrt" && options_.fault != "sigsegv" && options_.fault != "hang")
            throw InputError("--fault", 0,
                             "unknown fault '" + options_.fault +
                                 "'; expected sigabrt, sigsegv or hang");
        report_.seed = options_.seed;
        report_.fault = options_.fault;
        report_.crash_probability = options_.crash_probability;
        report_.workers = options_.workers;
        report_.reloads_planned = options_.reloads;
        report_.replay = options_.replay;
        report_.start_limit_kept = options_.keep_start_limit;

        std::optional<ServiceSettings> unit;
        if (options_.unit) {
            const UnitFile file = UnitFile::load(*options_.unit, options_.dropins);
            report_.warnings = file.warnings();
            unit = service_settings(file);
            report_.unit = options_.unit->filename().string();
            for (const auto& dropin : options_.dropins)
                report_.unit += " + " + dropin.filename().string();
            check_soakable(*unit, options_.unit->string());
            s = service_spec_of(*unit);
        }
        s.name = unit_;
        report_.restart = s.restart;
        report_.rules = s.rules;

        const std::string action = options_.fault == "hang"      ? "hang"
                                   : options_.fault == "sigsegv" ? "die:SIGSEGV"
                                                                 : "die:SIGABRT";
        // One part: every incarnation carries the schedule on, reload k counted over all of them.
        std::string plan =
            fmt::format("ready,on-reload:chance:{}:{}:{},serve",
                        exact_decimal(options_.crash_probability), options_.seed, action);
        port_ = free_port();
        FakeHttpd fake;
        fake.program = options_.fixture;
        fake.plan = plan;
        fake.events = log_inside_;
        fake.pidfile = pidfile_inside_;
        fake.name = "soak";
        fake.extra_args = {"--port", std::to_string(port_), "--workers",
                           std::to_string(options_.workers)};
        fake.dies_with_parent = !supervisor_.parent_may_exit();
        play_with_fake_httpd(s, fake);
        s.description = "crashloop soak: " + report_.unit + ", reload crash " +
                        probability_text(options_.crash_probability) + " (" + action + ")";

        if (options_.keep_start_limit) {
            const bool own = s.start_limit_interval || s.start_limit_burst;
            report_.start_limit =
                fmt::format("kept: StartLimitBurst={} in {} ({})", s.start_limit_burst.value_or(5),
                            span_in_words(s.start_limit_interval.value_or(std::chrono::seconds(10))),
                            own ? "the unit's" : "systemd's default");
        } else {
            // A soak packs crashes that would be days apart in production into seconds: the
            // rate limit would judge the packing, not the service.
            s.start_limit_interval = std::chrono::microseconds(0);
            report_.start_limit = "off (crashes that would be days apart in production)";
        }
        if (options_.fault == "hang")
            overridden(s, "TimeoutStartSec", &ServiceSpec::timeout_start, kHangReloadTimeout,
                       "systemd times a reload out after it, and a hung reload should do so in "
                       "seconds");
        // The soak waits for every start, reload and stop as long as systemd would: never
        // forever.
        if (s.timeout_start == infinite_time)
            overridden(s, "TimeoutStartSec", &ServiceSpec::timeout_start, default_timeout_start,
                       "so that a start or reload that hangs is seen to");
        if (s.timeout_stop == infinite_time)
            overridden(s, "TimeoutStopSec", &ServiceSpec::timeout_stop, default_timeout_stop,
                       "so that a stop that hangs is seen to");
        report_.notes.insert(report_.notes.end(), s.overrides.begin(), s.overrides.end());
        report_.notes.push_back(fmt::format(
            "the fake httpd serves 127.0.0.1:{} with {} prefork worker(s); ExecReload= is "
            "`fake-httpd -k graceful`{}",
            port_, options_.workers,
            unit && unit->has_exec_stop ? ", ExecStop= `fake-httpd -k graceful-stop`" : ""));
        service_ = s;
        window_ = supervisor_.restart_window(s);
        return s;
    }

    void start(const ServiceSpec& service) {
        auto refused = std::make_shared<std::optional<std::string>>();
        supervisor_.start(service, session_.guarded([this, refused](const std::string& error, const std::string& job) {
            if (!error.empty())
                *refused = error;
            else
                watch_.our_jobs.insert(job);
        }));
        const auto deadline = Clock::now() + service.timeout_start + kRecoveryGrace;
        wait_until([&] { return refused->has_value() || up(); }, deadline);
        if (*refused) throw SupervisorError("starting " + unit_ + " on " + who_ + ": " + **refused);
        if (!up())
            report_.errors.push_back(fmt::format(
                "the service did not come up within {} ms: {} says {}, the fixture logged {}",
                std::chrono::duration_cast<milliseconds>(service.timeout_start + kRecoveryGrace)
                    .count(),
                who_,
                watch_.live.state(), latest_ ? "incarnation " + std::to_string(latest_) : "nothing"));
    }

    // ---- the loop ----

    void soak() {
        load_.emplace(HttpTarget{.port = port_}, 1, false);
        const auto begin = Clock::now();
        auto next_reload = begin;
        std::optional<Clock::time_point> stalled_since;
        const auto stall_limit = service_.restart_sec + service_.timeout_start + kRecoveryGrace;
        while (report_.ended_early.empty() && (report_.reloads < options_.reloads ||
                                               reload_in_flight_ || !open_crashes_.empty())) {
            const auto now = Clock::now();
            const bool more = report_.reloads < options_.reloads;
            const bool ready = more && !reload_in_flight_ && open_crashes_.empty() && up();
            if (ready && now >= next_reload) {
                ask_reload();
                next_reload = now + options_.interval;
                stalled_since.reset();
                continue;
            }
            // Every wait has a deadline: the interval's tick, the reload's, the crash's recovery,
            // or, when nothing is in flight and the service is not up, the stall limit.
            auto wake = now + std::chrono::seconds(1);
            if (ready) wake = std::min(wake, next_reload);
            if (reload_in_flight_) wake = std::min(wake, reload_deadline_);
            if (!open_crashes_.empty()) wake = std::min(wake, recovery_deadline_);
            // The end of a restart window: the read that may settle the crash is due then.
            if (auto end = window_end_ns(); end && *end > monotonic_ns()) {
                wake = std::min(wake, now + std::chrono::nanoseconds(*end - monotonic_ns()));
                snapshot_wanted_ = true;
            }
            if (!ready && !reload_in_flight_ && open_crashes_.empty()) {
                if (!stalled_since) stalled_since = now;
                wake = std::min(wake, *stalled_since + stall_limit);
            } else {
                stalled_since.reset();
            }
            session_.wait(wake);
            read_log();
            settle_check();
            if (!settled_.empty()) {
                if (!open_crashes_.empty() && window_over()) settle_unrecovered(settled_);
                settled_.clear();
            }
            check_deadlines(stalled_since, stall_limit);
        }
        report_.wall = std::chrono::duration_cast<milliseconds>(Clock::now() - begin);
        const double seconds = std::max(1e-3, double(report_.wall.count()) / 1000);
        report_.reloads_per_s = double(report_.reloads) / seconds;
        load_->stop();
    }

    bool up() const {
        auto it = incarnations_.find(latest_);
        if (it == incarnations_.end()) return false;
        const IncarnationSeen& latest = it->second;
        return latest.ready_ns && !latest.ended && watch_.live.active_state == "active" &&
               watch_.live.sub_state == "running" && watch_.live.main_pid == uint32_t(latest.pid);
    }

    void ask_reload() {
        ++report_.reloads;
        reload_in_flight_ = true;
        reload_job_.clear();
        reload_deadline_ = Clock::now() + service_.timeout_start + kRecoveryGrace;
        const unsigned number = report_.reloads;
        supervisor_.reload(unit_, session_.guarded([this, number](const std::string& error, const std::string& job) {
            if (!error.empty()) {
                report_.errors.push_back(
                    fmt::format("{} refused reload {}: {}", who_, number, error));
                report_.ended_early = who_ + " refused a reload";
                reload_in_flight_ = false;
                return;
            }
            // No job: the supervisor's call was only a signal sent (supervisord has no reload
            // operation). The reload is over when the fixture logs its end, or its crash: asking
            // the next one sooner would merge two pending SIGUSR1s into one reload.
            if (job.empty()) {
                reload_by_signal_ = true;
                read_log();
                return signalled_reload_check();
            }
            reload_job_ = job;
            watch_.our_jobs.insert(job);
            // JobRemoved may have come with the reply.
            if (auto it = watch_.jobs_done.find(job); it != watch_.jobs_done.end()) reload_finished(it->second);
        }));
        if (options_.progress) options_.progress(report_.reloads, options_.reloads);
    }

    void reload_finished(const std::string& result) {
        reload_in_flight_ = false;
        reload_by_signal_ = false;
        reload_job_.clear();
        ++reload_results_[result];
        if (result != "done" && result != kSignalSent) explain_failed_reload(result);
    }

    void signalled_reload_check() {
        if (reload_in_flight_ && reload_by_signal_ && reloads_over_.contains(report_.reloads - 1))
            reload_finished(kSignalSent);
    }

    // A reload job that did not end "done" is the supervisor's word that the reload went wrong:
    // true whenever the fixture died (or hung) during it, which is the workload, not a refusal.
    // The fixture logs its end before it dies, so the line is in the log by the time any
    // supervisor can have seen the death. A failed reload with no crash logged during it is
    // something else the soak cannot account for: an error, never a silent pass.
    void explain_failed_reload(const std::string& result) {
        read_log();
        const uint64_t k = report_.reloads - 1; // reloads are logged from k=0
        const bool crashed = std::any_of(report_.crash_list.begin(), report_.crash_list.end(),
                                         [k](const SoakCrash& crash) { return crash.k == k; });
        if (crashed) return;
        report_.errors.push_back(
            fmt::format("{}'s reload {} ended '{}' with no crash logged during it", who_,
                        report_.reloads, result));
        report_.ended_early = "a reload failed with no crash to explain it";
    }

    // The engine's wait, with the fixture's log read at each wake.
    template <typename Done> bool wait_until(Done done, Clock::time_point deadline) {
        read_log();
        while (!done()) {
            if (!session_.wait(deadline)) return done();
            read_log();
        }
        return true;
    }

    void check_deadlines(const std::optional<Clock::time_point>& stalled_since,
                         std::chrono::microseconds stall_limit) {
        const auto now = Clock::now();
        if (!open_crashes_.empty() && now >= recovery_deadline_) {
            const SoakCrash& crash = report_.crash_list[open_crashes_.front()];
            report_.errors.push_back(fmt::format(
                "the crash at reload k={} ({}, pid {}) was not followed by a `ready` within {} ms: "
                "{} says {}, Result={}",
                crash.k, crash.what, crash.pid,
                std::chrono::duration_cast<milliseconds>(recovery_budget(crash)).count(), who_,
                watch_.live.state(), watch_.live.result));
            settle_unrecovered("no recovery in time");
            return;
        }
        if (reload_in_flight_ && now >= reload_deadline_) {
            report_.errors.push_back(fmt::format(
                "reload {} did not finish within {} ms: {} says {}", report_.reloads,
                std::chrono::duration_cast<milliseconds>(service_.timeout_start + kRecoveryGrace)
                    .count(),
                who_,
                watch_.live.state()));
            report_.ended_early = "a reload did not finish";
            return;
        }
        if (stalled_since && now >= *stalled_since + stall_limit) {
            report_.errors.push_back(fmt::format(
                "the service was not up for {} ms with no crash to recover from: {} says {}, "
                "the fixture's latest incarnation is {}",
                std::chrono::duration_cast<milliseconds>(stall_limit).count(), who_, watch_.live.state(),
                latest_));
            report_.ended_early = "the service was neither up nor recovering";
        }
    }

    std::chrono::microseconds recovery_budget(const SoakCrash& crash) const {
        auto budget = service_.restart_sec + kRecoveryGrace;
        if (crash.what == "reload-hang") budget += service_.timeout_start;
        if (window_) budget += *window_; // a restart may come that late, unannounced
        return budget;
    }

    // ---- the fixture's log ----

    void read_log() {
        for (const FixtureEvent& e : tail_.read_new())
            on_event(e);
    }

    void on_event(const FixtureEvent& e) {
        logger()->trace("fixture: {} {} {} {} {}", e.incarnation, e.pid, e.time_ns, e.event,
                        e.detail);
        IncarnationSeen& seen = incarnations_[e.incarnation];
        if (e.event == "start") {
            seen.pid = e.pid;
            latest_ = std::max(latest_, e.incarnation);
        } else if (e.event == "ready") {
            if (!seen.ready_ns) seen.ready_ns = e.time_ns;
            recovered_by(e);
        } else if (e.event == "reload-begin") {
            ++report_.reloads_logged;
            uint64_t k = 0;
            const std::string& d = e.detail;
            if (!d.starts_with("k=") ||
                std::from_chars(d.data() + 2, d.data() + d.size(), k).ec != std::errc()) {
                report_.errors.push_back(fmt::format(
                    "incarnation {} logged a reload without its k: '{}'", e.incarnation, d));
                return;
            }
            seen.reloading = k;
            ks_logged_.push_back(k);
        } else if (e.event == "reload-done") {
            if (seen.reloading) reloads_over_.insert(*seen.reloading);
            seen.reloading.reset();
            signalled_reload_check();
        } else if (stopping_) {
            return;
        } else if (e.event == "die" || e.event == "exit" || e.event == "reload-hang") {
            if (e.event != "reload-hang") seen.ended = true;
            crashed(e, seen);
        }
    }

    void crashed(const FixtureEvent& e, IncarnationSeen& seen) {
        SoakCrash crash;
        crash.incarnation = e.incarnation;
        crash.pid = e.pid;
        crash.what = e.detail.empty() ? e.event : e.event + " " + e.detail;
        crash.at_ns = e.time_ns;
        if (!seen.reloading || e.event == "exit") {
            // Not the seeded crash: the fixture gave up (a port it could not bind …) or died
            // unasked. It still has to come back, but it is no crash of the schedule.
            report_.errors.push_back(
                fmt::format("incarnation {} (pid {}) ended outside a reload: {}", e.incarnation,
                            e.pid, crash.what));
            if (!seen.reloading) crash.k = UINT64_MAX;
        }
        if (seen.reloading) {
            crash.k = *seen.reloading;
            reloads_over_.insert(crash.k);
        }
        seen.reloading.reset();
        if (crash.k != UINT64_MAX && e.event != "exit") ++report_.crashes;
        logger()->debug("soak: reload k={} → {} (incarnation {}, pid {})", crash.k, crash.what,
                        crash.incarnation, crash.pid);
        report_.crash_list.push_back(crash);
        if (open_crashes_.empty()) recovery_deadline_ = Clock::now() + recovery_budget(crash);
        open_crashes_.push_back(report_.crash_list.size() - 1);
        snapshot_wanted_ = true;
        signalled_reload_check();
    }

    // A later incarnation's `ready` ends the downtime of every crash before it.
    void recovered_by(const FixtureEvent& ready) {
        std::vector<size_t> still_open;
        for (size_t index : open_crashes_) {
            SoakCrash& crash = report_.crash_list[index];
            if (crash.incarnation < ready.incarnation) {
                crash.downtime_ms = ms_between(crash.at_ns, ready.time_ns);
                crash.next_pid = ready.pid;
            } else {
                still_open.push_back(index);
            }
        }
        open_crashes_ = still_open;
        if (!open_crashes_.empty())
            recovery_deadline_ =
                Clock::now() + recovery_budget(report_.crash_list[open_crashes_.front()]);
    }

    void settle_unrecovered(const std::string& why) {
        for (size_t index : open_crashes_) {
            ++report_.unrecovered;
            const SoakCrash& crash = report_.crash_list[index];
            if (report_.ended_early.empty())
                report_.ended_early =
                    fmt::format("the crash at reload k={} ({}) left the service {} "
                                "({}, Result={})",
                                crash.k, crash.what, why, watch_.live.state(), watch_.live.result);
        }
        open_crashes_.clear();
    }

    // ---- the supervisor ----

    void on_unit_changed(const ServiceState&) { snapshot_wanted_ = true; }

    void on_job_removed(const std::string& job, const std::string& result) {
        if (!reload_job_.empty() && job == reload_job_) reload_finished(result);
        snapshot_wanted_ = true;
    }

    // Only while a crash is open does the soak need a property read (a barrier: the reply reflects
    // every change systemd made before it) to tell "down for good" from "about to restart"; a
    // healthy reload needs none, and a read per reload would only load the manager.
    void settle_check() {
        if (!snapshot_wanted_ || open_crashes_.empty() || reload_in_flight_ ||
            !maybe_settled(watch_.live) || !window_over())
            return;
        snapshot_wanted_ = false;
        snapshot();
    }

    // A supervisor that shows no pending restart (Supervisor::restart_window) may still restart
    // the service until its window has passed since the crash: only a read after it settles.
    std::optional<long long> window_end_ns() const {
        if (!window_ || open_crashes_.empty()) return std::nullopt;
        return report_.crash_list[open_crashes_.back()].at_ns +
               std::chrono::nanoseconds(*window_).count();
    }
    bool window_over() const {
        auto end = window_end_ns();
        return !end || monotonic_ns() >= *end;
    }

    // Could the service be down for good (or hung) after the open crashes? A property read decides.
    bool maybe_settled(const ServiceState& s) const {
        if (s.active_state == "failed" || s.active_state == "inactive" || s.collected) return true;
        // --fault hang: systemd kills the hung ExecReload= and keeps the hung main process. (Only
        // then: after a `die`, systemd may reap the reload process before the dead main one and
        // say "running" for a moment.)
        const SoakCrash& crash = report_.crash_list[open_crashes_.front()];
        return crash.what == "reload-hang" && s.active_state == "active" &&
               s.sub_state == "running" && s.main_pid == uint32_t(crash.pid);
    }

    void snapshot() {
        if (snapshot_pending_) {
            snapshot_dirty_ = true;
            return;
        }
        snapshot_pending_ = true;
        supervisor_.state(unit_, session_.guarded([this](const std::string& error, const ServiceState& s) {
            snapshot_pending_ = false;
            if (!error.empty()) {
                report_.errors.push_back("reading the unit's state: " + error);
                report_.ended_early = who_ + "'s state could not be read";
                return;
            }
            watch_.saw(s);
            // Settled: no job queued (a restart job or the reload's), and the reply comes after
            // every change systemd made before it. The loop settles it, after reading the log (not
            // from inside sd-bus's dispatch).
            if (!open_crashes_.empty() && !reload_in_flight_ && s.job_id == 0 && maybe_settled(s))
                settled_ = s.active_state == "active" ? "hung, not restarted" : "down";
            if (snapshot_dirty_) {
                snapshot_dirty_ = false;
                snapshot();
            }
        }));
    }

    // ---- the end ----

    void finish() {
        if (load_) take_http_counts(report_, *load_);
        // NRestarts before the stop: a stopped transient unit is collected with it.
        try {
            if (auto last = read_final_state()) {
                report_.supervisor_restarts = int(last->n_restarts);
                supervisor_reports_restarts_ = last->reports_restarts;
                report_.final_state = last->state();
                report_.final_result = last->result;
            } else {
                report_.errors.push_back(who_ + " did not answer a state read within 5 s");
            }
        } catch (const SupervisorError& e) {
            report_.errors.push_back(std::string("reading NRestarts: ") + e.what());
        }

        // Whatever the fixture logs from here on is our own stop (a graceful stop on SIGWINCH, an
        // exit 0): no crash, whatever Restart= says.
        read_log();
        stopping_ = true;
        stop_and_wait();
        read_log();
        account();
    }

    // The supervisor's last word before our stop, once it has caught up with the fixture's log: a
    // polling supervisor (supervisord, a systemctl reimplementation) counts a restart when it
    // records the new main process, a moment after that process may have logged its start. So
    // reads repeat, woken by changes, until the state names the latest incarnation's pid (or shows
    // it down with nothing pending when it ended), within kRecoveryGrace; after that the last read
    // stands and any disagreement is reported by account().
    std::optional<ServiceState> read_final_state() {
        const auto deadline = Clock::now() + kRecoveryGrace;
        std::optional<ServiceState> last;
        for (;;) {
            const long seen = watch_.changes;
            auto now = session_.read(unit_, deadline);
            if (!now) return last;
            last = now;
            read_log();
            if (caught_up(*last)) return last;
            if (!wait_until([&] { return watch_.changes != seen; }, deadline)) return last;
        }
    }

    bool caught_up(const ServiceState& s) const {
        auto it = incarnations_.find(latest_);
        if (it == incarnations_.end()) return true; // nothing logged: nothing to wait for
        if (!it->second.ended) return s.main_pid == uint32_t(it->second.pid);
        return s.job_id == 0 &&
               (s.collected || s.active_state == "inactive" || s.active_state == "failed");
    }

    // Our own stop, through to the service down and its main process gone (the engine's
    // stop_until_down; a stop that hangs ends in SIGKILL, said in the notes).
    void stop_and_wait() {
        try {
            const std::string escalated = session_.stop_until_down(
                unit_, service_.timeout_stop + kRecoveryGrace, kRecoveryGrace);
            if (!escalated.empty()) report_.notes.push_back("our own stop: " + escalated);
        } catch (const SupervisorError& e) {
            report_.errors.push_back(e.what());
        }
    }

    void account() {
        report_.restarts_observed = std::max(0, int(incarnations_.size()) - 1);
        // How the supervisor saw each crash: its record of the first end it timed after the
        // fixture logged the crash (gone from its state once the next process runs).
        // An end timed after the next crash is that crash's, not this one's.
        for (size_t i = 0; i < report_.crash_list.size(); ++i) {
            SoakCrash& crash = report_.crash_list[i];
            const ServiceState* end = watch_.end_since(crash.at_ns);
            const bool later = end && i + 1 < report_.crash_list.size() &&
                               static_cast<long long>(end->exec_main_exit_us) * 1000 >=
                                   report_.crash_list[i + 1].at_ns;
            if (end && !later) crash.supervisor_saw = end_in_words(*end) + ", Result=" + end->result;
        }
        // Every reload logged, against the schedule the seed predicts.
        std::map<uint64_t, const SoakCrash*> crash_at;
        for (const auto& crash : report_.crash_list)
            crash_at[crash.k] = &crash;
        std::vector<std::string> mismatches;
        for (size_t i = 0; i < ks_logged_.size(); ++i) {
            const uint64_t k = ks_logged_[i];
            if (k != i) mismatches.push_back(fmt::format("reload {} was logged as k={}", i, k));
            const bool predicted = reload_crashes(options_.seed, k, options_.crash_probability);
            report_.predicted_crashes += predicted;
            const bool crashed = crash_at.contains(k);
            if (predicted != crashed)
                mismatches.push_back(fmt::format("k={}: the seed says {}, the fixture {}", k,
                                                 predicted ? "crash" : "no crash",
                                                 crashed ? "crashed" : "reloaded"));
        }
        if (!mismatches.empty())
            report_.errors.push_back(schedule_mismatch(mismatches, ks_logged_.size()));
        if (report_.reloads != report_.reloads_logged)
            report_.errors.push_back(
                fmt::format("{} reload(s) asked of {}, {} logged by the fixture",
                            report_.reloads, who_, report_.reloads_logged));
        // A restart job that fails is the supervisor refusing the restart: in 252 that is the start limit.
        if (watch_.refused_restart()) report_.start_limit_hit = true;
        if (report_.final_result == "start-limit-hit") report_.start_limit_hit = true;
        if (!supervisor_reports_restarts_)
            report_.notes.push_back(who_ + " reports no restart count (NRestarts): the restarts "
                                    "are counted from the fixture's log alone");
        else if (auto mismatch = restart_count_mismatch(report_.restarts_observed,
                                                        report_.supervisor_restarts,
                                                        report_.start_limit_hit, who_, "the fixture"))
            report_.errors.push_back(*mismatch);

        report_.downtime = downtime_of(report_.crash_list);
        if (report_.downtime) {
            // service_arm_timer() (src/core/service.c) adds the restart timer with accuracy 0,
            // which sd-event reads as its default of 250 ms (DEFAULT_ACCURACY_USEC): the spread
            // of the downtime is systemd's timer coalescing, not the fixture's start-up.
            if (who_ == "systemd")
                report_.notes.push_back(fmt::format(
                "systemd arms RestartSec= ({}) with sd-event's default 250 ms accuracy: a restart "
                "comes {} to {} after the crash",
                span_in_words(service_.restart_sec), span_in_words(service_.restart_sec),
                span_in_words(service_.restart_sec + milliseconds(250))));
        }
        for (const auto& [result, count] : reload_results_)
            report_.notes.push_back(fmt::format("reloads ended '{}': {}", result, count));
    }
};

} // namespace

std::string exact_decimal(double p) {
    for (int precision = 1; precision < 1100; ++precision) {
        std::string text = fmt::format("{:.{}f}", p, precision);
        double back = -1;
        std::from_chars(text.data(), text.data() + text.size(), back);
        if (back == p) {
            while (text.size() > 1 && text.back() == '0' && text[text.size() - 2] != '.')
                text.pop_back();
            return text;
        }
    }
    return fmt::format("{:.1100f}", p);
}

std::optional<Downtime> downtime_of(const std::vector<SoakCrash>& crashes) {
    std::vector<double> downtimes;
    for (const auto& crash : crashes)
        if (crash.downtime_ms) downtimes.push_back(*crash.downtime_ms);
    if (downtimes.empty()) return std::nullopt;
    std::sort(downtimes.begin(), downtimes.end());
    const size_t n = downtimes.size();
    Downtime d;
    d.min = downtimes.front();
    d.max = downtimes.back();
    d.median = n % 2 ? downtimes[n / 2] : (downtimes[n / 2 - 1] + downtimes[n / 2]) / 2;
    d.p99 = downtimes[size_t(std::ceil(0.99 * double(n))) - 1]; // nearest rank
    return d;
}

std::string schedule_mismatch(const std::vector<std::string>& mismatches, size_t reloads) {
    std::string list;
    for (size_t i = 0; i < std::min<size_t>(mismatches.size(), 5); ++i)
        list += (i ? "; " : "") + mismatches[i];
    return fmt::format("the crash schedule does not match the seed's ({} of {} reloads): {}",
                       mismatches.size(), reloads, list);
}

void take_http_counts(SoakReport& report, HttpLoad& load) {
    load.stop();
    const HttpLoadCounts counts = load.counts();
    report.probes = counts.requests;
    report.probes_refused = counts.refused;
    report.probes_timed_out = counts.timed_out;
    report.probes_bad = counts.bad;
    report.probes_failed = counts.failed();
}

std::string probability_text(double p) {
    if (p > 0 && p < 1) {
        double over = 1 / p;
        if (std::abs(over - std::round(over)) < 1e-9) return fmt::format("1 in {:.0f}", over);
    }
    return fmt::format("{}", p);
}

void check_soakable(const ServiceSettings& unit, const std::string& where) {
    if (!played_by_fake_httpd(unit))
        throw InputError(where, 0, "Type=" + unit.type + " is not played by the fake httpd");
    if (!unit.has_exec_reload)
        throw InputError(where, 0, "the unit has no ExecReload=, so there is no reload to soak");
}

SoakReport run_soak(Supervisor& supervisor, const SoakOptions& options) {
    Soak soak(supervisor, options);
    return soak.run();
}

namespace {

// soak --real: each crash on its own, by how the daemon really ended (the supervisor's record),
// against what Restart= promises for that end.
SoakVerdict judge_real_soak(const SoakReport& r, const RestartTable& table) {
    const std::string value(to_string(r.restart));
    if (r.crash_list.empty())
        return {true, fmt::format("no crash in {} graceful reload(s){}", r.reloads,
                                  r.injection.empty() ? "" : ": the seed's schedule had none")};
    unsigned back = 0;
    for (const auto& crash : r.crash_list) {
        const std::string where = crash.reload ? fmt::format("reload {}", crash.reload)
                                               : std::string("before the first reload");
        if (!crash.outcome) {
            if (crash.downtime_ms) {
                ++back;
                continue;
            }
            return {false, fmt::format("the {} at {} (pid {}) left the service {} and nothing "
                                       "says how it ended: {}",
                                       crash.what, where, crash.pid,
                                       r.final_state.empty() ? "down" : r.final_state,
                                       r.ended_early)};
        }
        const bool promised = table.shall_restart(r.restart, *crash.outcome, r.rules);
        const std::string how = describe(*crash.outcome);
        if (promised && !crash.downtime_ms)
            return {false, fmt::format("the crash at {} (pid {}, {}) stayed down, though "
                                       "Restart={} promises a restart after {}",
                                       where, crash.pid, how, value, how)};
        if (!promised && crash.downtime_ms)
            return {false, fmt::format("the crash at {} (pid {}, {}) was restarted (pid {}), "
                                       "though Restart={} promises no restart after {}",
                                       where, crash.pid, how, crash.next_pid, value, how)};
        if (!promised && !crash.downtime_ms)
            return {false, fmt::format("the crash at {} (pid {}, {}) stayed down, as Restart={} "
                                       "promises after {}: nothing brought the daemon back ({})",
                                       where, crash.pid, how, value, how, r.final_state)};
        ++back;
    }
    return {true, fmt::format("every crash came back as Restart={} promises: {} crash(es), {} "
                              "restart(s)",
                              value, r.crash_list.size(), r.restarts_observed)};
}

} // namespace

SoakVerdict judge_soak(const SoakReport& r, const RestartTable& table,
                       const Expectations& expectations) {
    if (!r.not_applicable.empty()) return {true, "n/a: " + r.not_applicable};
    if (!r.errors.empty())
        return {false, "no verdict: " + r.errors.front() +
                           (r.errors.size() > 1 ? fmt::format(" (and {} more)", r.errors.size() - 1)
                                                : "")};
    if (r.real) return judge_real_soak(r, table);
    if (r.crashes == 0)
        return {true,
                fmt::format("no crash in {} reload(s): the seed's schedule had none", r.reloads)};
    Outcome outcome;
    if (r.fault == "hang")
        outcome.kind = Outcome::Kind::timeout;
    else {
        outcome.kind = Outcome::Kind::killed;
        outcome.signal = r.fault == "sigsegv" ? SIGSEGV : SIGABRT;
    }
    const std::string value(to_string(r.restart));
    const bool manual = table.shall_restart(r.restart, outcome, r.rules);
    // A hung reload is the matrix's reload-timeout cause, with its known deviation.
    const KnownDeviation* known =
        r.fault == "hang" ? expectations.find("reload-timeout", r.restart) : nullptr;
    const bool promised = known ? known->restarted : manual;
    const std::string deviation = known ? " (known deviation: " + known->reason + ")" : "";
    const std::string what = r.fault == "hang" ? "a reload timeout" : describe(outcome);
    if (promised) {
        if (r.unrecovered == 0 && r.restarts_observed == int(r.crashes))
            return {true,
                    fmt::format("every crash came back: {} crash(es), {} restart(s), as Restart={} "
                                "promises after {}",
                                r.crashes, r.restarts_observed, value, what)};
        return {false,
                fmt::format("{} of {} crash(es) never came back{}, though Restart={} promises a "
                            "restart after {}",
                            r.unrecovered, r.crashes,
                            r.start_limit_hit ? " (the start limit was hit)" : "", value, what)};
    }
    const std::string left = r.final_state.starts_with("active") ? "hung" : "down";
    if (r.restarts_observed == 0 && r.unrecovered == 1 && r.crashes == 1 && known)
        return {true,
                fmt::format("the first {} left it {} ({}), no restart: the manual says Restart={} "
                            "restarts after {}, but this is a known deviation: {}",
                            r.fault == "hang" ? "hang" : "crash", left, r.final_state, value, what,
                            known->reason)};
    if (r.restarts_observed == 0 && r.unrecovered == 1 && r.crashes == 1)
        return {true,
                fmt::format("the first crash left it {} ({}), as Restart={} promises: no restart "
                            "after {}",
                            left, r.final_state, value, what)};
    return {false,
            fmt::format("Restart={} promises no restart after {}{}, but {} restarted it {} "
                        "time(s)",
                        value, what, deviation, r.supervisor, r.restarts_observed)};
}

} // namespace crashloop
