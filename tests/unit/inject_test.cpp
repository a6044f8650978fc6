// libcrashloop-inject.so preloaded into inject-target (a stand-in daemon, inject_target.cpp): the
// main process's reloads crash exactly where reload_crashes() says, counted on in the log across
// processes; workers' never do; the daemon sees its own handlers. Every wait is woken by the event
// itself (the target's acknowledgement on its stdout, its pidfd, inotify on the log), never by
// sleeping.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

// glibc 2.36's <sys/pidfd.h> lacks the extern "C" wrapper (fixed in 2.37).
extern "C" {
#include <sys/pidfd.h>
}

#include "event_line.hpp"
#include "reload_chance.hpp"
#include "temp_dir.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using crashloop::EventLine;

// Generous: the machine may be busy building; a wait only takes this long when it fails.
constexpr auto patience = 10s;

std::string describe(int status) {
    if (WIFEXITED(status)) return "exited " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return std::string("killed by SIG") + sigabbrev_np(WTERMSIG(status));
    return "wait status " + std::to_string(status);
}

bool killed_by(const std::optional<int>& status, int signo) {
    return status && WIFSIGNALED(*status) && WTERMSIG(*status) == signo;
}

// Until something in `fds` is ready (true) or the deadline (false).
bool poll_until(pollfd* fds, nfds_t count, Clock::time_point deadline) {
    for (;;) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
        if (left <= 0ms) return false;
        const int ready = poll(fds, count, int(left.count()));
        if (ready > 0) return true;
        if (ready < 0 && errno != EINTR) return false;
    }
}

// The library's event log, read with the harness's own parser; watched through inotify on its
// directory (which also sees it created).
class InjectLog {
  public:
    explicit InjectLog(const TempDir& dir)
        : path((dir.path() / "inject.log").string()), inotify_(inotify_init1(IN_CLOEXEC)) {
        inotify_add_watch(inotify_, dir.path().c_str(), IN_CREATE | IN_MODIFY);
    }
    ~InjectLog() { close(inotify_); }
    InjectLog(const InjectLog&) = delete;
    InjectLog& operator=(const InjectLog&) = delete;

    const std::string path;

    // Every line; one that parse_event_line() refuses fails the test.
    std::vector<EventLine> lines() const {
        std::vector<EventLine> events;
        std::ifstream in(path);
        for (std::string text; std::getline(in, text);) {
            auto line = crashloop::parse_event_line(text);
            if (line)
                events.push_back(*line);
            else
                ADD_FAILURE() << "not an event line: \"" << text << "\"";
        }
        return events;
    }

    // "<incarnation> <pid> <event> [detail]" for each line but the `armed` ones, which any process
    // writes at each install.
    std::vector<std::string> reloads() const {
        std::vector<std::string> seen;
        for (const auto& line : lines())
            if (line.event != "armed") seen.push_back(summary(line));
        return seen;
    }

    bool armed_by(pid_t pid) const {
        for (const auto& line : lines())
            if (line.pid == pid && line.event == "armed" && line.detail == "SIGUSR1") return true;
        return false;
    }

    std::string text() const {
        std::ifstream in(path);
        std::stringstream text;
        text << in.rdbuf();
        return "inject log:\n" + text.str();
    }

    // Waits until `pid` has logged `event`; false at the deadline.
    bool wait_for(pid_t pid, const std::string& event) {
        const auto deadline = Clock::now() + patience;
        for (;;) {
            for (const auto& line : lines())
                if (line.pid == pid && line.event == event) return true;
            pollfd changed{inotify_, POLLIN, 0};
            if (!poll_until(&changed, 1, deadline)) return false;
            char drain[4096];
            (void)!read(inotify_, drain, sizeof drain);
        }
    }

    static std::string summary(const EventLine& line) {
        std::string text =
            std::to_string(line.incarnation) + " " + std::to_string(line.pid) + " " + line.event;
        return line.detail.empty() ? text : text + " " + line.detail;
    }

  private:
    int inotify_;
};

// CRASHLOOP_INJECT for `log`.
std::string inject_variable(const InjectLog& log, const std::string& p, const std::string& fault,
                            std::uint64_t seed = 0, const std::string& signal = "SIGUSR1") {
    return "signal=" + signal + ",seed=" + std::to_string(seed) + ",p=" + p + ",fault=" + fault +
           ",log=" + log.path;
}

// What happened after a signal: what the target said meanwhile, and its end if it died.
struct Answer {
    bool handled = false; // "handled <pid>" came from the process signalled, with no complaint
    std::vector<std::string> lines;
    std::optional<int> death; // the main process's wait status

    std::string text() const {
        std::string out = handled ? "handled" : death ? describe(*death) : "no answer";
        for (const auto& line : lines)
            out += "\n  said: " + line;
        return out;
    }
};

// inject-target with the library preloaded: killed and reaped when the test is done with it
// (its workers die with it, PR_SET_PDEATHSIG).
class Target {
  public:
    // `variable`: CRASHLOOP_INJECT's value, none for no variable at all.
    Target(const TempDir& dir, std::vector<std::string> args,
           const std::optional<std::string>& variable) {
        const std::string handled = (dir.path() / "handled").string();
        std::vector<std::string> argv_strings{INJECT_TARGET, "--handled", handled};
        argv_strings.insert(argv_strings.end(), args.begin(), args.end());
        std::vector<std::string> env;
        for (char** var = environ; *var; ++var) {
            const std::string_view text = *var;
            if (!text.starts_with("LD_PRELOAD=") && !text.starts_with("CRASHLOOP_INJECT="))
                env.emplace_back(text);
        }
        env.push_back("LD_PRELOAD=" CRASHLOOP_INJECT_LIBRARY);
        if (variable) env.push_back("CRASHLOOP_INJECT=" + *variable);
        // Built before fork(): the child only calls async-signal-safe functions.
        std::vector<char*> argv, envp;
        for (auto& s : argv_strings)
            argv.push_back(s.data());
        for (auto& s : env)
            envp.push_back(s.data());
        argv.push_back(nullptr);
        envp.push_back(nullptr);

        int out[2], err[2];
        if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
            throw std::runtime_error(std::string("pipe2: ") + strerror(errno));
        pid_ = fork();
        if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + strerror(errno));
        if (pid_ == 0) {
            // It crashes on purpose; no core files from the tests.
            rlimit no_core{0, 0};
            setrlimit(RLIMIT_CORE, &no_core);
            dup2(out[1], STDOUT_FILENO);
            dup2(err[1], STDERR_FILENO);
            execve(argv[0], argv.data(), envp.data());
            _exit(127);
        }
        close(out[1]);
        close(err[1]);
        out_ = out[0];
        err_ = err[0];
        fcntl(out_, F_SETFL, O_NONBLOCK);
        fcntl(err_, F_SETFL, O_NONBLOCK);
        pidfd_ = pidfd_open(pid_, 0);
    }
    Target(const Target&) = delete;
    Target& operator=(const Target&) = delete;
    ~Target() {
        if (!reaped_) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
        for (int fd : {pidfd_, out_, err_})
            if (fd >= 0) close(fd);
    }

    pid_t pid() const { return pid_; }
    std::string oldact; // what it said of sigaction()'s old action: "own" when all is well
    std::vector<pid_t> workers;

    // Until "ready"; false (with what it said in `said`) if it died or the deadline came first.
    bool start(std::string& said) {
        Answer answer = wait_for("ready");
        for (const auto& line : answer.lines) {
            if (line.starts_with("oldact ")) oldact = line.substr(7);
            if (line.starts_with("worker ")) workers.push_back(std::stoi(line.substr(7)));
        }
        said = answer.text();
        return answer.handled;
    }

    // Sends `signo` to `who` (the main process by default) and waits for its "handled" or the
    // main process's death.
    Answer signal(int signo = SIGUSR1, pid_t who = 0) {
        who = who ? who : pid_;
        kill(who, signo);
        return wait_for("handled " + std::to_string(who));
    }

    // Whatever it said that was not read yet, without waiting.
    std::vector<std::string> said_since() {
        read_available(out_, out_text_);
        return take_lines(out_text_);
    }

    // All it wrote to stderr, the library's complaint included, without waiting: the library
    // writes it while loading, before "ready".
    std::string errors() {
        read_available(err_, err_text_);
        return err_text_;
    }

    bool running() const {
        pollfd exited{pidfd_, POLLIN, 0};
        return !reaped_ && poll(&exited, 1, 0) == 0;
    }

    std::optional<int> wait() {
        pollfd exited{pidfd_, POLLIN, 0};
        if (!poll_until(&exited, 1, Clock::now() + patience)) return std::nullopt;
        return reap();
    }

  private:
    // Until it says `expected` (answer.handled), or `expected` with a complaint after it ("handled
    // 12 errno-changed"), or its main process dies, or the deadline.
    Answer wait_for(const std::string& expected) {
        Answer answer;
        bool answered = false;
        const auto deadline = Clock::now() + patience;
        for (;;) {
            read_available(out_, out_text_);
            for (auto& line : take_lines(out_text_)) {
                answer.handled = answer.handled || line == expected;
                answered = answered || line == expected || line.starts_with(expected + " ");
                answer.lines.push_back(std::move(line));
            }
            if (answered || answer.death) return answer;
            pollfd ready[2] = {{out_, POLLIN, 0}, {pidfd_, POLLIN, 0}};
            if (!poll_until(ready, 2, deadline)) return answer;
            // Dead: what it said before dying is in the pipe already; one more pass reads it.
            if (ready[1].revents & POLLIN) answer.death = reap();
        }
    }

    std::optional<int> reap() {
        int status = 0;
        if (waitpid(pid_, &status, 0) != pid_) return std::nullopt;
        reaped_ = true;
        return status;
    }

    static void read_available(int fd, std::string& into) {
        char buffer[4096];
        for (ssize_t got; (got = read(fd, buffer, sizeof buffer)) > 0;)
            into.append(buffer, size_t(got));
    }

    static std::vector<std::string> take_lines(std::string& text) {
        std::vector<std::string> lines;
        for (size_t end; (end = text.find('\n')) != std::string::npos;) {
            lines.push_back(text.substr(0, end));
            text.erase(0, end + 1);
        }
        return lines;
    }

    pid_t pid_ = -1;
    int pidfd_ = -1, out_ = -1, err_ = -1;
    bool reaped_ = false;
    std::string out_text_, err_text_;
};

std::string handled_file(const TempDir& dir) {
    std::ifstream in(dir.path() / "handled");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// The ways a daemon installs its handler.
const std::vector<std::string> install_ways = {"sigaction", "siginfo", "signal", "sysv_signal"};

class InstalledBy : public testing::TestWithParam<std::string> {};
INSTANTIATE_TEST_SUITE_P(Inject, InstalledBy, testing::ValuesIn(install_ways),
                         [](const auto& info) { return info.param; });

// sysv_signal() asks SA_RESETHAND: its handler runs once (InjectTest.ResetHandStillResets).
TEST_P(InstalledBy, EveryReloadReachesTheDaemonAtPZero) {
    TempDir dir("inject");
    InjectLog log(dir);
    Target target(dir, {"--install", GetParam()}, inject_variable(log, "0", "sigabrt"));
    std::string said;
    ASSERT_TRUE(target.start(said)) << said;
    const int reloads = GetParam() == "sysv_signal" ? 1 : 3;
    std::vector<std::string> expected;
    for (int k = 0; k < reloads; ++k) {
        const Answer answer = target.signal();
        EXPECT_TRUE(answer.handled) << "reload k=" << k << ": " << answer.text();
        const std::string me = "1 " + std::to_string(target.pid());
        expected.push_back(me + " reload-begin k=" + std::to_string(k) + " signal=SIGUSR1");
        expected.push_back(me + " reload-passed");
    }
    EXPECT_EQ(log.reloads(), expected) << log.text();
    EXPECT_TRUE(log.armed_by(target.pid())) << log.text();
}

TEST_P(InstalledBy, OldactIsTheDaemonsOwnHandler) {
    TempDir dir("inject");
    InjectLog log(dir);
    Target target(dir, {"--install", GetParam()}, inject_variable(log, "0", "sigabrt"));
    std::string said;
    ASSERT_TRUE(target.start(said)) << said;
    EXPECT_EQ(target.oldact, "own") << said;
    // Not a pass for want of a trampoline: the library did take the handler over.
    EXPECT_TRUE(log.armed_by(target.pid())) << log.text();
}

TEST(InjectTest, ResetHandStillResets) {
    TempDir dir("inject");
    InjectLog log(dir);
    Target target(dir, {"--install", "sysv_signal"}, inject_variable(log, "0", "sigabrt"));
    std::string said;
    ASSERT_TRUE(target.start(said)) << said;
    const Answer first = target.signal();
    EXPECT_TRUE(first.handled) << first.text();
    // The kernel put SIG_DFL back at the first delivery: SIGUSR1's default action kills.
    const Answer second = target.signal();
    EXPECT_TRUE(killed_by(second.death, SIGUSR1)) << second.text();
}

// Reloads one at a time across processes on one log, as a supervisor's restarts would: reload k
// crashes exactly when reload_crashes(seed, k, p) says, k counting on from the log in each new
// process, each process the next incarnation.
TEST(InjectTest, CrashesExactlyTheReloadsTheSeedPicks) {
    constexpr std::uint64_t seed = 123;
    const std::string p_text = "0.35";
    const double p = parse_reload_probability(p_text).value();
    constexpr std::uint64_t reloads = 12;
    std::uint64_t predicted_crashes = 0;
    for (std::uint64_t k = 0; k < reloads; ++k)
        predicted_crashes += reload_crashes(seed, k, p);
    ASSERT_GE(predicted_crashes, 2u) << "a seed whose schedule crashes twice at least";
    ASSERT_LE(predicted_crashes, reloads - 2) << "a seed whose schedule passes twice at least";

    TempDir dir("inject");
    InjectLog log(dir);
    std::vector<std::string> expected;
    std::uint64_t k = 0;
    for (int incarnation = 1; k < reloads; ++incarnation) {
        Target target(dir, {"--install", "sigaction", "--abort-handler"},
                      inject_variable(log, p_text, "sigabrt", seed));
        std::string said;
        ASSERT_TRUE(target.start(said)) << said;
        const std::string me = std::to_string(incarnation) + " " + std::to_string(target.pid());
        for (bool alive = true; alive && k < reloads; ++k) {
            const bool crashes = reload_crashes(seed, k, p);
            expected.push_back(me + " reload-begin k=" + std::to_string(k) + " signal=SIGUSR1");
            expected.push_back(me + (crashes ? " die SIGABRT" : " reload-passed"));
            const Answer answer = target.signal();
            if (!crashes) {
                EXPECT_TRUE(answer.handled) << "reload k=" << k << ": " << answer.text();
                continue;
            }
            alive = false;
            EXPECT_TRUE(killed_by(answer.death, SIGABRT))
                << "reload k=" << k << ": expected killed by SIGABRT, observed " << answer.text();
            // abort() went through the daemon's own SIGABRT handler, as in Apache.
            const std::string abort_handler = "abort-handler " + std::to_string(target.pid());
            EXPECT_NE(std::find(answer.lines.begin(), answer.lines.end(), abort_handler),
                      answer.lines.end())
                << answer.text();
        }
    }
    EXPECT_EQ(log.reloads(), expected) << log.text();
}

// signal=10 by number; the log names it.
TEST(InjectTest, SigsegvFaultDiesBySigsegv) {
    TempDir dir("inject");
    InjectLog log(dir);
    Target target(dir, {"--install", "sigaction"}, inject_variable(log, "1", "sigsegv", 0, "10"));
    std::string said;
    ASSERT_TRUE(target.start(said)) << said;
    const Answer answer = target.signal();
    EXPECT_TRUE(killed_by(answer.death, SIGSEGV))
        << "expected killed by SIGSEGV, observed " << answer.text();
    const std::string me = "1 " + std::to_string(target.pid());
    EXPECT_EQ(log.reloads(), (std::vector<std::string>{me + " reload-begin k=0 signal=SIGUSR1",
                                                       me + " die SIGSEGV"}))
        << log.text();
}

// Which signals /proc/PID/status says are pending for the process and blocked by its thread.
struct SignalState {
    std::uint64_t pending = 0, blocked = 0;
};
SignalState signal_state(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    SignalState state;
    for (std::string line; std::getline(status, line);) {
        if (line.starts_with("ShdPnd:")) state.pending = std::stoull(line.substr(7), nullptr, 16);
        if (line.starts_with("SigBlk:")) state.blocked = std::stoull(line.substr(7), nullptr, 16);
    }
    return state;
}
constexpr std::uint64_t bit(int signo) {
    return std::uint64_t{1} << (signo - 1);
}

TEST(InjectTest, HangHoldsEverySignalUntilSigkill) {
    TempDir dir("inject");
    InjectLog log(dir);
    Target target(dir, {"--install", "sigaction"}, inject_variable(log, "1/1", "hang"));
    std::string said;
    ASSERT_TRUE(target.start(said)) << said;
    kill(target.pid(), SIGUSR1);
    // Its signals were blocked before the line was written.
    ASSERT_TRUE(log.wait_for(target.pid(), "reload-hang")) << log.text();
    kill(target.pid(), SIGUSR1);
    kill(target.pid(), SIGTERM);
    // kill() queues before it returns: both are pending now, and blocked, so no handler can run.
    const SignalState state = signal_state(target.pid());
    EXPECT_EQ(state.pending & (bit(SIGUSR1) | bit(SIGTERM)), bit(SIGUSR1) | bit(SIGTERM));
    EXPECT_EQ(state.blocked & (bit(SIGUSR1) | bit(SIGTERM)), bit(SIGUSR1) | bit(SIGTERM));
    EXPECT_TRUE(target.running());
    EXPECT_EQ(target.said_since(), std::vector<std::string>{});
    EXPECT_EQ(handled_file(dir), "");
    kill(target.pid(), SIGKILL);
    const auto status = target.wait();
    EXPECT_TRUE(killed_by(status, SIGKILL)) << (status ? describe(*status) : "still running");
}

// Workers forked by the main process (its copy of the library knows who forked it), or exec'd
// by it (their parent's maps hold the library).
class WorkersStartedBy : public testing::TestWithParam<std::string> {};
INSTANTIATE_TEST_SUITE_P(Inject, WorkersStartedBy, testing::Values("fork", "exec"),
                         [](const auto& info) { return info.param; });

TEST_P(WorkersStartedBy, NeverInject) {
    TempDir dir("inject");
    InjectLog log(dir);
    // p=1: any reload counted in a worker would kill it.
    Target target(dir, {"--install", "sigaction", "--workers", "2", "--worker-mode", GetParam()},
                  inject_variable(log, "1", "sigabrt"));
    std::string said;
    ASSERT_TRUE(target.start(said)) << said;
    ASSERT_EQ(target.workers.size(), 2u) << said;
    for (pid_t worker : target.workers) {
        const Answer answer = target.signal(SIGUSR1, worker);
        EXPECT_TRUE(answer.handled) << "worker " << worker << ": " << answer.text();
    }
    EXPECT_EQ(log.reloads(), std::vector<std::string>{}) << log.text();
    // The main process does inject: the variable was taken.
    const Answer answer = target.signal();
    EXPECT_TRUE(killed_by(answer.death, SIGABRT)) << answer.text();
    const std::string me = "1 " + std::to_string(target.pid());
    EXPECT_EQ(log.reloads(), (std::vector<std::string>{me + " reload-begin k=0 signal=SIGUSR1",
                                                       me + " die SIGABRT"}))
        << log.text();
}

// Each malformed variable would kill at the first reload (p=1) if it were taken.
struct Malformed {
    std::string name, variable; // "LOG" stands for the log's path
};
class MalformedVariable : public testing::TestWithParam<Malformed> {};
INSTANTIATE_TEST_SUITE_P(
    Inject, MalformedVariable,
    testing::Values(Malformed{"empty", ""},
                    Malformed{"p_above_one", "signal=SIGUSR1,seed=1,p=1.5,fault=sigabrt,log=LOG"},
                    Malformed{"fraction_above_one",
                              "signal=USR1,seed=1,p=3/2,fault=sigabrt,log=LOG"},
                    Malformed{"unknown_fault", "signal=SIGUSR1,seed=1,p=1,fault=explode,log=LOG"},
                    Malformed{"relative_log", "signal=SIGUSR1,seed=1,p=1,fault=sigabrt,log=x.log"},
                    Malformed{"missing_seed", "signal=SIGUSR1,p=1,fault=sigabrt,log=LOG"},
                    Malformed{"negative_seed", "signal=SIGUSR1,seed=-1,p=1,fault=hang,log=LOG"},
                    Malformed{"twice", "signal=SIGUSR1,seed=1,seed=2,p=1,fault=hang,log=LOG"},
                    Malformed{"unknown_field", "signal=SIGUSR1,seed=1,p=1,fault=hang,log=LOG,x=1"},
                    Malformed{"trailing_comma", "signal=SIGUSR1,seed=1,p=1,fault=hang,log=LOG,"},
                    Malformed{"uncatchable", "signal=SIGKILL,seed=1,p=1,fault=hang,log=LOG"},
                    Malformed{"its_own_fault", "signal=SIGABRT,seed=1,p=1,fault=hang,log=LOG"}),
    [](const auto& info) { return info.param.name; });

TEST_P(MalformedVariable, LeavesTheHandlersAlone) {
    TempDir dir("inject");
    InjectLog log(dir);
    std::string variable = GetParam().variable;
    if (const auto at = variable.find("LOG"); at != std::string::npos)
        variable.replace(at, 3, log.path);
    Target target(dir, {"--install", "sigaction"}, variable);
    std::string said;
    ASSERT_TRUE(target.start(said)) << said;
    EXPECT_EQ(target.oldact, "own");
    const Answer answer = target.signal();
    EXPECT_TRUE(answer.handled) << answer.text();
    const std::string errors = target.errors();
    EXPECT_TRUE(errors.starts_with("crashloop-inject: CRASHLOOP_INJECT: ") &&
                errors.ends_with("; injecting nothing\n") && errors.find('\n') == errors.size() - 1)
        << "expected one line saying why, observed: " << errors;
    EXPECT_FALSE(std::filesystem::exists(log.path)) << log.text();
}

TEST(InjectTest, NoVariableNoTrace) {
    TempDir dir("inject");
    InjectLog log(dir);
    Target target(dir, {"--install", "sigaction"}, std::nullopt);
    std::string said;
    ASSERT_TRUE(target.start(said)) << said;
    EXPECT_EQ(target.oldact, "own");
    const Answer answer = target.signal();
    EXPECT_TRUE(answer.handled) << answer.text();
    EXPECT_EQ(target.errors(), "");
    EXPECT_FALSE(std::filesystem::exists(log.path));
}

} // namespace
