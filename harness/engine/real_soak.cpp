// `crashloop soak --real`: the story with the unit's own daemon. No event log of ours runs in
// it, so each reload and each death is seen from outside: the reload job the supervisor ran,
// a pidfd on the main process (when it died), the supervisor's record (how), the next main
// pid (the restart), the HTTP clients (the downtime users saw), the core the kernel wrote. With
// --inject, the preload library (fixtures/inject) fails the daemon's own reload handler on
// the reloads the seed picks, and logs each reload it saw: the schedule is checked against it.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <cmath>
#include <csignal>
#include <cstring>
#include <fstream>

#include "core_dumps.hpp"
#include "daemon_process.hpp"
#include "errors.hpp"
#include "event_log.hpp"
#include "http_load.hpp"
#include "judge.hpp"
#include "log.hpp"
#include "logrotate_run.hpp"
#include "reload_chance.hpp"
#include "service_settings.hpp"
#include "service_spec.hpp"
#include "session.hpp"
#include "signals.hpp"
#include "soak.hpp"
#include "subject.hpp"
#include "supervisor.hpp"
#include "unit_file.hpp"

namespace crashloop {

namespace {

using std::chrono::milliseconds;

// On top of the unit's own RestartSec= and TimeoutStartSec=, how long a restart may take.
constexpr milliseconds kRecoveryGrace{5000};
// How long a daemon may take to finish starting, or to finish a reload's work (daemon_process).
constexpr std::chrono::seconds kSettleLimit{3};
// How long the HTTP clients may take to get an answer again once the daemon is back.
constexpr std::chrono::seconds kHttpLimit{10};
// How long the injection library may take to log what it did with a reload's signal.
constexpr std::chrono::seconds kInjectLogLimit{3};
// Between two looks at something that announces nothing (the injection log, the HTTP
// clients' history): each look is a read, the wait between them is the engine's wait.
constexpr milliseconds kLookAgain{5};
// How long a process that logged its death may take to die (a core of a big process is slow).
constexpr std::chrono::seconds kDyingLimit{30};

std::shared_ptr<spdlog::logger> logger() { return crashloop::logger("harness"); }

std::string command_text(const std::vector<std::string>& argv) {
    std::string text;
    for (const auto& word : argv)
        text += (text.empty() ? "" : " ") + word;
    return text;
}

double ms_between(long long from_ns, long long to_ns) {
    return double(to_ns - from_ns) / 1e6;
}

// The signal the unit's ExecReload= sends: `apachectl graceful` and `httpd -k graceful` send
// SIGUSR1; `kill -HUP $MAINPID` and the like name theirs; anything else is taken as SIGHUP,
// the usual reload signal.
int reload_signal_of(const std::vector<std::string>& argv) {
    for (size_t i = 0; i < argv.size(); ++i) {
        const std::string& word = argv[i];
        if (word == "graceful") return SIGUSR1;
        std::string name;
        if ((word == "-s" || word == "--signal") && i + 1 < argv.size())
            name = argv[i + 1];
        else if (word.size() > 1 && word[0] == '-' && std::isalpha(static_cast<unsigned char>(word[1])))
            name = word.substr(1);
        if (name.empty()) continue;
        if (!name.starts_with("SIG")) name = "SIG" + name;
        if (auto signo = parse_signal(name)) return *signo;
    }
    return SIGHUP;
}

// A port the unit's environment names (PORT=, or any NAME_PORT=), for the HTTP load.
std::optional<uint16_t> port_in_environment(const std::vector<std::string>& environment) {
    for (const auto& entry : environment) {
        const auto equals = entry.find('=');
        if (equals == std::string::npos) continue;
        const std::string name = entry.substr(0, equals), value = entry.substr(equals + 1);
        if (name != "PORT" && !name.ends_with("_PORT")) continue;
        unsigned port = 0;
        auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), port);
        if (error == std::errc() && end == value.data() + value.size() && port > 0 && port < 65536)
            return uint16_t(port);
    }
    return std::nullopt;
}

class RealSoak {
  public:
    RealSoak(Supervisor& supervisor, const SoakOptions& options)
        : supervisor_(supervisor), session_(supervisor, options.interrupt_fd), options_(options),
          who_(supervisor.name()), unit_(supervisor.service_prefix() + "soak-real.service"),
          inject_log_inside_(supervisor.events_dir() / "inject.log"),
          watch_(session_.follow(unit_)) {}

    SoakReport run() {
        prepare(); // InputError before anything runs
        report_.supervisor = who_;
        report_.supervisor_version = supervisor_.version();
        std::vector<std::string> units = {unit_};
        if (router_)
            for (unsigned n = 1; n <= options_.reloads + 1; ++n)
                units.push_back(logrotate_unit(n));
        supervisor_.reserve(units);
        if (auto missing = supervisor_.cannot_express(service_, workload_cause())) {
            report_.not_applicable = *missing;
            return report_;
        }
        if (target_ && port_taken(*target_))
            throw InputError("--url", 0,
                             fmt::format("{} is taken before the daemon starts: something else "
                                         "listens on port {}, and the HTTP load would measure it",
                                         target_->text(), target_->port));
        start_daemon();
        try {
            if (report_.errors.empty()) soak();
        } catch (const InputError&) {
            stop_and_wait();
            throw;
        }
        finish();
        return report_;
    }

  private:
    Supervisor& supervisor_;
    Session session_;
    const SoakOptions& options_;
    const std::string who_;
    const std::string unit_;
    const std::filesystem::path inject_log_inside_;
    ServiceWatch& watch_;
    SoakReport report_;
    ServiceSpec service_;
    std::string unit_file_; // for messages
    int reload_signal_ = SIGHUP;
    std::optional<milliseconds> window_;
    std::optional<HttpTarget> target_;
    std::optional<HttpLoad> load_;
    std::optional<EventLogTail> inject_tail_;
    std::vector<FixtureEvent> injected_; // every line the injection library logged
    CorePattern core_pattern_;
    std::map<std::string, unsigned> reload_results_;
    std::optional<RequestRouter> router_;      // --logrotate
    std::filesystem::path logrotate_inside_;    // its folder, as the services see it

    uint32_t main_pid_ = 0;
    int incarnation_ = 1;
    std::string executable_; // the main process's program, for gdb
    std::string cwd_;        // its working directory, where a relative core_pattern writes
    std::set<uint32_t> pids_seen_;

    const std::string& unit_name() const { return unit_file_; }

    ExitCause workload_cause() const {
        ExitCause cause;
        cause.id = "reload-" + options_.fault;
        cause.group = "story";
        cause.summary = "graceful reloads of the real daemon";
        cause.trigger = Trigger::reload;
        cause.outcome.kind = Outcome::Kind::killed;
        cause.outcome.signal = options_.fault == "sigsegv" ? SIGSEGV : SIGABRT;
        return cause;
    }

    // ---- before anything runs ----

    void prepare() {
        if (!options_.unit) throw InputError("--real", 0, "--real needs the unit whose daemon to run (--unit FILE)");
        unit_file_ = options_.unit->string();
        const UnitFile file = UnitFile::load(*options_.unit, options_.dropins);
        const ServiceSettings settings = service_settings(file);
        if (!settings.has_exec_reload)
            throw InputError(unit_file_, 0, "the unit has no ExecReload=, so there is no reload to soak");
        report_.real = true;
        report_.warnings = file.warnings();
        report_.unit = options_.unit->filename().string();
        for (const auto& dropin : options_.dropins)
            report_.unit += " + " + dropin.filename().string();
        report_.seed = options_.seed;
        report_.fault = options_.inject ? options_.fault : "none";
        report_.crash_probability = options_.inject ? options_.crash_probability : 0;
        report_.reloads_planned = options_.reloads;
        report_.replay = options_.replay;
        report_.start_limit_kept = options_.keep_start_limit;

        ServiceSpec s = real_daemon(settings); // InputError: an EnvironmentFile= missing
        s.name = unit_;
        s.description = "crashloop soak --real " + report_.unit;
        report_.daemon = command_text(s.exec_start);
        report_.restart = s.restart;
        report_.rules = s.rules;
        reload_signal_ = reload_signal_of(s.exec_reload);

        if (options_.keep_start_limit) {
            report_.start_limit = fmt::format(
                "kept: StartLimitBurst={} in {}", s.start_limit_burst.value_or(5),
                span_in_words(s.start_limit_interval.value_or(std::chrono::seconds(10))));
        } else {
            s.start_limit_interval = std::chrono::microseconds(0);
            report_.start_limit = "off (crashes that would be days apart in production)";
        }
        if (s.timeout_start == infinite_time)
            overridden(s, "TimeoutStartSec", &ServiceSpec::timeout_start, default_timeout_start,
                       "so that a start or reload that hangs is seen to");
        if (s.timeout_stop == infinite_time)
            overridden(s, "TimeoutStopSec", &ServiceSpec::timeout_stop, default_timeout_stop,
                       "so that a stop that hangs is seen to");

        core_pattern_ = read_core_pattern();
        s.dump_core = true;
        report_.cores = where_cores_go(core_pattern_);
        if (who_ != "systemd")
            report_.notes.push_back("LimitCORE=infinity is systemd's: under " + who_ +
                                    " the daemon dumps core only if its own limits allow");
        else
            report_.notes.push_back("LimitCORE=infinity for the service, so that a crash leaves "
                                    "a core (" + report_.cores + ")");

        if (options_.inject) inject_into(s);
        if (options_.logrotate) prepare_logrotate();

        if (!options_.url.empty()) {
            std::string why;
            target_ = parse_http_url(options_.url, why);
            if (!target_) throw InputError("--url", 0, why);
        } else if (auto port = port_in_environment(s.environment)) {
            target_ = HttpTarget{.port = *port};
            report_.notes.push_back(fmt::format(
                "the HTTP load goes to port {}, from the unit's environment", *port));
        } else {
            report_.notes.push_back("no HTTP load: give --url (the unit's environment names no "
                                    "PORT= or *_PORT=)");
        }
        if (target_) {
            report_.http_target = target_->text();
            report_.http_clients = std::max(1u, options_.clients);
        }
        report_.notes.insert(report_.notes.end(), s.overrides.begin(), s.overrides.end());
        service_ = s;
        window_ = supervisor_.restart_window(s);
    }

    // LD_PRELOAD and the schedule, through the service's environment (the daemon's own
    // LD_PRELOAD, if it has one, stays after ours).
    void inject_into(ServiceSpec& s) {
        if (!std::filesystem::exists(options_.inject_library))
            throw InputError("--inject", 0,
                             "the injection library " + options_.inject_library.string() +
                                 " is missing (build the crashloop-inject target)");
        if (!options_.inject_signal.empty()) reload_signal_ = injectable_signal(options_.inject_signal);
        std::string preload = options_.inject_library.string();
        for (auto it = s.environment.begin(); it != s.environment.end();)
            if (it->starts_with("LD_PRELOAD=")) {
                preload += ":" + it->substr(11);
                it = s.environment.erase(it);
            } else {
                ++it;
            }
        s.environment.push_back("LD_PRELOAD=" + preload);
        s.environment.push_back(fmt::format(
            "CRASHLOOP_INJECT=signal={},seed={},p={},fault={},log={}", signal_name(reload_signal_),
            options_.seed, crash_probability_text(), options_.fault, inject_log_inside_.string()));
        std::error_code ignored;
        std::filesystem::remove(supervisor_.from_host(inject_log_inside_), ignored);
        inject_tail_.emplace(supervisor_.from_host(inject_log_inside_));
        report_.injection = fmt::format(
            "{} preloaded: the main process's {} handler dies by {} on the reloads "
            "reload_crashes(seed, k, {}) picks, else the daemon's own handler runs",
            options_.inject_library.filename().string(), signal_name(reload_signal_),
            options_.fault == "hang" ? "hanging" : options_.fault == "sigsegv" ? "SIGSEGV" : "SIGABRT",
            probability_text(options_.crash_probability));
    }

    std::string logrotate_unit(unsigned n) const {
        return supervisor_.service_prefix() + fmt::format("logrotate-{}.service", n);
    }

    // The configuration, moved into the daemon's log folder and routed to this run (bad input
    // said now), and the router's folder, under the supervisor's events folder: gone with it.
    void prepare_logrotate() {
        const std::string file = options_.logrotate->string();
        if (access("/usr/sbin/logrotate", X_OK) != 0)
            throw InputError("--logrotate", 0, "logrotate is not installed (apt-get install logrotate)");
        if (!options_.log_dir)
            throw InputError("--logrotate", 0, "--logrotate needs --log-dir DIR, the daemon's own "
                                               "log folder (the configuration's logs are moved "
                                               "there: never the host's)");
        std::ifstream in(*options_.logrotate);
        if (!in) throw InputError(file, 0, std::string("cannot read it: ") + std::strerror(errno));
        const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (in.bad()) throw InputError(file, 0, std::string("cannot read it: ") + std::strerror(errno));
        logrotate_inside_ = supervisor_.events_dir() / "logrotate";
        const LogrotateConfig config =
            rewrite_logrotate_config(text, file, *options_.log_dir, logrotate_inside_ / "router");
        const auto host = supervisor_.from_host(logrotate_inside_);
        std::error_code ignored;
        std::filesystem::remove_all(host, ignored);
        router_.emplace(host / "router");
        std::ofstream out(host / "logrotate.conf");
        out << config.text;
        if (!out.flush()) throw SupervisorError("cannot write " + (host / "logrotate.conf").string());
        report_.logrotate = options_.logrotate->filename().string();
        for (const auto& change : config.changes)
            report_.notes.push_back("logrotate configuration, " + change);
        report_.notes.push_back("each reload is asked by logrotate's own scripts (logrotate -f, "
                                "a state file of the run's): systemctl, invoke-rc.d and service "
                                "reach this run's " + who_ + ", never the host's");
        session_.watch_fd(router_->fd());
    }

    // One run of logrotate as a oneshot service of the supervisor (killed with it, whatever
    // happens to crashloop), serving what its scripts ask through the router meanwhile. The
    // result of the last reload it asked for, or "" when it asked for none.
    std::string run_logrotate(unsigned n) {
        LogrotateRun run;
        run.run = n;
        run.daemon_up = !session_.died(main_pid_) && !hung_in(main_pid_);
        const auto inside = logrotate_inside_;
        const std::string out = (inside / fmt::format("run-{}.out", n)).string();
        const std::string status = (inside / fmt::format("run-{}.status", n)).string();
        ServiceSpec s;
        s.name = logrotate_unit(n);
        s.description = fmt::format("crashloop soak --real: logrotate run {}", n);
        s.type = "oneshot";
        s.timeout_start = std::chrono::minutes(2);
        s.exec_start = {"/bin/sh", "-c",
                        fmt::format("/usr/sbin/logrotate -f -s '{}' '{}' >'{}' 2>&1; echo $? >'{}'",
                                    (inside / "logrotate.state").string(),
                                    (inside / "logrotate.conf").string(), out, status)};
        for (const auto& entry : service_.environment)
            if (!entry.starts_with("LD_PRELOAD=") && !entry.starts_with("CRASHLOOP_INJECT="))
                s.environment.push_back(entry);
        s.environment.push_back("PATH=" + (inside / "router").string() +
                                ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        ServiceWatch& watch = session_.follow(s.name);
        auto job = std::make_shared<std::string>();
        auto refused = std::make_shared<std::optional<std::string>>();
        supervisor_.start(s, session_.guarded([job, refused](const std::string& error, const std::string& j) {
            if (!error.empty()) *refused = error;
            *job = j;
        }));
        const auto deadline = Clock::now() + s.timeout_start + kRecoveryGrace;
        std::string last;
        for (;;) {
            for (auto& request : router_->take())
                last = serve(request, run);
            if (*refused || (!job->empty() && watch.jobs_done.contains(*job))) break;
            if (Clock::now() >= deadline) {
                report_.errors.push_back(fmt::format("logrotate run {} did not end within {} s", n,
                                                     std::chrono::duration_cast<std::chrono::seconds>(s.timeout_start).count()));
                break;
            }
            session_.wait(deadline);
        }
        if (*refused)
            throw SupervisorError(fmt::format("{} refused to run logrotate: {}", who_, **refused));
        for (const auto& request : router_->take())
            last = serve(request, run);
        const auto host = supervisor_.from_host(inside);
        std::ifstream status_in(host / fmt::format("run-{}.status", n));
        if (!(status_in >> run.exit_code)) run.exit_code = -1;
        std::ifstream out_in(host / fmt::format("run-{}.out", n));
        for (std::string line; std::getline(out_in, line);)
            run.said.push_back(line);
        for (auto& line : router_->logged())
            run.said.push_back(std::move(line));
        if (run.said.size() > 8) run.said.erase(run.said.begin(), run.said.end() - 8);
        if (run.daemon_up && run.asked.empty())
            report_.warnings.push_back(fmt::format(
                "logrotate run {} rotated with the daemon up and asked for no reload: the daemon "
                "goes on writing to the rotated files",
                n));
        report_.logrotate_runs.push_back(std::move(run));
        return last;
    }

    // A request of the router: a reload goes to the supervisor (and counts as the soak's
    // reload), is-active and status read its state; anything else is not run, and says so.
    std::string serve(RoutedRequest r, LogrotateRun& run) {
        r.reply = supervisor_.from_host(r.reply).string(); // the router's path is the service's
        const std::string asked = fmt::format("{} {} {}", r.command, r.verb, r.unit);
        if (r.verb == "reload" || r.verb == "force-reload" || r.verb == "try-reload-or-restart" ||
            r.verb == "reload-or-restart" || r.verb == "reload-or-try-restart") {
            // Asked of a daemon already down (a second postrotate, the run after a crash): the
            // supervisor answers it as it would, but it is no reload of the soak's.
            const bool down = session_.died(main_pid_) || hung_in(main_pid_) || logged_death(main_pid_);
            if (!down) {
                ++report_.reloads;
                last_reload_asked_ns_ = monotonic_ns();
            }
            const std::string result = session_.run_job(
                unit_, [&](Supervisor::Done done) { supervisor_.reload(unit_, std::move(done)); },
                Clock::now() + service_.timeout_start + kRecoveryGrace);
            ++reload_results_[result.empty() ? "unfinished at the deadline" : result];
            RequestRouter::answer(r, result == "done" ? 0 : 1,
                                  result == "done" ? ""
                                                   : fmt::format("the reload of {} on {}: {}", unit_, who_,
                                                                 result.empty() ? "unfinished" : result));
            run.asked.push_back(asked + ": " + (result.empty() ? "unfinished" : result) +
                                (down ? " (the daemon was down)" : ""));
            return result.empty() ? "unfinished" : result;
        }
        if (r.verb == "is-active" || r.verb == "status") {
            const bool active = watch_.live.active_state == "active";
            RequestRouter::answer(r, active ? 0 : 3, watch_.live.state());
            run.asked.push_back(asked + ": " + watch_.live.state());
            return "";
        }
        RequestRouter::answer(r, 1, "crashloop runs only reloads, is-active and status for a "
                                    "logrotate script; `" + asked + "` was not run");
        run.asked.push_back(asked + ": not run (only reloads, is-active and status are)");
        return "";
    }

    // P exactly as the harness predicts with it, in plain decimal digits as the library reads.
    std::string crash_probability_text() const { return exact_decimal(options_.crash_probability); }

    // ---- the daemon ----

    void start_daemon() {
        const auto deadline = Clock::now() + service_.timeout_start + kRecoveryGrace;
        const std::string result = session_.run_job(
            unit_, [&](Supervisor::Done done) { supervisor_.start(service_, std::move(done)); },
            deadline);
        auto s = session_.read_until(
            unit_, [](const ServiceState& now) { return now.job_id == 0; }, deadline);
        if (result != "done" || !s || s->state() != "active/running") {
            const std::string said =
                s ? fmt::format("{} says {}, Result={}{}", who_, s->state(), s->result,
                                s->exec_main_code ? ", the main process ended by " + end_in_words(*s) : "")
                  : who_ + " last said " + watch_.last_said();
            stop_and_wait();
            throw InputError(unit_file_, 0,
                             fmt::format("the daemon did not start ({}): start job {}; {}",
                                         report_.daemon, result.empty() ? "unfinished" : result, said));
        }
        if (s->main_pid == 0) {
            stop_and_wait();
            throw InputError(unit_file_, 0,
                             who_ + " knows no main pid for the daemon (a Type=forking unit "
                                    "without PIDFile= whose daemon it could not guess)");
        }
        adopt(s->main_pid, deadline);
        if (target_) await_http(Clock::now() + kHttpLimit, true);
        if (inject_tail_) check_armed();
    }

    // The main process from now on: watched, done with its start-up, its program and folder
    // read while it lives.
    void adopt(uint32_t pid, Clock::time_point deadline) {
        main_pid_ = pid;
        adopted_ns_ = monotonic_ns();
        pids_seen_.insert(pid);
        session_.watch_pid(pid);
        wait_for_exec(session_, pid, deadline);
        wait_until_idle(session_, pid, Clock::now() + kSettleLimit);
        if (auto exe = executable_of(pid); !exe.empty()) executable_ = exe;
        if (auto cwd = working_directory_of(pid); !cwd.empty()) cwd_ = cwd;
    }

    // Until the HTTP clients get an answer from the daemon. Bad input the first time (nothing
    // answers at the URL given); later, a note on the crash.
    bool await_http(Clock::time_point deadline, bool first) {
        const long long since = monotonic_ns();
        if (!load_) load_.emplace(*target_, report_.http_clients, true);
        while (!load_->first_ok_after(since)) {
            if (Clock::now() >= deadline) {
                if (first) {
                    stop_and_wait();
                    throw InputError("--url", 0,
                                     fmt::format("no request to {} succeeded (a 2xx or 3xx "
                                                 "answer) within {} s of the daemon's start: is "
                                                 "it the daemon's address?",
                                                 target_->text(), kHttpLimit.count()));
                }
                return false;
            }
            session_.wait(std::min(deadline, Clock::now() + kLookAgain));
        }
        return true;
    }

    // The library logs `armed SIGxxx` from each process that installs a handler for the
    // signal: without one from the main process, no reload can be failed.
    void check_armed() {
        read_injected();
        const std::string armed = signal_name(reload_signal_);
        const bool main_armed = std::any_of(injected_.begin(), injected_.end(), [&](const FixtureEvent& e) {
            return e.event == "armed" && e.detail == armed && uint32_t(e.pid) == main_pid_;
        });
        if (!main_armed)
            report_.errors.push_back(fmt::format(
                "--inject: the main process (pid {}) installed no {} handler through sigaction() "
                "or signal(), so the library cannot fail its reloads (a daemon that takes "
                "signals with signalfd or sigwait, or a static program, is out of its reach)",
                main_pid_, armed));
    }

    void read_injected() {
        if (!inject_tail_) return;
        for (auto& e : inject_tail_->read_new())
            injected_.push_back(std::move(e));
    }

    // The library's reload-begin lines so far.
    size_t reloads_injected() const {
        return size_t(std::count_if(injected_.begin(), injected_.end(),
                                    [](const FixtureEvent& e) { return e.event == "reload-begin"; }));
    }

    // Waits until the library has logged what it did with reload `n` (its reload-begin and then
    // reload-passed, die or reload-hang), or the process died, within kInjectLogLimit.
    void await_injected(size_t n, uint32_t pid) {
        const auto deadline = Clock::now() + kInjectLogLimit;
        for (;;) {
            read_injected();
            if (reloads_injected() >= n) {
                const auto& last = *std::find_if(injected_.rbegin(), injected_.rend(), [](const FixtureEvent& e) {
                    return e.event == "reload-begin";
                });
                const bool decided = std::any_of(injected_.begin(), injected_.end(), [&](const FixtureEvent& e) {
                    return e.time_ns >= last.time_ns && e.pid == last.pid &&
                           (e.event == "reload-passed" || e.event == "die" || e.event == "reload-hang");
                });
                if (decided) return;
            }
            if (session_.died(pid) || Clock::now() >= deadline) return;
            session_.wait(std::min(deadline, Clock::now() + kLookAgain));
        }
    }

    // ---- the loop ----

    void soak() {
        const auto begin = Clock::now();
        auto next_reload = begin;
        bool over = false;
        for (unsigned n = 1; n <= options_.reloads && !over; ++n) {
            // The interval, during which the daemon may still die of the last reload.
            for (;;) {
                while (Clock::now() < next_reload && !session_.died(main_pid_))
                    session_.wait(next_reload);
                if (!session_.died(main_pid_)) break;
                const bool back = crashed(report_.reloads);
                if (!back) after_the_crash(n);
                if (back && options_.until_crash)
                    report_.ended_early = fmt::format("--until-crash: reload {} crashed", report_.reloads);
                if (!back || options_.until_crash) {
                    over = true;
                    break;
                }
                next_reload = Clock::now() + options_.interval;
            }
            if (over) break;
            const uint32_t pid = main_pid_;
            const unsigned reloads_before = report_.reloads;
            std::string result;
            if (router_) {
                result = run_logrotate(n);
                if (report_.reloads == reloads_before) { // its scripts asked for none
                    if (options_.progress) options_.progress(n, options_.reloads);
                    next_reload = Clock::now() + options_.interval;
                    continue;
                }
            } else {
                ++report_.reloads;
                last_reload_asked_ns_ = monotonic_ns();
                result = session_.run_job(
                    unit_, [&](Supervisor::Done done) { supervisor_.reload(unit_, std::move(done)); },
                    Clock::now() + service_.timeout_start + kRecoveryGrace);
                ++reload_results_[result.empty() ? "unfinished at the deadline" : result];
            }
            if (result.starts_with("refused") && !session_.died(pid)) {
                report_.errors.push_back(fmt::format("{} refused reload {}: {}", who_, n, result));
                report_.ended_early = who_ + " refused a reload";
                break;
            }
            if (options_.progress) options_.progress(n, options_.reloads);
            // The job may end before the daemon acts on its signal (apachectl graceful only
            // sends it): what the library did, and the daemon's own reload work, come after.
            if (inject_tail_) await_injected(report_.reloads, pid);
            await_death_if_dying(pid);
            wait_until_idle(session_, pid, Clock::now() + kSettleLimit);
            const bool hung = hung_in(pid);
            if (session_.died(pid) || hung) {
                if (!crashed(report_.reloads)) {
                    after_the_crash(n + 1);
                    break;
                }
                if (options_.until_crash) {
                    report_.ended_early = fmt::format("--until-crash: reload {} crashed", report_.reloads);
                    break;
                }
                next_reload = Clock::now() + options_.interval;
                continue;
            }
            if (result != "done") {
                report_.errors.push_back(fmt::format(
                    "reload {} ended '{}' and the daemon's main process (pid {}) lives on: the "
                    "reload itself failed (is the daemon's configuration still good?)",
                    report_.reloads, result.empty() ? "unfinished" : result, pid));
                report_.ended_early = "a reload failed with the daemon alive";
                break;
            }
            next_reload = Clock::now() + options_.interval;
        }
        // The last reload gets its interval too: a death in it is that reload's.
        if (report_.ended_early.empty() && !over) {
            while (Clock::now() < next_reload && !session_.died(main_pid_))
                session_.wait(next_reload);
            if (session_.died(main_pid_) && !crash_of(main_pid_)) crashed(report_.reloads);
        }
        // The reload loop's own time: reading cores (gdb) is not the daemon's.
        report_.wall = std::chrono::duration_cast<milliseconds>(Clock::now() - begin - analysis_);
        if (analysis_ > Clock::duration::zero())
            report_.notes.push_back(fmt::format(
                "{} ms spent finding cores and reading their backtraces are not in the reload "
                "rate", std::chrono::duration_cast<milliseconds>(analysis_).count()));
        report_.reloads_per_s =
            double(report_.reloads) / std::max(1e-3, double(report_.wall.count()) / 1000);
    }

    long long last_reload_asked_ns_ = 0;

    // The other half of the story: what logrotate's scripts do once the daemon is down (ask a
    // reload that fails, or nothing at all), in one more run.
    void after_the_crash(unsigned n) {
        if (router_ && n <= options_.reloads + 1) run_logrotate(n);
    }

    const SoakCrash* crash_of(uint32_t pid) const {
        for (const auto& crash : report_.crash_list)
            if (uint32_t(crash.pid) == pid) return &crash;
        return nullptr;
    }

    // The library says this process hung in its reload handler, or it logged its death and
    // lives on (wedged in its own fatal-signal handler: Apache's logs from it).
    bool hung_in(uint32_t pid) {
        read_injected();
        return wedged_.contains(pid) ||
               std::any_of(injected_.begin(), injected_.end(), [&](const FixtureEvent& e) {
                   return e.event == "reload-hang" && uint32_t(e.pid) == pid;
               });
    }

    bool logged_death(uint32_t pid) const {
        return std::any_of(injected_.begin(), injected_.end(), [&](const FixtureEvent& e) {
            return e.event == "die" && uint32_t(e.pid) == pid;
        });
    }

    // A process that logged its `die` is dying (dumping core, running its own handler): its
    // end is waited for on its pidfd, not guessed from /proc; one still alive after
    // kDyingLimit is wedged, and counts as hung.
    void await_death_if_dying(uint32_t pid) {
        if (!inject_tail_ || !logged_death(pid)) return;
        const auto deadline = Clock::now() + kDyingLimit;
        while (!session_.died(pid) && Clock::now() < deadline)
            session_.wait(deadline);
        if (!session_.died(pid)) {
            wedged_.insert(pid);
            report_.warnings.push_back(fmt::format(
                "pid {} logged its death by {} and was still alive {} s later: wedged in its own "
                "fatal-signal handler",
                pid, options_.fault == "sigsegv" ? "SIGSEGV" : "SIGABRT", kDyingLimit.count()));
        }
    }

    // The main process died (or hung) during or after reload n (0: before any): the crash,
    // followed to the restart or to the service staying down. False when the soak cannot go
    // on (nothing came back).
    bool crashed(unsigned n) {
        const uint32_t pid = main_pid_;
        SoakCrash crash;
        crash.reload = n;
        crash.pid = int(pid);
        crash.incarnation = incarnation_;
        crash.k = UINT64_MAX;
        const auto died = session_.died(pid);
        crash.at_ns = died ? *died : monotonic_ns();
        if (n > 0) crash.since_reload_ms = ms_between(last_reload_asked_ns_, crash.at_ns);
        read_injected();
        for (const auto& e : injected_) {
            if (uint32_t(e.pid) != pid) continue;
            if (e.event == "reload-begin" && e.detail.starts_with("k=")) {
                uint64_t k = 0;
                std::from_chars(e.detail.data() + 2, e.detail.data() + e.detail.size(), k);
                crash.k = k;
            }
            if (e.event == "die" || e.event == "reload-hang")
                crash.what = e.detail.empty() ? e.event : e.event + " " + e.detail;
        }
        if (crash.what.empty()) crash.what = died ? "died" : "hung";
        if (!died && wedged_.contains(pid)) crash.what += ", never died (wedged)";
        if (!options_.inject || crash.what == "died") ++unplanned_;
        ++report_.crashes;
        logger()->debug("soak --real: reload {} → pid {} {}", n, pid, crash.what);

        // Back (a new main process running), or settled down (or hung), within the budget.
        auto budget = service_.restart_sec + service_.timeout_start + kRecoveryGrace;
        if (window_) budget += *window_;
        const bool hang = !died;
        if (hang) budget += service_.timeout_stop; // a supervisor that notices kills it first
        const auto deadline = Clock::now() + budget;
        const long long death_ns = crash.at_ns;
        auto s = session_.read_until(
            unit_,
            [&](const ServiceState& now) {
                if (now.state() == "active/running" && now.job_id == 0 && now.main_pid != 0 &&
                    now.main_pid != pid)
                    return true;
                const bool window_over =
                    !window_ || monotonic_ns() >= death_ns + std::chrono::nanoseconds(*window_).count();
                return down(now) && window_over;
            },
            deadline);
        const bool back = s && s->state() == "active/running" && s->main_pid != pid && s->main_pid != 0;
        // This process's end: the first the supervisor timed since it was taken on.
        if (const ServiceState* end = hang ? nullptr : watch_.end_since(adopted_ns_)) {
            crash.supervisor_saw = end_in_words(*end) + ", Result=" + end->result;
            crash.outcome = outcome_of(*end);
        } else if (!hang && (crash.what == "die SIGABRT" || crash.what == "die SIGSEGV")) {
            Outcome o;
            o.kind = Outcome::Kind::killed;
            o.signal = crash.what == "die SIGABRT" ? SIGABRT : SIGSEGV;
            crash.outcome = o; // the library's word: the supervisor's was gone before a read
        }
        const auto analysis_began = Clock::now();
        collect_core(crash);
        analysis_ += Clock::now() - analysis_began;
        if (back) {
            const uint32_t next = s->main_pid;
            long long seen_ns = monotonic_ns();
            for (const auto& m : watch_.main_pids)
                if (m.pid == next) seen_ns = m.first_seen_ns;
            crash.next_pid = int(next);
            crash.downtime_ms = std::max(0.0, ms_between(death_ns, seen_ns));
            ++incarnation_;
            adopt(next, Clock::now() + service_.timeout_start + kRecoveryGrace);
            if (target_) {
                if (await_http(Clock::now() + kHttpLimit, false))
                    crash.http_downtime_ms = http_downtime_ms(load_->history(), death_ns);
                else
                    report_.errors.push_back(fmt::format(
                        "the daemon came back (pid {}) after the crash at reload {}, but nothing "
                        "answered {} within {} s",
                        next, n, target_->text(), kHttpLimit.count()));
            }
        } else {
            ++report_.unrecovered;
            report_.ended_early = fmt::format(
                "the crash at reload {} ({}, pid {}) left the service {} ({})", n, crash.what,
                pid, s && s->state() == "active/running" ? "hung, not restarted" : "down",
                s ? s->state() + ", Result=" + s->result : who_ + " last said " + watch_.last_said());
        }
        report_.crash_list.push_back(std::move(crash));
        return back;
    }

    unsigned unplanned_ = 0; // deaths the library did not cause
    std::set<uint32_t> wedged_; // logged `die` and never died
    long long adopted_ns_ = 0;  // when the main process was taken on: its end comes after
    Clock::duration analysis_{}; // spent on cores and backtraces, outside the reload rate

    // The crash's core: found where the kernel puts it, kept where asked, read by gdb.
    void collect_core(SoakCrash& crash) {
        if (crash.what.starts_with("reload-hang") || crash.what == "hung") return;
        if (core_pattern_.piped) {
            crash.core_note = report_.cores;
            return;
        }
        std::vector<std::filesystem::path> folders;
        if (auto folder = pattern_folder(core_pattern_)) {
            folders.push_back(*folder);
        } else {
            if (!cwd_.empty()) folders.emplace_back(cwd_);
            folders.insert(folders.end(), options_.core_dirs.begin(), options_.core_dirs.end());
        }
        std::vector<std::filesystem::path> on_host;
        for (const auto& folder : folders)
            on_host.push_back(supervisor_.from_host(folder));
        const int signo = crash.outcome && crash.outcome->kind == Outcome::Kind::killed
                              ? crash.outcome->signal
                              : 0;
        // The kernel dated the core at the death; a second of slack for coarse file times.
        const auto since = std::filesystem::file_time_type::clock::now() -
                           std::chrono::nanoseconds(monotonic_ns() - crash.at_ns) - std::chrono::seconds(1);
        auto core = find_core(core_pattern_, uint32_t(crash.pid), signo, on_host, since);
        if (!core) {
            std::string where;
            for (const auto& folder : folders)
                where += (where.empty() ? "" : ", ") + folder.string();
            crash.core_note = fmt::format(
                "no core found in {} ({}){}", where.empty() ? "no folder crashloop can name" : where,
                report_.cores,
                options_.core_dirs.empty() ? "; a daemon that changes folder before it dumps "
                                             "(Apache: CoreDumpDirectory, by default its "
                                             "ServerRoot) needs --core-dir"
                                           : "");
            return;
        }
        crash.core = core->string();
        if (options_.keep_cores) {
            const auto kept = *options_.keep_cores / fmt::format("core.{}", crash.pid);
            if (auto error = keep_core(*core, kept); error.empty())
                crash.core = kept.string();
            else
                crash.core_note = error;
        }
        if (executable_.empty()) {
            crash.core_note = "the daemon's program was not known, so gdb was not run";
        } else {
            Backtrace bt = backtrace_of(executable_, crash.core, options_.interrupt_fd);
            crash.backtrace = std::move(bt.frames);
            if (!bt.note.empty()) crash.core_note = bt.note;
        }
        // A run leaves nothing in the daemon's folders (LimitCORE=infinity was the run's doing):
        // a core not asked to be kept goes once read.
        if (!options_.keep_cores) {
            std::error_code ignored;
            std::filesystem::remove(*core, ignored);
            crash.core_note += std::string(crash.core_note.empty() ? "" : "; ") + "the core (" +
                               crash.core + ") was removed once read: --keep-cores DIR keeps them";
            crash.core.clear();
        }
    }

    // ---- the end ----

    void finish() {
        if (load_) take_http_counts(report_, *load_);
        try {
            if (auto last = session_.read(unit_, Clock::now() + kRecoveryGrace)) {
                report_.supervisor_restarts = int(last->n_restarts);
                report_.final_state = last->state();
                report_.final_result = last->result;
                if (!last->reports_restarts)
                    report_.notes.push_back(who_ + " reports no restart count (NRestarts): the "
                                                   "restarts are counted from the main pids alone");
                else if (auto mismatch = restart_count_mismatch(
                             int(pids_seen_.size()) - 1, report_.supervisor_restarts,
                             watch_.refused_restart(), who_, "the distinct main pids"))
                    report_.errors.push_back(*mismatch);
            } else {
                report_.errors.push_back(who_ + " did not answer a state read within 5 s");
            }
        } catch (const SupervisorError& e) {
            report_.errors.push_back(std::string("reading NRestarts: ") + e.what());
        }
        report_.restarts_observed = int(pids_seen_.size()) - 1;
        if (watch_.refused_restart() || report_.final_result == "start-limit-hit")
            report_.start_limit_hit = true;
        stop_and_wait();
        account();
    }

    void stop_and_wait() {
        try {
            const std::string escalated =
                session_.stop_until_down(unit_, service_.timeout_stop + kRecoveryGrace, kRecoveryGrace);
            if (!escalated.empty()) report_.notes.push_back("our own stop: " + escalated);
        } catch (const SupervisorError& e) {
            report_.errors.push_back(e.what());
        }
    }

    void account() {
        report_.downtime = downtime_of(report_.crash_list);
        for (const auto& [result, count] : reload_results_)
            report_.notes.push_back(fmt::format("reload jobs ended '{}': {}", result, count));
        if (!inject_tail_) return;
        // Every reload the library saw, against the schedule the seed predicts.
        read_injected();
        std::vector<std::string> mismatches;
        uint64_t expected_k = 0;
        for (const auto& e : injected_) {
            if (e.event != "reload-begin") continue;
            ++report_.reloads_logged;
            uint64_t k = UINT64_MAX;
            if (e.detail.starts_with("k="))
                std::from_chars(e.detail.data() + 2, e.detail.data() + e.detail.size(), k);
            if (k != expected_k) mismatches.push_back(fmt::format("reload {} was logged as {}", expected_k, e.detail));
            ++expected_k;
            const bool predicted = reload_crashes(options_.seed, k, options_.crash_probability);
            report_.predicted_crashes += predicted;
            const bool crashed = std::any_of(report_.crash_list.begin(), report_.crash_list.end(),
                                             [&](const SoakCrash& c) { return c.k == k && c.what != "died"; });
            if (predicted != crashed)
                mismatches.push_back(fmt::format("k={}: the seed says {}, the daemon {}", k,
                                                 predicted ? "crash" : "no crash",
                                                 crashed ? "crashed" : "reloaded"));
        }
        if (!mismatches.empty())
            report_.errors.push_back(schedule_mismatch(mismatches, report_.reloads_logged));
        if (report_.reloads_logged != report_.reloads)
            report_.errors.push_back(fmt::format(
                "{} reload(s) asked of {}, {} seen by the injection library in the main process",
                report_.reloads, who_, report_.reloads_logged));
        if (unplanned_ > 0)
            report_.warnings.push_back(fmt::format(
                "{} death(s) the injection library did not cause: the daemon's own", unplanned_));
    }
};

} // namespace

int injectable_signal(const std::string& text) {
    std::string name = text;
    if (!name.starts_with("SIG")) name = "SIG" + name;
    const auto signo = parse_signal(name);
    if (!signo)
        throw InputError("--inject-signal", 0,
                         "unknown signal '" + text + "'; expected a name such as SIGHUP or SIGUSR1");
    // No handler catches SIGKILL or SIGSTOP; SIGABRT and SIGSEGV are the faults themselves.
    if (*signo == SIGKILL || *signo == SIGSTOP || *signo == SIGABRT || *signo == SIGSEGV)
        throw InputError("--inject-signal", 0,
                         signal_name(*signo) + " cannot be a reload signal to fail: " +
                             (*signo == SIGKILL || *signo == SIGSTOP
                                  ? "no handler can catch it"
                                  : "the injected fault raises it itself"));
    return *signo;
}

SoakReport run_real_soak(Supervisor& supervisor, const SoakOptions& options) {
    RealSoak soak(supervisor, options);
    return soak.run();
}

} // namespace crashloop
