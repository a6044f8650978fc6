// `supervisord`: Debian's supervisor package (supervisord 4.2), started by
// this driver in a Jail of its own with a private config, socket and log; the
// host's own supervisord (/etc/supervisor, /var/run/supervisor.sock) is never
// touched. Services are [program:x] sections (supervisord_program.cpp), driven
// over XML-RPC (xmlrpc.cpp).
//
// Where supervisord's answers come from:
// - Changes: supervisord sends no change notifications over XML-RPC, but it
//   logs every state change of a process to its own log, synchronously and
//   flushed (loggers.py FileHandler.emit), in order: "spawned: 'NAME' with pid
//   N", "success: NAME entered RUNNING state", "exited: NAME (exit status 1;
//   not expected)", "exited: NAME (terminated by SIGABRT (core dumped); not
//   expected)", "killing NAME (pid N) with signal SIGTERM" (debug), "stopped:
//   NAME (…)", "gave up: NAME entered FATAL state". The driver tails that log
//   (inotify wakes it) and replays each line into the program's state, so a
//   restart shows as each of its steps, in order, however fast it happens.
//   The log is also the only place that tells an exit code from a signal:
//   getProcessInfo's exitstatus is -1 for any signal.
// - state() is a confirmed read; see confirmed_state() for why it is sound.
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "exit_cause.hpp"
#include "interrupt.hpp"
#include "jail.hpp"
#include "log.hpp"
#include "supervisor.hpp"
#include "supervisord_log.hpp"
#include "supervisord_program.hpp"
#include "xmlrpc.hpp"

extern char** environ;

namespace crashloop {

namespace {

using Clock = std::chrono::steady_clock;

std::shared_ptr<spdlog::logger> logger() { return crashloop::logger("supervisord"); }

// supervisord's fault codes (supervisor/xmlrpc.py Faults).
constexpr int kFaultNotRunning = 70;

std::filesystem::path find_supervisord() {
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        if (dir.empty()) continue;
        std::filesystem::path candidate = std::filesystem::path(dir) / "supervisord";
        if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    throw SupervisorError("supervisord not found; install Debian's supervisor package");
}

void write_file(const std::filesystem::path& path, const std::string& text) {
    const auto temporary = path.string() + ".tmp";
    {
        std::ofstream out(temporary, std::ios::trunc);
        out << text;
        if (!out.flush())
            throw SupervisorError("cannot write " + temporary + ": " + std::strerror(errno));
    }
    std::filesystem::rename(temporary, path); // supervisord never reads half a file
}

std::string tail_of(const std::filesystem::path& file, size_t bytes = 2000) {
    std::ifstream in(file);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.size() > bytes ? "…" + text.substr(text.size() - bytes) : text;
}

// What the log says about one program, replayed line by line.
struct Program {
    std::string service; // the runner's name for it
    SupervisordProgram config;
    std::string statename = "STOPPED"; // supervisord's ProcessStates name
    // Why, in supervisord's words: getProcessInfo's spawnerr and description,
    // or what its log said when it gave up. Kept for the report (own_words).
    std::string spawnerr, description;
    uint32_t pid = 0;
    uint32_t spawns = 0;
    int32_t exit_code = 0;   // CLD_* of the last exit, 0 if none yet
    int32_t exit_status = 0; // its exit code or signal number
    bool exit_expected = false;
    bool stopped_by_us = false; // the last end was a stopProcess
    uint64_t events = 0;        // state lines seen for it: a change counter
    uint32_t start_job = 0;     // added, not yet spawned
    uint32_t stop_job = 0;      // a stopProcess not yet over
    uint32_t restart_job =
        0; // a restart supervisord has decided (BACKOFF or EXITED to be respawned)
};

void set_exit(const SupervisordExit& exit, Program& p) {
    p.exit_code = exit.code;
    p.exit_status = exit.status;
}

class SupervisordDriver final : public Supervisor {
  public:
    explicit SupervisordDriver(const DriverContext& context)
        : supervisord_(find_supervisord()), jail_(context.libexec / "crashloop-sandbox"),
          dir_(jail_.dir()), socket_(dir_ / "supervisor.sock"), log_path_(dir_ / "supervisord.log"),
          programs_dir_(dir_ / "programs"), output_dir_(dir_ / "output"),
          events_dir_(dir_ / "events"), rpc_(socket_) {
        try {
            for (const auto& d : {programs_dir_, output_dir_, events_dir_})
                std::filesystem::create_directories(d);
            write_file(dir_ / "supervisord.conf", config());
            inotify_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
            if (inotify_ < 0)
                throw SupervisorError(std::string("inotify_init1: ") + std::strerror(errno));
            // The directory, not the log: the log does not exist until
            // supervisord starts, and the log's own writes are IN_MODIFY on it.
            if (inotify_add_watch(inotify_, dir_.c_str(), IN_CREATE | IN_MODIFY) < 0)
                throw SupervisorError("inotify on " + dir_.string() + ": " + std::strerror(errno));
            // supervisord has no readiness protocol: RUNNING means spawned a
            // moment ago, often before the service has said it is ready. The
            // service's own files in events_dir() (the fake httpd's event log)
            // are where it says so; a write there is a change worth a look.
            events_watch_ = inotify_add_watch(inotify_, events_dir_.c_str(),
                                              IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO);
            if (events_watch_ < 0)
                throw SupervisorError("inotify on " + events_dir_.string() + ": " +
                                      std::strerror(errno));
            launch();
            await_running();
        } catch (...) {
            release();
            throw;
        }
    }

    ~SupervisordDriver() override {
        release();
    } // then jail_ (declared before the rest) kills whatever is left

    std::string name() const override { return "supervisord"; }
    std::string version() override {
        return call("supervisor.getSupervisorVersion", {}).as_string();
    }
    std::filesystem::path events_dir() const override { return events_dir_; }

    std::optional<std::string> cannot_express(const ServiceSpec& spec,
                                              const ExitCause& cause) const override {
        if (spec.type == "forking")
            return "supervisord cannot run a Type=forking daemon: it supervises the process it "
                   "started, which exits once the daemon has forked (supervisord.conf(5): "
                   "\"programs must not daemonize\")";
        if (cause.trigger == Trigger::reload && !reload_is_sigusr1(spec.exec_reload))
            return "supervisord has no ExecReload=: its reload is SIGUSR1 to the process "
                   "(signalProcess), and the unit's ExecReload= (" +
                   command_words(spec.exec_reload) + ") is not that";
        if (spec.watchdog.count() > 0 || cause.watchdog_ms ||
            cause.outcome.kind == Outcome::Kind::watchdog)
            return "supervisord has no watchdog (WatchdogSec=, WATCHDOG=1 keep-alive pings)";
        if (cause.outcome.kind == Outcome::Kind::timeout && cause.trigger == Trigger::reload)
            return "supervisord has no reload operation, so no reload timeout: a reload is only a "
                   "signal "
                   "(signalProcess), which never times out";
        if (cause.outcome.kind == Outcome::Kind::timeout)
            return "supervisord has no readiness protocol (READY=1) and so no start timeout "
                   "(TimeoutStartSec=): a process that never becomes ready runs on as RUNNING";
        if (cause.every_incarnation)
            return "supervisord has no start rate limit (StartLimitBurst=, "
                   "StartLimitIntervalSec=): startretries= "
                   "counts only starts that fail within startsecs=, so a crash loop after a "
                   "successful start "
                   "is restarted forever";
        return std::nullopt;
    }

    void reserve(const std::vector<std::string>& services) override {
        std::map<std::string, std::string> seen;
        for (const auto& service : services) {
            const std::string program = supervisord_program_name(service);
            auto [it, fresh] = seen.emplace(program, service);
            if (!fresh && it->second != service)
                throw SupervisorError("services " + it->second + " and " + service +
                                      " would both be supervisord program " + program);
        }
    }

    void watch(OnChange on_change, OnJobDone on_job_done) override {
        on_change_ = std::move(on_change);
        on_job_done_ = std::move(on_job_done);
    }

    // Batched: every start() before the next wait() is written out there, with
    // one reloadConfig for all (each reloadConfig re-parses every file).
    void start(const ServiceSpec& spec, Done done) override {
        SupervisordProgram config;
        try {
            config = supervisord_program(spec, output_dir_ /
                                                   (supervisord_program_name(spec.name) + ".log"));
        } catch (const ProgramError& e) {
            return later(
                [done = std::move(done), what = std::string(e.what())] { done(what, ""); });
        }
        if (auto it = service_of_.find(config.name);
            it != service_of_.end() || programs_.contains(spec.name)) {
            const std::string error = "supervisord program " + config.name +
                                      " exists already (for " +
                                      (it != service_of_.end() ? it->second : spec.name) + ")";
            return later([done = std::move(done), error] { done(error, ""); });
        }
        Program& p = programs_[spec.name];
        p.service = spec.name;
        // Its files in events_dir(), named on its command line (--events, --pidfile).
        for (const auto& word : spec.exec_start) {
            const std::filesystem::path file(word);
            if (file.has_filename() && file.parent_path() == events_dir_)
                owner_of_[file.filename()] = spec.name;
        }
        p.config = std::move(config);
        p.start_job = next_job_++;
        service_of_[p.config.name] = spec.name;
        pending_starts_.push_back({spec.name, std::move(done)});
        if (pending_starts_.size() == 1) later([this] { flush_starts(); });
    }

    // stopProcess(wait=False): supervisord sends stopsignal= and returns; the
    // job ends when the log says the process stopped (or ended otherwise).
    void stop(const std::string& service, Done done) override {
        later([this, service, done = std::move(done)] {
            Program* p = find(service);
            if (p == nullptr) return done("unknown service " + service, "");
            try {
                call("supervisor.stopProcess", {p->config.name, false});
            } catch (const XmlRpcFault& fault) {
                // Not running (exited, stopped, fatal): nothing to stop.
                if (fault.code == kFaultNotRunning) return done("", "");
                return done("supervisord refused to stop " + p->config.name + ": " + fault.what(),
                            "");
            }
            p->stop_job = next_job_++;
            p->stopped_by_us = true;
            done("", std::to_string(p->stop_job));
            drain_log();
        });
    }

    // supervisord has no reload operation; the fake httpd's graceful reload
    // (what `fake-httpd -k graceful`, the ExecReload=, sends) is SIGUSR1.
    // An ExecReload= that only sends SIGUSR1 to the main process: Apache's (and the fake
    // httpd's) `-k graceful`, or `kill -USR1 $MAINPID`. That is what reload() does here.
    static bool reload_is_sigusr1(const std::vector<std::string>& argv) {
        const auto has = [&](std::string_view word) {
            return std::find(argv.begin(), argv.end(), word) != argv.end();
        };
        if (argv.empty()) return false;
        const std::string program = std::filesystem::path(argv.front()).filename().string();
        if (program == "kill")
            return (has("-USR1") || has("-SIGUSR1") || has("-10")) && has("$MAINPID");
        for (size_t i = 0; i + 1 < argv.size(); ++i)
            if (argv[i] == "-k" && argv[i + 1] == "graceful") return true;
        return false;
    }
    static std::string command_words(const std::vector<std::string>& argv) {
        if (argv.empty()) return "none";
        std::string text;
        for (const auto& word : argv)
            text += (text.empty() ? "" : " ") + word;
        return text;
    }

    void reload(const std::string& service, Done done) override {
        signal_program(service, SIGUSR1, std::move(done));
    }
    void kill(const std::string& service, int signal, Done done) override {
        signal_program(service, signal, std::move(done));
    }

    void state(const std::string& service, StateDone done) override {
        later([this, service, done = std::move(done)] {
            Program* p = find(service);
            if (p == nullptr) {
                ServiceState gone;
                gone.active_state = "inactive";
                gone.sub_state = "dead";
                gone.load_state = "not-found";
                gone.collected = true;
                return done("", gone);
            }
            ServiceState s;
            try {
                s = confirmed_state(*p);
            } catch (const Interrupted&) {
                throw; // not this service's error: the run ends
            } catch (const std::exception& e) {
                return done(e.what(), s);
            }
            done("", s);
        });
    }

    bool wait(Clock::time_point deadline, int interrupt_fd) override {
        for (;;) {
            if (interrupted(interrupt_fd, 0)) return true;
            bool worked = false;
            // What is queued now; what these queue in turn runs on the next wait().
            for (size_t n = queue_.size(); n > 0 && !queue_.empty(); --n) {
                auto op = std::move(queue_.front());
                queue_.pop_front();
                op();
                worked = true;
            }
            if (drain_log()) worked = true;
            if (announce_touched()) worked = true;
            if (worked || !queue_.empty()) return false;
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now())
                    .count();
            if (left <= 0) return false;
            pollfd fds[3] = {{inotify_, POLLIN, 0}, {pidfd_, POLLIN, 0}, {interrupt_fd, POLLIN, 0}};
            const int r = ::poll(fds, interrupt_fd >= 0 ? 3 : 2,
                                 static_cast<int>(std::min<long long>(left, 60000)));
            if (r < 0 && errno != EINTR)
                throw SupervisorError(std::string("poll: ") + std::strerror(errno));
            if (r > 0 && (fds[2].revents & POLLIN) && interrupt_fd >= 0) return true;
            if (r > 0 && (fds[1].revents & POLLIN)) {
                drain_log();
                throw SupervisorError("supervisord (pid " + std::to_string(pid_) +
                                      ") exited unasked; its log: " + tail_of(log_path_));
            }
            drain_inotify();
        }
    }

  private:
    std::filesystem::path supervisord_;
    // Before every member that refers into it (its dir, the socket): destroyed
    // after them, it kills everything supervisord started.
    Jail jail_;
    std::filesystem::path dir_, socket_, log_path_, programs_dir_, output_dir_, events_dir_;
    XmlRpcClient rpc_;
    pid_t pid_ = -1;
    int pidfd_ = -1;
    int inotify_ = -1;
    int log_fd_ = -1;
    int events_watch_ = -1;
    std::map<std::string, std::string> owner_of_; // a file in events_dir → its service
    std::set<std::string> touched_;           // services whose files changed since the last wait()
    std::string partial_;                     // a log line not yet ended by '\n'
    std::map<std::string, Program> programs_; // by service
    std::map<std::string, std::string> service_of_; // program name → service
    std::vector<std::pair<std::string, Done>> pending_starts_;
    std::deque<std::function<void()>> queue_;
    OnChange on_change_;
    OnJobDone on_job_done_;
    uint32_t next_job_ = 1;

    static constexpr auto kCallTimeout = std::chrono::seconds(30);

    void later(std::function<void()> op) { queue_.push_back(std::move(op)); }

    Program* find(const std::string& service) {
        auto it = programs_.find(service);
        return it == programs_.end() ? nullptr : &it->second;
    }

    XmlRpcValue call(const std::string& method, const std::vector<XmlRpcValue>& params) {
        try {
            return rpc_.call(method, params, Clock::now() + kCallTimeout);
        } catch (const XmlRpcFault&) {
            throw;
        } catch (const XmlRpcError& e) {
            throw SupervisorError("supervisord: " + std::string(e.what()));
        }
    }

    // --- starting supervisord ----------------------------------------------

    std::string config() const {
        std::string c;
        c += "; crashloop's own supervisord: nothing here is the host's.\n";
        c += "[unix_http_server]\nfile=" + socket_.string() + "\nchmod=0700\n\n";
        c += "[supervisord]\n";
        c += "logfile=" + log_path_.string() + "\n";
        c += "logfile_maxbytes=0\n"; // no rotation: the driver tails this file
        c += "logfile_backups=0\n";
        c += "loglevel=debug\n"; // "killing NAME" (STOPPING) is logged at debug only
        c += "pidfile=" + (dir_ / "supervisord.pid").string() + "\n";
        c += "childlogdir=" + output_dir_.string() + "\n";
        c += "nodaemon=true\nsilent=true\nidentifier=crashloop\n\n";
        c += "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = "
             "supervisor.rpcinterface:make_main_rpcinterface\n\n";
        c += "[supervisorctl]\nserverurl=unix://" + socket_.string() + "\n\n";
        c += "[include]\nfiles = " + (programs_dir_ / "*.conf").string() + "\n";
        return c;
    }

    void launch() {
        std::vector<std::string> argv = jail_.enter_prefix();
        argv.push_back(supervisord_.string());
        argv.push_back("-n");
        argv.push_back("-c");
        argv.push_back((dir_ / "supervisord.conf").string());
        std::vector<char*> args;
        for (auto& a : argv)
            args.push_back(a.data());
        args.push_back(nullptr);

        // Our own environment, less what would make the fake httpd talk to
        // someone else's manager (supervisord passes it on to its children).
        std::vector<std::string> env;
        for (char** e = environ; *e != nullptr; ++e) {
            const std::string_view entry(*e);
            if (entry.starts_with("NOTIFY_SOCKET=") || entry.starts_with("WATCHDOG_") ||
                entry.starts_with("LISTEN_") || entry.starts_with("SUPERVISOR_"))
                continue;
            env.emplace_back(entry);
        }
        std::vector<char*> envp;
        for (auto& e : env)
            envp.push_back(e.data());
        envp.push_back(nullptr);

        const std::string out = (dir_ / "supervisord.out").string();
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                         0600);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        const int r = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), envp.data());
        posix_spawn_file_actions_destroy(&actions);
        if (r != 0) throw SupervisorError("starting " + argv[0] + ": " + std::strerror(r));
        pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
        if (pidfd_ < 0) {
            const int e = errno;
            ::kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
            pid_ = -1;
            throw SupervisorError(std::string("pidfd_open(supervisord): ") + std::strerror(e));
        }
        logger()->debug("supervisord pid {} in {}", pid_, dir_.string());
    }

    // supervisord logs "supervisord started with pid N" after its servers
    // listen (supervisord.py run(): openhttpservers, then write_pidfile); the
    // first call is then answered as soon as its main loop runs.
    void await_running() {
        const auto deadline = Clock::now() + std::chrono::seconds(30);
        std::string seen;
        for (;;) {
            if (log_fd_ < 0) log_fd_ = open(log_path_.c_str(), O_RDONLY | O_CLOEXEC);
            if (log_fd_ >= 0) {
                drain_log();
                if (started_) break;
            }
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now())
                    .count();
            if (left <= 0)
                throw SupervisorError("supervisord did not start within 30 s; its log: " +
                                      tail_of(log_path_) + tail_of(dir_ / "supervisord.out"));
            pollfd fds[3] = {{inotify_, POLLIN, 0}, {pidfd_, POLLIN, 0}, {interrupt::fd(), POLLIN, 0}};
            if (::poll(fds, interrupt::fd() >= 0 ? 3 : 2, static_cast<int>(left)) < 0 && errno != EINTR)
                throw SupervisorError(std::string("poll: ") + std::strerror(errno));
            interrupt::throw_if_requested();
            if (fds[1].revents & POLLIN)
                throw SupervisorError("supervisord exited at start: " +
                                      tail_of(dir_ / "supervisord.out") + tail_of(log_path_));
            drain_inotify();
        }
        const std::string state = call("supervisor.getState", {})["statename"].as_string();
        if (state != "RUNNING")
            throw SupervisorError("supervisord started but says it is " + state);
        logger()->info("supervisord {} running, pid {}", version(), pid_);
    }

    void drain_inotify() {
        alignas(inotify_event) char buffer[16384];
        for (;;) {
            const ssize_t n = read(inotify_, buffer, sizeof buffer);
            if (n <= 0) break;
            for (ssize_t at = 0; at < n;) {
                const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
                at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
                if (event->wd != events_watch_ || event->len == 0) continue;
                auto owner = owner_of_.find(event->name);
                if (owner != owner_of_.end()) touched_.insert(owner->second);
            }
        }
    }

    // A service wrote to its files in events_dir(): its latest view, again.
    bool announce_touched() {
        if (touched_.empty()) return false;
        auto touched = std::move(touched_);
        touched_.clear();
        for (const auto& service : touched)
            if (Program* p = find(service); p != nullptr && on_change_)
                on_change_(service, view(*p));
        return true;
    }

    bool interrupted(int fd, int timeout_ms) {
        if (fd < 0) return false;
        pollfd p{fd, POLLIN, 0};
        return ::poll(&p, 1, timeout_ms) > 0 && (p.revents & POLLIN);
    }

    void release() {
        shut_down();
        if (log_fd_ >= 0) close(log_fd_);
        if (inotify_ >= 0) close(inotify_);
        log_fd_ = inotify_ = -1;
    }

    // supervisord's own shutdown stops its programs one process group at a
    // time (supervisord.py ordered_stop_groups_phase_1/2: only the last group
    // of stop_groups is stopped, and popped once it is down, one main-loop
    // iteration each), and an iteration with nothing to do waits out its 1 s
    // poll timeout: a program still running at shutdown gets its stopsignal
    // only after a second per group behind it, up to minutes with the
    // matrix's 175. And one is often still running: the runner stops each
    // cell once it has a verdict, but stop() is queued for the next wait(),
    // which the runner no longer calls once the last verdict is in.
    // So every program is stopped here, and supervisord is told to shut down,
    // in one system.multicall: handled in one iteration, before that
    // iteration's transition() could respawn anything, after which the
    // SHUTDOWN mood forbids respawns. supervisord then exits as soon as
    // the last of them is reaped.
    void shut_down() {
        if (pid_ < 0) return;
        // Interrupted: no graceful end; it and its programs go with the jail, at once.
        if (interrupt::requested()) {
            ::kill(pid_, SIGKILL);
            return reap();
        }
        std::vector<XmlRpcValue> calls;
        for (const auto& [service, p] : programs_)
            calls.push_back(std::map<std::string, XmlRpcValue>{
                {"methodName", "supervisor.stopProcess"},
                {"params", std::vector<XmlRpcValue>{p.config.name, false}}});
        calls.push_back(std::map<std::string, XmlRpcValue>{
            {"methodName", "supervisor.shutdown"}, {"params", std::vector<XmlRpcValue>{}}});
        try {
            // A fault per program that is down already (NOT_RUNNING) is expected.
            // With nothing left to wait for, supervisord exits before it writes
            // the answer: a cut-off answer is no error.
            rpc_.call("system.multicall", {XmlRpcValue(calls)},
                      Clock::now() + std::chrono::seconds(5));
        } catch (const std::exception& e) {
            logger()->debug("stopping every program and shutting down: {}", e.what());
        }
        // It waits for every program it stopped (stopwaitsecs= each at most), then exits.
        pollfd p[2] = {{pidfd_, POLLIN, 0}, {interrupt::fd(), POLLIN, 0}};
        const int r = ::poll(p, interrupt::fd() >= 0 ? 2 : 1, 20000);
        if (interrupt::requested()) {
            ::kill(pid_, SIGKILL);
        } else if (r <= 0) {
            logger()->warn("supervisord (pid {}) did not exit within 20 s of shutdown; killing it",
                           pid_);
            ::kill(pid_, SIGKILL);
        }
        reap();
    }

    void reap() {
        waitpid(pid_, nullptr, 0);
        close(pidfd_);
        pid_ = -1;
        pidfd_ = -1;
    }

    // --- starting programs --------------------------------------------------

    void flush_starts() {
        auto batch = std::move(pending_starts_);
        pending_starts_.clear();
        std::vector<std::pair<std::string, Done>> written;
        for (auto& [service, done] : batch) {
            Program& p = programs_.at(service);
            try {
                write_file(programs_dir_ / (p.config.name + ".conf"), p.config.section);
                written.emplace_back(service, std::move(done));
            } catch (const Interrupted&) {
                throw; // not this service's error: the run ends
            } catch (const std::exception& e) {
                forget(service);
                done(e.what(), "");
            }
        }
        if (written.empty()) return;
        // reloadConfig only reads the files; addProcessGroup makes each one
        // live, and autostart=true has the next transition() spawn it.
        std::string reload_error;
        try {
            call("supervisor.reloadConfig", {});
        } catch (const Interrupted&) {
            throw; // not this service's error: the run ends
        } catch (const std::exception& e) {
            reload_error = std::string("supervisord reloadConfig: ") + e.what();
        }
        std::vector<XmlRpcValue> calls;
        for (const auto& [service, done] : written)
            calls.push_back(std::map<std::string, XmlRpcValue>{
                {"methodName", "supervisor.addProcessGroup"},
                {"params", std::vector<XmlRpcValue>{programs_.at(service).config.name}}});
        std::vector<XmlRpcValue> results;
        if (reload_error.empty()) {
            try {
                results = call("system.multicall", {XmlRpcValue(calls)}).as_array();
                if (results.size() != written.size())
                    reload_error = "supervisord answered " + std::to_string(results.size()) +
                                   " of " + std::to_string(written.size()) +
                                   " addProcessGroup calls";
            } catch (const Interrupted&) {
                throw; // not this service's error: the run ends
            } catch (const std::exception& e) {
                reload_error = std::string("supervisord addProcessGroup: ") + e.what();
            }
        }
        for (size_t i = 0; i < written.size(); ++i) {
            auto& [service, done] = written[i];
            std::string error = reload_error;
            if (error.empty() && results[i].kind == XmlRpcValue::Kind::structure)
                error = "supervisord refused program " + programs_.at(service).config.name + ": " +
                        results[i].describe();
            if (!error.empty()) forget(service);
            done(error, "");
        }
        drain_log();
    }

    void forget(const std::string& service) {
        if (Program* p = find(service)) service_of_.erase(p->config.name);
        programs_.erase(service);
    }

    void signal_program(const std::string& service, int signal, Done done) {
        later([this, service, signal, done = std::move(done)] {
            Program* p = find(service);
            if (p == nullptr) return done("unknown service " + service, "");
            const std::string name = signal_name(signal);
            if (name.empty()) return done("no signal " + std::to_string(signal), "");
            try {
                call("supervisor.signalProcess", {p->config.name, name.substr(3)});
            } catch (const XmlRpcFault& fault) {
                return done("supervisord refused to send " + name + " to " + p->config.name + ": " +
                                fault.what(),
                            "");
            }
            done("", "");
        });
    }

    // --- the log --------------------------------------------------------------

    bool started_ = false;

    // Reads what supervisord logged since last time and replays it. Returns
    // true when a program's state changed.
    bool drain_log() {
        if (log_fd_ < 0) return false;
        char buffer[65536];
        bool changed = false;
        for (;;) {
            const ssize_t n = read(log_fd_, buffer, sizeof buffer);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            partial_.append(buffer, static_cast<size_t>(n));
            size_t begin = 0;
            for (size_t end; (end = partial_.find('\n', begin)) != std::string::npos;
                 begin = end + 1)
                if (replay(partial_.substr(begin, end - begin))) changed = true;
            partial_.erase(0, begin);
        }
        return changed;
    }

    // One line of the log (supervisord_log.cpp reads it).
    bool replay(const std::string& line) {
        const auto record = parse_supervisord_log_line(line);
        if (!record) return false;
        using Kind = SupervisordLogLine::Kind;
        if (record->kind == Kind::started) started_ = true;

        auto it = service_of_.find(record->program);
        Program* p = it == service_of_.end() ? nullptr : find(it->second);
        if (p == nullptr) return false;
        switch (record->kind) {
        case Kind::spawned:
            p->statename = "STARTING";
            p->pid = record->pid;
            ++p->spawns;
            p->start_job = p->restart_job = 0;
            p->stopped_by_us = false;
            p->spawnerr.clear();
            p->description.clear();
            break;
        case Kind::success:
            p->statename = "RUNNING";
            break;
        case Kind::exited:
            // startsecs=0: never "exited too quickly" (BACKOFF), always EXITED.
            set_exit(record->exit, *p);
            p->exit_expected = record->expected;
            p->pid = 0;
            p->statename = "EXITED";
            if (supervisord_restarts(p->config.autorestart, p->exit_expected) &&
                p->restart_job == 0)
                p->restart_job = next_job_++;
            break;
        case Kind::stopped:
            set_exit(record->exit, *p);
            p->exit_expected = true;
            p->pid = 0;
            p->statename = "STOPPED";
            break;
        case Kind::killing:
            p->statename = "STOPPING";
            break;
        case Kind::gave_up:
            p->statename = "FATAL";
            p->restart_job = 0;
            p->description = record->why; // "too many start retries too quickly"
            break;
        case Kind::backoff_stop:
            p->statename = "STOPPED";
            p->restart_job = 0;
            break;
        case Kind::started:
        case Kind::other:
            return false;
        }
        ++p->events;
        const ServiceState s = view(*p);
        if (on_change_) on_change_(p->service, s);
        // A stop is over once the process is down, whichever way it went down.
        if (p->stop_job != 0 && p->statename != "STOPPING" && p->statename != "RUNNING" &&
            p->statename != "STARTING") {
            const std::string job = std::to_string(p->stop_job);
            p->stop_job = 0;
            if (on_job_done_) on_job_done_(job, p->service, "done");
        }
        return true;
    }

    // A program's state in systemd's words.
    ServiceState view(const Program& p) const {
        ServiceState s;
        s.load_state = "loaded";
        s.n_restarts = p.spawns > 0 ? p.spawns - 1 : 0;
        s.exec_main_code = p.exit_code;
        s.exec_main_status = p.exit_status;
        s.result = "success";
        s.own_words = supervisord_words(p.statename, p.spawnerr, p.description);
        const std::string& st = p.statename;
        if (st == "RUNNING" || st == "STARTING" || st == "STOPPING") s.main_pid = p.pid;
        if (st == "RUNNING") {
            s.active_state = "active";
            s.sub_state = "running";
        } else if (st == "STARTING") {
            s.active_state = "activating";
            s.sub_state = "start";
        } else if (st == "STOPPING") {
            s.active_state = "deactivating";
            s.sub_state = "stop";
            s.job_id = p.stop_job;
        } else if (st == "BACKOFF") {
            s.active_state = "activating";
            s.sub_state = "auto-restart";
            s.job_id = p.restart_job != 0 ? p.restart_job : 1;
        } else if (st == "FATAL") {
            // Gave up after startretries= failed starts: the nearest is the start limit.
            s.active_state = "failed";
            s.sub_state = "failed";
            s.result = "start-limit-hit";
        } else if (st == "EXITED" && supervisord_restarts(p.config.autorestart, p.exit_expected)) {
            s.active_state = "activating";
            s.sub_state = "auto-restart";
            s.job_id = p.restart_job;
            s.result = exit_result(p);
        } else if (st == "EXITED" && !p.exit_expected) {
            s.active_state = "failed";
            s.sub_state = "failed";
            s.result = exit_result(p);
        } else { // EXITED as expected, STOPPED
            s.active_state = "inactive";
            s.sub_state = "dead";
            // Added but not spawned yet: the start is still to come.
            if (st == "STOPPED" && p.spawns == 0) s.job_id = p.start_job;
        }
        return s;
    }

    static std::string exit_result(const Program& p) {
        if (p.exit_code == CLD_DUMPED) return "core-dump";
        if (p.exit_code == CLD_KILLED) return "signal";
        return p.exit_expected ? "success" : "exit-code";
    }

    // state(): an answer that reflects every decision supervisord made before
    // the call. The subtle one is the restart: supervisord reaps a child at the
    // end of a main-loop iteration (supervisord.py runforever(): poll, the
    // sockets' reads and writes (where RPCs are handled), then every group's
    // transition(), then reap()) or inside a stopProcess/startProcess RPC, and
    // logs "exited:" there; it respawns it only in a later transition()
    // (process.py), up to a poll timeout (1 s) afterwards. So:
    //   L0: read the log to its end;
    //   RPC1, then RPC2, sent only after RPC1's answer;
    //   L2: read the log to its end.
    // An exit already in the log at L0 was reaped before RPC1 was handled, in
    // an earlier iteration or earlier in RPC1's own one; either way the
    // transition() that follows the reap ran no later than RPC1's iteration,
    // after RPC1's handling. RPC2 is handled in a later iteration than RPC1
    // (its request is read from a connection accepted after RPC1 was
    // answered), so after that transition(). If that transition() respawned
    // the process, "spawned:" was logged before RPC2 was answered, and L2 has
    // it. Hence: if nothing new was logged for the program between L0 and L2,
    // the state at L0 is settled: an EXITED with no restart decided then will
    // never be restarted (transition() decides from autorestart= and the exit
    // status alone, which do not change). Otherwise the round is repeated.
    ServiceState confirmed_state(Program& p) {
        for (int round = 0; round < 10; ++round) {
            drain_log(); // L0
            const uint64_t events = p.events;
            call("supervisor.getProcessInfo", {p.config.name});                          // RPC1
            const XmlRpcValue info = call("supervisor.getProcessInfo", {p.config.name}); // RPC2
            drain_log();                                                                 // L2
            if (p.events != events) continue;
            // Nothing logged meanwhile: RPC2 is as new as the log. A state
            // supervisord does not log with the program's name (BACKOFF after a
            // spawn error: "spawnerr: can't find command …") comes from RPC2.
            const std::string statename = info["statename"].as_string();
            for (auto [field, member] : {std::pair{&p.spawnerr, "spawnerr"}, std::pair{&p.description, "description"}})
                if (info.has(member)) *field = info[member].as_string();
            if (statename != p.statename) {
                if (statename == "BACKOFF" || statename == "FATAL") {
                    p.statename = statename;
                    if (statename == "BACKOFF" && p.restart_job == 0) p.restart_job = next_job_++;
                } else {
                    logger()->warn("{}: supervisord says {}, its log says {}", p.config.name,
                                   statename, p.statename);
                }
            }
            return view(p);
        }
        throw SupervisorError("supervisord kept changing " + p.config.name +
                              " for 10 confirmation rounds");
    }
};

} // namespace

DriverInfo supervisord_driver() {
    return {.name = "supervisord",
            .usage = "supervisord (Debian's supervisor package, run privately in a jail)",
            .make = [](const DriverContext& context) -> std::unique_ptr<Supervisor> {
                return std::make_unique<SupervisordDriver>(context);
            }};
}

} // namespace crashloop
