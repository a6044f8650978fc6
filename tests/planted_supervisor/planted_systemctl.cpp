// planted-systemctl: a small systemctl-compatible supervisor that is wrong on
// purpose, so that a matrix run against it (`crashloop matrix --supervisor
// systemctl:planted-systemctl`) has exactly two things to find:
//
//   PLANTED BUG (a): Restart=on-failure also restarts after the clean signal
//                    SIGTERM (Table 2 of systemd.service(5) says it stays down).
//   PLANTED BUG (b): RestartPreventExitStatus= is ignored entirely.
//
// Everything else follows systemd.service(5) for exit codes and signals:
// clean = exit 0, SIGHUP, SIGINT, SIGTERM, SIGPIPE or SuccessExitStatus= (a
// core dump never is); RestartForceExitStatus= always restarts; RestartSec=
// before a restart; NRestarts; StartLimitIntervalSec=/StartLimitBurst=; our own
// stop never restarts. No timeouts (start, reload), no watchdog, no
// notifications: Type=notify and Type=simple alike count as running once exec'd.
//
//   planted-systemctl --version | daemon-reload | start NAME | stop NAME | reload NAME
//                     | kill -s SIG [--kill-whom=main] NAME | show [-p PROP,...] NAME...
//
// Units are read from $SYSTEMD_UNIT_PATH (its first folder). State lives in
// $PLANTED_STATE_DIR, else in <unit folder>/../state: one file per service,
// written only by that service's monitor (the detached process `start` leaves
// behind, which runs ExecStart= and decides restarts), always through a rename,
// so `show` sees each decision whole: at an exit, either auto-restart or the
// final inactive/dead or failed/failed, never one and then the other. (The
// polled design, PLANTED_POLLED=1 below, rewrites it in place: torn reads.)
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <poll.h>
#include <set>
#include <sstream>
#include <string>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(int status, const std::string& what) {
    std::fprintf(stderr, "planted-systemctl: %s\n", what.c_str());
    std::exit(status);
}

long long now_us() {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

// ---- Unit files ------------------------------------------------------------------------------

std::optional<int> parse_signal(std::string text) {
    if (text.starts_with("SIG")) text.erase(0, 3);
    for (int signo = 1; signo < NSIG; ++signo)
        if (const char* name = sigabbrev_np(signo); name && text == name) return signo;
    return std::nullopt;
}

// "100ms", "30s", "1500us", "2min", "5" (seconds), "infinity".
long long parse_usec(const std::string& text) {
    if (text == "infinity") return -1;
    size_t used = 0;
    long long number = std::stoll(text, &used);
    const std::string unit = text.substr(used);
    if (unit.empty() || unit == "s" || unit == "sec") return number * 1000000;
    if (unit == "ms" || unit == "msec") return number * 1000;
    if (unit == "us" || unit == "usec") return number;
    if (unit == "min") return number * 60000000;
    fail(1, "unsupported time span '" + text + "'");
}

// Words as systemd.syntax(7) quotes them: "…" and '…' with C escapes inside,
// "\;" a literal ';'. '%%' and '$$' are the literal '%' and '$'.
std::vector<std::string> split_words(const std::string& text) {
    std::vector<std::string> words;
    size_t i = 0;
    while (i < text.size()) {
        if (text[i] == ' ' || text[i] == '\t') {
            ++i;
            continue;
        }
        std::string word;
        char quote = 0;
        for (; i < text.size() && (quote || (text[i] != ' ' && text[i] != '\t')); ++i) {
            char c = text[i];
            if (c == '\\' && i + 1 < text.size()) {
                char e = text[++i];
                if (e == 'n')
                    word += '\n';
                else if (e == 't')
                    word += '\t';
                else if (e == 'r')
                    word += '\r';
                else if (e == 'x' && i + 2 < text.size()) {
                    word += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
                    i += 2;
                } else
                    word += e;
            } else if (quote && c == quote) {
                quote = 0;
            } else if (!quote && (c == '"' || c == '\'')) {
                quote = c;
            } else if ((c == '%' || c == '$') && i + 1 < text.size() && text[i + 1] == c) {
                word += c;
                ++i;
            } else {
                word += c;
            }
        }
        words.push_back(word);
    }
    return words;
}

struct StatusSet {
    std::set<int> codes, signals;
    // As systemd's exit_status_set_test(): codes for an exit, signals for a death.
    bool contains(int code, int status) const {
        return code == CLD_EXITED ? codes.count(status) > 0 : signals.count(status) > 0;
    }
};

StatusSet parse_statuses(const std::vector<std::string>& values) {
    StatusSet set;
    for (const auto& value : values)
        for (const auto& word : split_words(value)) {
            if (auto signo = parse_signal(word))
                set.signals.insert(*signo);
            else
                set.codes.insert(std::stoi(word));
        }
    return set;
}

struct Unit {
    std::string name;
    std::string restart = "no";
    long long restart_usec = 100000;
    long long timeout_stop_usec = 90000000;
    long long start_limit_interval_usec = 10000000;
    unsigned start_limit_burst = 5;
    std::vector<std::string> exec_start, exec_reload, exec_stop;
    int kill_signal = SIGTERM;
    std::string kill_mode = "control-group";
    StatusSet success, prevent, force;
    std::vector<std::string> environment;
};

fs::path unit_dir() {
    const char* path = std::getenv("SYSTEMD_UNIT_PATH");
    if (!path || !*path) fail(1, "$SYSTEMD_UNIT_PATH is not set");
    std::string first(path);
    return first.substr(0, first.find(':'));
}

fs::path state_dir() {
    if (const char* dir = std::getenv("PLANTED_STATE_DIR"); dir && *dir) return dir;
    return unit_dir() / ".." / "state";
}

bool unit_exists(const std::string& name) {
    return fs::exists(unit_dir() / name);
}

Unit load_unit(const std::string& name) {
    std::ifstream in(unit_dir() / name);
    if (!in) fail(5, "Unit " + name + " not found.");
    std::map<std::string, std::vector<std::string>> keys; // "Section.Key" → every value
    std::string section, line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#' || line[0] == ';') continue;
        if (line[0] == '[') {
            section = line.substr(1, line.find(']') - 1);
            continue;
        }
        const size_t equals = line.find('=');
        if (equals == std::string::npos) continue;
        keys[section + "." + line.substr(0, equals)].push_back(line.substr(equals + 1));
    }
    auto last = [&](const std::string& key) -> std::optional<std::string> {
        auto it = keys.find(key);
        if (it == keys.end() || it->second.empty()) return std::nullopt;
        return it->second.back();
    };
    Unit u;
    u.name = name;
    if (auto v = last("Service.Restart")) u.restart = *v;
    if (auto v = last("Service.RestartSec")) u.restart_usec = parse_usec(*v);
    if (auto v = last("Service.TimeoutStopSec")) u.timeout_stop_usec = parse_usec(*v);
    if (auto v = last("Unit.StartLimitIntervalSec")) u.start_limit_interval_usec = parse_usec(*v);
    if (auto v = last("Unit.StartLimitBurst")) u.start_limit_burst = std::stoul(*v);
    if (auto v = last("Service.ExecStart")) u.exec_start = split_words(*v);
    if (auto v = last("Service.ExecReload")) u.exec_reload = split_words(*v);
    if (auto v = last("Service.ExecStop")) u.exec_stop = split_words(*v);
    if (auto v = last("Service.KillSignal")) {
        auto signo = parse_signal(*v);
        if (!signo) fail(1, name + ": bad KillSignal=" + *v);
        u.kill_signal = *signo;
    }
    if (auto v = last("Service.KillMode")) u.kill_mode = *v;
    u.success = parse_statuses(keys["Service.SuccessExitStatus"]);
    u.prevent = parse_statuses(keys["Service.RestartPreventExitStatus"]);
    u.force = parse_statuses(keys["Service.RestartForceExitStatus"]);
    for (const auto& value : keys["Service.Environment"])
        for (const auto& word : split_words(value))
            u.environment.push_back(word);
    if (u.exec_start.empty()) fail(1, name + " has no ExecStart=");
    return u;
}

// ---- State -----------------------------------------------------------------------------------

struct State {
    std::string active = "inactive", sub = "dead", result = "success";
    long main_pid = 0, monitor = 0;
    unsigned n_restarts = 0, job = 0;
    int exec_code = 0, exec_status = 0; // CLD_EXITED/KILLED/DUMPED and the code or signal
    long long exit_us = 0;
};

fs::path state_file(const std::string& name) {
    return state_dir() / (name + ".state");
}

bool polled(); // PLANTED_POLLED=1, below

// Through a rename: a reader sees the old state or the new one, whole. The polled design
// rewrites the file in place instead, as some supervisors do: a reader may find it empty or
// half written (a torn read), the more often with PLANTED_TORN_US, a pause between the
// truncation and the write.
void write_state(const std::string& name, const State& s) {
    const fs::path file = state_file(name);
    std::ostringstream text;
    text << "ActiveState=" << s.active << "\nSubState=" << s.sub << "\nResult=" << s.result
         << "\nMainPID=" << s.main_pid << "\nNRestarts=" << s.n_restarts
         << "\nExecMainCode=" << s.exec_code << "\nExecMainStatus=" << s.exec_status
         << "\nExecMainExitTimestampMonotonic=" << s.exit_us << "\nJob=" << s.job
         << "\nMonitorPID=" << s.monitor << "\n";
    const std::string bytes = text.str();
    if (polled()) {
        const int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) fail(1, "cannot write " + file.string() + ": " + strerror(errno));
        if (const char* pause = std::getenv("PLANTED_TORN_US")) usleep(std::atoi(pause));
        (void)!write(fd, bytes.data(), bytes.size());
        close(fd);
        return;
    }
    const fs::path tmp = file.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << bytes;
    }
    fs::rename(tmp, file);
}

State parse_state(const std::string& content) {
    State s;
    std::istringstream in(content);
    std::string line;
    while (std::getline(in, line)) {
        const size_t equals = line.find('=');
        if (equals == std::string::npos) continue; // a line cut short
        const std::string key = line.substr(0, equals), value = line.substr(equals + 1);
        if (value.empty()) continue;
        if (key == "ActiveState")
            s.active = value;
        else if (key == "SubState")
            s.sub = value;
        else if (key == "Result")
            s.result = value;
        else if (key == "MainPID")
            s.main_pid = std::stol(value);
        else if (key == "NRestarts")
            s.n_restarts = std::stoul(value);
        else if (key == "ExecMainCode")
            s.exec_code = std::stoi(value);
        else if (key == "ExecMainStatus")
            s.exec_status = std::stoi(value);
        else if (key == "ExecMainExitTimestampMonotonic")
            s.exit_us = std::stoll(value);
        else if (key == "Job")
            s.job = std::stoul(value);
        else if (key == "MonitorPID")
            s.monitor = std::stol(value);
    }
    return s;
}

// The state as the file holds it now. `show` reads it as it finds it, torn or not (and counts a
// torn read in $PLANTED_TORN_LOG, for a test to see that it happened); the commands that act
// on it read until it is whole, as a supervisor's own locking would make them.
State read_state(const std::string& name, bool as_found = false) {
    for (int attempt = 0;; ++attempt) {
        std::ifstream in(state_file(name));
        std::stringstream text;
        text << in.rdbuf();
        const std::string content = text.str();
        const bool torn = in.is_open() && content.find("\nMonitorPID=") == std::string::npos;
        if (!torn || as_found || attempt == 1000) {
            if (torn)
                if (const char* log = std::getenv("PLANTED_TORN_LOG")) {
                    const int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
                    (void)!write(fd, "torn\n", 5);
                    if (fd >= 0) close(fd);
                }
            return parse_state(content);
        }
        usleep(1000);
    }
}

bool monitor_alive(const State& s) {
    return s.monitor > 0 && kill(static_cast<pid_t>(s.monitor), 0) == 0;
}

// ---- The decision ----------------------------------------------------------------------------

// Result= as systemd sets it for an exit (service_sigchld_event(), is_clean_exit()).
std::string result_of(const Unit& u, int code, int status) {
    if (code == CLD_EXITED)
        return status == 0 || u.success.codes.count(status) ? "success" : "exit-code";
    if (code == CLD_KILLED) {
        const bool clean = status == SIGHUP || status == SIGINT || status == SIGTERM ||
                           status == SIGPIPE || u.success.signals.count(status);
        return clean ? "success" : "signal";
    }
    return "core-dump"; // SuccessExitStatus= never makes a core dump clean
}

// service_shall_restart() of src/core/service.c, and Table 2 of systemd.service(5).
bool shall_restart(const Unit& u, int code, int status, const std::string& result) {
    // PLANTED BUG (b): RestartPreventExitStatus= is never looked at. systemd
    // checks it first: a listed exit code or signal never restarts, whatever
    // Restart= or RestartForceExitStatus= say.
    if (u.force.contains(code, status)) return true;
    if (u.restart == "always") return true;
    if (u.restart == "on-success") return result == "success";
    if (u.restart == "on-failure")
        // PLANTED BUG (a): a death by SIGTERM is clean (Result=success), and
        // on-failure must leave it down; this also restarts it.
        return result != "success" || (code == CLD_KILLED && status == SIGTERM);
    if (u.restart == "on-abnormal" || u.restart == "on-abort")
        return result == "signal" || result == "core-dump"; // no timeouts or watchdog here
    return false; // "no", and "on-watchdog" without a watchdog
}

// ---- The monitor -----------------------------------------------------------------------------

// PLANTED_POLLED=1: the supervisor a foreign design makes. Its monitor restarts a service one
// poll period (PLANTED_POLL_MS, 1000 by default) after RestartSec=, and shows nothing pending
// meanwhile (failed or inactive, no job); `show` prints no NRestarts= and no exit status; and the main process is
// started through a launcher that forks it and exits (start-stop-daemon's way), the monitor
// adopting it as subreaper. Correct in every other way: a true crashloop finds nothing.
bool polled() {
    const char* value = std::getenv("PLANTED_POLLED");
    return value && std::string(value) == "1";
}

long long poll_usec() {
    const char* value = std::getenv("PLANTED_POLL_MS");
    return value ? std::atoll(value) * 1000 : 1000000;
}

// The service's main process: its own session, default signals, a clean
// environment with Environment= added, output to <state>/<name>.log.
pid_t spawn(const std::vector<std::string>& argv, const Unit& u, std::string& error) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) < 0) fail(1, "pipe2: " + std::string(strerror(errno)));
    int launched[2] = {-1, -1}; // polled: the launcher tells the main pid, then exits
    if (polled() && pipe2(launched, O_CLOEXEC) < 0) fail(1, "pipe2: " + std::string(strerror(errno)));
    pid_t pid = fork();
    if (pid < 0) fail(1, "fork: " + std::string(strerror(errno)));
    if (pid == 0 && polled()) {
        const pid_t main = fork();
        if (main < 0) _exit(1);
        if (main > 0) {
            (void)!write(launched[1], &main, sizeof main);
            _exit(0); // the launcher is gone at once; the monitor adopts its child
        }
    }
    if (pid == 0) {
        setsid();
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        for (int sig = 1; sig < NSIG; ++sig)
            std::signal(sig, SIG_DFL);
        std::vector<std::string> env = {"PATH=/usr/local/bin:/usr/bin:/bin"};
        env.insert(env.end(), u.environment.begin(), u.environment.end());
        std::vector<char*> args, envp;
        for (auto& a : const_cast<std::vector<std::string>&>(argv))
            args.push_back(a.data());
        args.push_back(nullptr);
        for (auto& e : env)
            envp.push_back(e.data());
        envp.push_back(nullptr);
        execve(args[0], args.data(), envp.data());
        int code = errno;
        (void)!write(report[1], &code, sizeof code);
        _exit(203); // systemd's EXIT_EXEC
    }
    close(report[1]);
    if (polled()) {
        close(launched[1]);
        pid_t main = -1;
        const bool told = read(launched[0], &main, sizeof main) == sizeof main;
        close(launched[0]);
        waitpid(pid, nullptr, 0);
        if (!told) {
            close(report[0]);
            error = "the launcher did not start " + argv[0];
            return -1;
        }
        pid = main;
    }
    int code = 0;
    ssize_t got;
    while ((got = read(report[0], &code, sizeof code)) < 0 && errno == EINTR) {
    }
    close(report[0]);
    if (got > 0) {
        waitpid(pid, nullptr, 0);
        error = "cannot run " + argv[0] + ": " + strerror(code);
        return -1;
    }
    return pid;
}

void signal_service(const Unit& u, pid_t main, int signo) {
    if (u.kill_mode == "control-group") kill(-main, signo); // the whole process group
    kill(main, signo);
}

class Monitor {
  public:
    Monitor(Unit unit, int report) : u_(std::move(unit)), report_(report) {
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM); // `stop`
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, nullptr);
        signals_ = signalfd(-1, &mask, SFD_CLOEXEC);
        s_.monitor = getpid();
    }

    int run() {
        std::vector<long long> starts;
        for (;;) {
            const long long now = now_us();
            std::erase_if(starts,
                          [&](long long t) { return now - t >= u_.start_limit_interval_usec; });
            if (u_.start_limit_interval_usec > 0 && u_.start_limit_burst > 0 &&
                starts.size() >= u_.start_limit_burst)
                return finish("failed", "failed", "start-limit-hit", "start limit hit");
            starts.push_back(now);
            std::string error;
            const pid_t main = spawn(u_.exec_start, u_, error);
            if (main < 0) {
                s_.exec_code = CLD_EXITED;
                s_.exec_status = 203;
                return finish("failed", "failed", "exit-code", error);
            }
            s_.active = "active";
            s_.sub = "running";
            s_.result = "success";
            s_.main_pid = main;
            s_.exec_code = s_.exec_status = 0; // systemd forgets the last exit at a new start
            s_.exit_us = 0;
            s_.job = 0;
            write_state(u_.name, s_);
            tell_starter("ok");

            const bool stopped = wait_for(main);
            s_.main_pid = 0;
            if (stopped) return finish("inactive", "dead", "success", "");
            const std::string result = result_of(u_, s_.exec_code, s_.exec_status);
            if (!shall_restart(u_, s_.exec_code, s_.exec_status, result))
                return finish(result == "success" ? "inactive" : "failed",
                              result == "success" ? "dead" : "failed", result, "");
            s_.active = "activating";
            s_.sub = "auto-restart";
            s_.result = result;
            long long delay = u_.restart_usec;
            if (polled()) {
                // Nothing pending shows; the restart comes a poll period after RestartSec=.
                s_.active = result == "success" ? "inactive" : "failed";
                s_.sub = result == "success" ? "dead" : "failed";
                delay += poll_usec();
            }
            write_state(u_.name, s_);
            if (stop_requested(delay)) return finish("inactive", "dead", result, "");
            ++s_.n_restarts;
        }
    }

  private:
    Unit u_;
    int report_;
    int signals_ = -1;
    State s_;

    void tell_starter(const std::string& word) {
        if (report_ < 0) return;
        (void)!write(report_, word.data(), word.size());
        close(report_);
        report_ = -1;
    }

    int finish(const char* active, const char* sub, const std::string& result,
               const std::string& why) {
        s_.active = active;
        s_.sub = sub;
        s_.result = result;
        s_.job = 0;
        write_state(u_.name, s_);
        tell_starter(why.empty() ? "ok" : why);
        return 0;
    }

    // Waits for the main process to end; true when that was our own stop.
    bool wait_for(pid_t main) {
        bool stopping = false, killed = false;
        long long kill_at = 0;
        for (;;) {
            siginfo_t info{};
            if (waitid(P_PID, main, &info, WEXITED | WNOHANG) == 0 && info.si_pid == main) {
                s_.exec_code = info.si_code;
                s_.exec_status = info.si_status;
                s_.exit_us = now_us();
                return stopping;
            }
            int timeout = -1;
            if (stopping && !killed && u_.timeout_stop_usec >= 0)
                timeout = static_cast<int>(std::max(0LL, (kill_at - now_us()) / 1000));
            pollfd p{signals_, POLLIN, 0};
            if (poll(&p, 1, timeout) == 0) { // TimeoutStopSec= passed
                signal_service(u_, main, SIGKILL);
                killed = true;
                continue;
            }
            signalfd_siginfo si{};
            if (read(signals_, &si, sizeof si) != sizeof si) continue;
            if (si.ssi_signo == SIGTERM && !stopping) {
                stopping = true;
                s_.active = "deactivating";
                s_.sub = "stop-sigterm";
                s_.job = 1;
                write_state(u_.name, s_);
                if (!u_.exec_stop.empty()) {
                    std::string error;
                    if (pid_t stop = spawn(u_.exec_stop, u_, error); stop > 0)
                        waitpid(stop, nullptr, 0);
                }
                signal_service(u_, main, u_.kill_signal);
                kill_at = now_us() + u_.timeout_stop_usec;
            }
        }
    }

    // RestartSec=, unless a stop comes first (true).
    bool stop_requested(long long usec) {
        const long long until = now_us() + usec;
        for (;;) {
            const long long left = until - now_us();
            if (left <= 0) return false;
            pollfd p{signals_, POLLIN, 0};
            if (poll(&p, 1, static_cast<int>((left + 999) / 1000)) == 0) return false;
            signalfd_siginfo si{};
            if (read(signals_, &si, sizeof si) == sizeof si && si.ssi_signo == SIGTERM) return true;
        }
    }
};

// ---- The verbs -------------------------------------------------------------------------------

int start(const std::string& name) {
    if (monitor_alive(read_state(name))) return 0; // already running (or restarting)
    Unit unit = load_unit(name);
    fs::create_directories(state_dir());
    int report[2];
    if (pipe2(report, O_CLOEXEC) < 0) fail(1, "pipe2: " + std::string(strerror(errno)));
    pid_t monitor = fork();
    if (monitor < 0) fail(1, "fork: " + std::string(strerror(errno)));
    if (monitor == 0) {
        close(report[0]);
        setsid();
        if (polled()) prctl(PR_SET_CHILD_SUBREAPER, 1); // adopts the launcher's child
        int null = open("/dev/null", O_RDWR);
        int log =
            open((state_dir() / (name + ".log")).c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(null, 0);
        dup2(log >= 0 ? log : null, 1);
        dup2(log >= 0 ? log : null, 2);
        _exit(Monitor(std::move(unit), report[1]).run());
    }
    close(report[1]);
    std::string said;
    char buffer[256];
    ssize_t got;
    while ((got = read(report[0], buffer, sizeof buffer)) != 0)
        if (got > 0)
            said.append(buffer, static_cast<size_t>(got));
        else if (errno != EINTR)
            break;
    if (said == "ok") return 0;
    fail(1, "Job for " + name + " failed: " + (said.empty() ? "the monitor died" : said));
}

int stop(const std::string& name) {
    const State s = read_state(name);
    if (!monitor_alive(s)) return 0;
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, s.monitor, 0));
    kill(static_cast<pid_t>(s.monitor), SIGTERM);
    if (pidfd < 0) return 0; // gone already
    pollfd p{pidfd, POLLIN, 0};
    while (poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
    return 0;
}

int run_and_wait(const std::vector<std::string>& argv, const Unit& u) {
    std::string error;
    pid_t pid = spawn(argv, u, error);
    if (pid < 0) fail(1, error);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

int reload(const std::string& name) {
    const Unit unit = load_unit(name);
    if (unit.exec_reload.empty()) fail(1, "Job for " + name + " failed: no ExecReload=");
    if (read_state(name).active != "active") fail(1, name + " is not active, cannot reload.");
    const int status = run_and_wait(unit.exec_reload, unit);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
    fail(1, "Job for " + name + " failed: ExecReload= ended with " +
                (WIFEXITED(status) ? "status " + std::to_string(WEXITSTATUS(status))
                                   : std::string("signal ") + sigabbrev_np(WTERMSIG(status))));
}

int kill_main(const std::string& name, int signo) {
    const State s = read_state(name);
    if (s.main_pid <= 0) fail(1, "No main process to kill for " + name);
    if (kill(static_cast<pid_t>(s.main_pid), signo) < 0)
        fail(1, "kill " + std::to_string(s.main_pid) + ": " + strerror(errno));
    return 0;
}

int show(const std::vector<std::string>& properties, const std::vector<std::string>& names) {
    const std::vector<std::string> all = {
        "Id",      "LoadState", "ActiveState",  "SubState",       "Result",
        "MainPID", "NRestarts", "ExecMainCode", "ExecMainStatus", "ExecMainExitTimestampMonotonic",
        "Job"};
    const auto& wanted = properties.empty() ? all : properties;
    std::string out;
    for (size_t i = 0; i < names.size(); ++i) {
        const State s = read_state(names[i], /*as_found=*/true);
        if (i) out += "\n";
        for (const auto& p : wanted) {
            std::string value;
            if (p == "Id")
                value = names[i];
            else if (p == "LoadState")
                value = unit_exists(names[i]) ? "loaded" : "not-found";
            else if (p == "ActiveState")
                value = s.active;
            else if (p == "SubState")
                value = s.sub;
            else if (p == "Result")
                value = s.result;
            else if (p == "MainPID")
                value = std::to_string(s.main_pid);
            else if (polled() && (p == "NRestarts" || p.starts_with("ExecMain")))
                value = ""; // not reported
            else if (p == "NRestarts")
                value = std::to_string(s.n_restarts);
            else if (p == "ExecMainCode")
                value = std::to_string(s.exec_code);
            else if (p == "ExecMainStatus")
                value = std::to_string(s.exec_status);
            else if (p == "ExecMainExitTimestampMonotonic")
                value = std::to_string(s.exit_us);
            else if (p == "Job")
                value = s.job ? std::to_string(s.job) : "";
            else
                continue; // as systemctl: an unknown property is not shown
            out += p + "=" + value + "\n";
        }
    }
    std::fputs(out.c_str(), stdout);
    return 0;
}

int usage() {
    fail(2, "usage: planted-systemctl --version | daemon-reload | start|stop|reload NAME | "
            "kill -s SIG [--kill-whom=main] NAME | show [-p PROP,...] NAME...");
}

} // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) return usage();
    const std::string verb = args[0];
    if (verb == "--version") {
        std::puts("planted-systemctl 1 (crashloop's deliberately wrong supervisor)");
        return 0;
    }
    if (verb == "daemon-reload") return 0; // units are read at each start
    if ((verb == "start" || verb == "stop" || verb == "reload") && args.size() == 2) {
        if (verb == "start") return start(args[1]);
        if (verb == "stop") return stop(args[1]);
        return reload(args[1]);
    }
    std::vector<std::string> properties, names;
    std::optional<int> signo;
    for (size_t i = 1; i < args.size(); ++i) {
        const std::string& a = args[i];
        if ((a == "-p" || a == "-s") && i + 1 < args.size()) {
            const std::string value = args[++i];
            if (a == "-s") {
                signo = parse_signal(value);
                if (!signo) fail(1, "unknown signal " + value);
            } else {
                std::stringstream list(value);
                for (std::string p; std::getline(list, p, ',');)
                    properties.push_back(p);
            }
        } else if (a.starts_with("--kill-whom=")) {
            if (a != "--kill-whom=main") fail(1, "only --kill-whom=main is supported");
        } else {
            names.push_back(a);
        }
    }
    if (verb == "kill" && signo && names.size() == 1) return kill_main(names[0], *signo);
    if (verb == "show" && !names.empty()) return show(properties, names);
    return usage();
}
