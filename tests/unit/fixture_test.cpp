// The fake httpd on its own: run directly (no supervisor, no $NOTIFY_SOCKET unless a test gives
// it one), it must end each incarnation exactly as its plan says and put every act on record.
// Every wait has a deadline and is woken by the event itself (pidfd, inotify, socket), never by
// sleeping.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

// glibc 2.36's <sys/pidfd.h> lacks the extern "C" wrapper (fixed in 2.37).
extern "C" {
#include <sys/pidfd.h>
}

#include "reload_chance.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string fake_httpd = CRASHLOOP_LIBEXEC_DIR "/fake-httpd";

// Generous: the machine may be busy building; a wait only takes this long when it fails.
constexpr auto patience = 10s;

std::string signal_name(int sig) {
    const char* abbrev = sigabbrev_np(sig);
    return abbrev ? std::string("SIG") + abbrev : std::to_string(sig);
}

// The wait status in words. The core-dump flag is left out: whether a core is "dumped" depends on
// the host's core_pattern (a pipe to systemd-coredump ignores RLIMIT_CORE=0).
std::string describe(int status) {
    if (WIFEXITED(status)) return "exited " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return "killed by " + signal_name(WTERMSIG(status));
    return "wait status " + std::to_string(status);
}

// Polls until something in `fds` is ready (true) or the deadline passes (false).
bool poll_until(pollfd* fds, nfds_t count, Clock::time_point deadline) {
    for (;;) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
        if (left <= 0ms) return false;
        int r = poll(fds, count, int(left.count()));
        if (r > 0) return true;
        if (r < 0 && errno != EINTR) return false;
    }
}

struct Fd {
    int fd = -1;
    explicit Fd(int fd_) : fd(fd_) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd >= 0) close(fd);
    }
};

struct TempDir {
    std::string path;
    TempDir() {
        char name[] = "/tmp/crashloop-fixture-XXXXXX";
        if (!mkdtemp(name)) throw std::runtime_error(std::string("mkdtemp: ") + strerror(errno));
        path = name;
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    std::string file(const std::string& name) const { return path + "/" + name; }
};

// A process we started: killed and reaped when the test is done with it, whatever happened.
class Child {
  public:
    explicit Child(const std::vector<std::string>& args,
                   const std::vector<std::string>& extra_env = {}) {
        std::vector<std::string> env;
        for (char** var = environ; *var; ++var) {
            std::string_view text = *var;
            // Whatever supervises this test run must not receive the fixture's notifications.
            if (!text.starts_with("NOTIFY_SOCKET=") && !text.starts_with("WATCHDOG_"))
                env.emplace_back(text);
        }
        env.insert(env.end(), extra_env.begin(), extra_env.end());
        std::vector<std::string> argv_strings{fake_httpd};
        argv_strings.insert(argv_strings.end(), args.begin(), args.end());
        // Built before fork(): the child only calls async-signal-safe functions.
        std::vector<char*> argv, envp;
        for (auto& s : argv_strings)
            argv.push_back(s.data());
        for (auto& s : env)
            envp.push_back(s.data());
        argv.push_back(nullptr);
        envp.push_back(nullptr);

        pid_ = fork();
        if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + strerror(errno));
        if (pid_ == 0) {
            // The fixture crashes on purpose; no core files from the tests.
            rlimit no_core{0, 0};
            setrlimit(RLIMIT_CORE, &no_core);
            dup2(STDERR_FILENO, STDOUT_FILENO); // gtest's stdout is parsed by ctest
            execve(argv[0], argv.data(), envp.data());
            _exit(127);
        }
        pidfd_ = pidfd_open(pid_, 0);
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    ~Child() {
        if (reaped_) return;
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        if (pidfd_ >= 0) close(pidfd_);
    }

    pid_t pid() const { return pid_; }

    // The wait status, or nothing if it is still running at the deadline.
    std::optional<int> wait(Clock::duration timeout = patience) {
        pollfd exited{pidfd_, POLLIN, 0};
        if (!poll_until(&exited, 1, Clock::now() + timeout)) return std::nullopt;
        int status = 0;
        if (waitpid(pid_, &status, 0) != pid_) return std::nullopt;
        close(pidfd_);
        pidfd_ = -1;
        reaped_ = true;
        return status;
    }

    bool running() const {
        pollfd exited{pidfd_, POLLIN, 0};
        return !reaped_ && poll(&exited, 1, 0) == 0;
    }

  private:
    pid_t pid_ = -1;
    int pidfd_ = -1;
    bool reaped_ = false;
};

std::string outcome(Child& child) {
    auto status = child.wait();
    return status ? describe(*status) : "still running after the deadline";
}

struct Event {
    int incarnation = 0;
    pid_t pid = 0;
    long long ns = 0;
    std::string what; // "event" or "event detail"
};

// The fixture's event log, watched through inotify on its directory (which also sees it created).
class EventLog {
  public:
    explicit EventLog(const TempDir& dir)
        : path(dir.file("events")), inotify_(inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) {
        inotify_add_watch(inotify_.fd, dir.path.c_str(), IN_CREATE | IN_MODIFY);
    }

    const std::string path;

    std::vector<Event> read() const {
        std::vector<Event> events;
        std::ifstream in(path);
        std::string line;
        while (std::getline(in, line)) {
            std::istringstream fields(line);
            Event event;
            fields >> event.incarnation >> event.pid >> event.ns >> std::ws;
            std::getline(fields, event.what);
            events.push_back(event);
        }
        return events;
    }

    std::string text() const {
        std::ifstream in(path);
        std::stringstream text;
        text << in.rdbuf();
        return "event log:\n" + text.str();
    }

    // Waits until `pid` has logged `what` (count times); false at the deadline.
    bool wait_for(pid_t pid, const std::string& what, int count = 1) {
        return wait_until([&](const std::vector<Event>& events) {
            int seen = 0;
            for (const auto& event : events)
                if (event.pid == pid && event.what == what) ++seen;
            return seen >= count;
        });
    }

    // Waits until what is on record satisfies `done`; false at the deadline.
    bool wait_until(const std::function<bool(const std::vector<Event>&)>& done) {
        auto deadline = Clock::now() + patience;
        for (;;) {
            if (done(read())) return true;
            pollfd changed{inotify_.fd, POLLIN, 0};
            if (!poll_until(&changed, 1, deadline)) return false;
            char drain[4096];
            while (::read(inotify_.fd, drain, sizeof drain) > 0) {
            }
        }
    }

    // What `pid` logged, in order, checking along the way that each line is its own incarnation's.
    std::vector<std::string> of(pid_t pid, int incarnation = 1) const {
        std::vector<std::string> whats;
        for (const auto& event : read()) {
            if (event.pid != pid) continue;
            EXPECT_EQ(event.incarnation, incarnation) << event.what << "\n" << text();
            whats.push_back(event.what);
        }
        return whats;
    }

    // The last line `pid` logged that starts with `prefix`, or "".
    std::string last(pid_t pid, const std::string& prefix) const {
        std::string found;
        for (const auto& event : read())
            if (event.pid == pid && event.what.starts_with(prefix)) found = event.what;
        return found;
    }

    // Waits until `pid` logs a line that starts with `prefix` and gives it ("" at the deadline).
    std::string wait_for_line(pid_t pid, const std::string& prefix) {
        wait_until([&](const std::vector<Event>& events) {
            return std::ranges::any_of(events, [&](const Event& event) {
                return event.pid == pid && event.what.starts_with(prefix);
            });
        });
        return last(pid, prefix);
    }

  private:
    Fd inotify_;
};

using Lines = std::vector<std::string>;

// ---- Each plan step ends the process as planned ----------------------------------------------

struct PlannedEnd {
    std::string name;
    std::string plan;
    std::string outcome;
    Lines log;
};

void PrintTo(const PlannedEnd& cell, std::ostream* out) {
    *out << "plan " << cell.plan;
}

class FakeHttpdEnds : public ::testing::TestWithParam<PlannedEnd> {};

TEST_P(FakeHttpdEnds, as_planned) {
    const auto& cell = GetParam();
    TempDir dir;
    EventLog log(dir);
    Child httpd({"--plan", cell.plan, "--events", log.path});
    EXPECT_EQ(outcome(httpd), cell.outcome) << "plan " << cell.plan << "\n" << log.text();
    EXPECT_EQ(log.of(httpd.pid()), cell.log);
}

INSTANTIATE_TEST_SUITE_P(
    plan, FakeHttpdEnds,
    ::testing::Values(
        PlannedEnd{"exit_3", "exit:3", "exited 3", {"start exit:3", "exit 3"}},
        PlannedEnd{"exit_0", "ready,exit:0", "exited 0", {"start ready,exit:0", "ready", "exit 0"}},
        PlannedEnd{"die_sigsegv",
                   "ready,die:SIGSEGV",
                   "killed by SIGSEGV",
                   {"start ready,die:SIGSEGV", "ready", "die SIGSEGV"}},
        PlannedEnd{"die_sigabrt",
                   "die:SIGABRT",
                   "killed by SIGABRT",
                   {"start die:SIGABRT", "die SIGABRT"}},
        PlannedEnd{"die_sigterm",
                   "ready,die:SIGTERM",
                   "killed by SIGTERM",
                   {"start ready,die:SIGTERM", "ready", "die SIGTERM"}},
        PlannedEnd{
            "die_sigkill_by_number", "die:9", "killed by SIGKILL", {"start die:9", "die SIGKILL"}},
        // SIGUSR1 is blocked for the signalfd; dying of it must unblock it first.
        PlannedEnd{
            "die_sigusr1", "die:USR1", "killed by SIGUSR1", {"start die:USR1", "die SIGUSR1"}},
        // SIGCHLD's default action is to ignore: raise() returns and the fixture says so.
        PlannedEnd{"die_sigchld_survives",
                   "die:SIGCHLD",
                   "exited 99",
                   {"start die:SIGCHLD", "die SIGCHLD", "exit 99"}},
        PlannedEnd{"end_of_part_exits_0", "ready", "exited 0", {"start ready", "ready", "exit 0"}},
        PlannedEnd{"stop_pings",
                   "ready,stop-pings,exit:4",
                   "exited 4",
                   {"start ready,stop-pings,exit:4", "ready", "pings-stopped", "exit 4"}}),
    [](const auto& info) { return info.param.name; });

// ---- Incarnations --------------------------------------------------------------------------

TEST(FakeHttpd, incarnations_follow_the_plan_parts_and_reuse_the_last) {
    TempDir dir;
    EventLog log(dir);
    const std::string plan = "exit:3|die:SIGABRT";
    Child first({"--plan", plan, "--events", log.path});
    EXPECT_EQ(outcome(first), "exited 3");
    Child second({"--plan", plan, "--events", log.path});
    EXPECT_EQ(outcome(second), "killed by SIGABRT");
    Child third({"--plan", plan, "--events", log.path});
    EXPECT_EQ(outcome(third), "killed by SIGABRT");

    EXPECT_EQ(log.of(first.pid(), 1), (Lines{"start exit:3", "exit 3"}));
    EXPECT_EQ(log.of(second.pid(), 2), (Lines{"start die:SIGABRT", "die SIGABRT"}));
    EXPECT_EQ(log.of(third.pid(), 3), (Lines{"start die:SIGABRT", "die SIGABRT"}));
    auto events = log.read();
    ASSERT_EQ(events.size(), 6u) << log.text();
    for (size_t i = 1; i < events.size(); ++i)
        EXPECT_LE(events[i - 1].ns, events[i].ns) << "time runs backwards\n" << log.text();
}

// ---- serve: reload and graceful stop ----------------------------------------------------------

TEST(FakeHttpd, serve_reloads_on_sigusr1_and_stops_on_sigwinch) {
    TempDir dir;
    EventLog log(dir);
    Child httpd({"--plan", "ready,serve", "--events", log.path});
    ASSERT_TRUE(log.wait_for(httpd.pid(), "ready")) << log.text();
    // A plain SIGUSR1 is never answered: an answer (SIGUSR2) would kill this test.
    kill(httpd.pid(), SIGUSR1);
    ASSERT_TRUE(log.wait_for(httpd.pid(), "reload-done")) << log.text();
    kill(httpd.pid(), SIGUSR1);
    ASSERT_TRUE(log.wait_for(httpd.pid(), "reload-done", 2)) << log.text();
    kill(httpd.pid(), SIGWINCH);
    EXPECT_EQ(outcome(httpd), "exited 0") << log.text();
    EXPECT_EQ(log.of(httpd.pid()),
              (Lines{"start ready,serve", "ready", "reload-begin", "reload-done", "reload-begin",
                     "reload-done", "graceful-stop", "exit 0"}));
}

TEST(FakeHttpd, serve_dies_of_sigterm_from_outside) {
    TempDir dir;
    EventLog log(dir);
    Child httpd({"--plan", "ready,serve", "--events", log.path});
    ASSERT_TRUE(log.wait_for(httpd.pid(), "ready")) << log.text();
    kill(httpd.pid(), SIGTERM);
    EXPECT_EQ(outcome(httpd), "killed by SIGTERM") << log.text();
}

TEST(FakeHttpd, reload_die_sigabrt_dies_after_logging) {
    TempDir dir;
    EventLog log(dir);
    Child httpd({"--plan", "ready,on-reload:die:SIGABRT,serve", "--events", log.path});
    ASSERT_TRUE(log.wait_for(httpd.pid(), "ready")) << log.text();
    kill(httpd.pid(), SIGUSR1);
    EXPECT_EQ(outcome(httpd), "killed by SIGABRT") << log.text();
    EXPECT_EQ(log.of(httpd.pid()), (Lines{"start ready,on-reload:die:SIGABRT,serve", "ready",
                                          "reload-begin", "die SIGABRT"}));
}

// ---- -k graceful / graceful-stop, as apachectl ------------------------------------------------

TEST(FakeHttpd, graceful_finds_the_pid_and_waits_for_reload_done) {
    TempDir dir;
    EventLog log(dir);
    const std::string pidfile = dir.file("httpd.pid");
    Child httpd({"--plan", "ready,serve", "--events", log.path, "--pidfile", pidfile});
    ASSERT_TRUE(log.wait_for(httpd.pid(), "ready")) << log.text();

    Child graceful({"-k", "graceful", "--pidfile", pidfile, "--events", log.path});
    EXPECT_EQ(outcome(graceful), "exited 0") << log.text();
    // Already on record when -k graceful returns: it waited for it.
    EXPECT_EQ(log.of(httpd.pid()),
              (Lines{"start ready,serve", "ready", "reload-begin", "reload-done"}));
    EXPECT_TRUE(httpd.running());
}

TEST(FakeHttpd, graceful_times_out_on_a_hung_reload) {
    TempDir dir;
    EventLog log(dir);
    const std::string pidfile = dir.file("httpd.pid");
    Child httpd(
        {"--plan", "ready,on-reload:hang,serve", "--events", log.path, "--pidfile", pidfile});
    ASSERT_TRUE(log.wait_for(httpd.pid(), "ready")) << log.text();

    auto sent = Clock::now();
    Child graceful(
        {"-k", "graceful", "--pidfile", pidfile, "--events", log.path, "--timeout-ms", "300"});
    EXPECT_EQ(outcome(graceful), "exited 1") << log.text();
    EXPECT_GE(Clock::now() - sent, 300ms) << "gave up before its timeout";
    EXPECT_EQ(log.of(httpd.pid()),
              (Lines{"start ready,on-reload:hang,serve", "ready", "reload-begin", "reload-hang"}));
    // Hung, not dead; and still killable, as systemd's stop would do.
    EXPECT_TRUE(httpd.running());
    kill(httpd.pid(), SIGTERM);
    EXPECT_EQ(outcome(httpd), "killed by SIGTERM");
}

TEST(FakeHttpd, graceful_fails_when_the_reload_kills_it) {
    TempDir dir;
    EventLog log(dir);
    const std::string pidfile = dir.file("httpd.pid");
    Child httpd({"--plan", "ready,on-reload:die:SIGSEGV,serve", "--events", log.path, "--pidfile",
                 pidfile});
    ASSERT_TRUE(log.wait_for(httpd.pid(), "ready")) << log.text();

    Child graceful({"-k", "graceful", "--pidfile", pidfile, "--events", log.path});
    EXPECT_EQ(outcome(graceful), "exited 1") << log.text();
    EXPECT_EQ(outcome(httpd), "killed by SIGSEGV") << log.text();
}

TEST(FakeHttpd, graceful_fails_on_a_stale_pidfile) {
    TempDir dir;
    EventLog log(dir);
    const std::string pidfile = dir.file("httpd.pid");
    Child httpd({"--plan", "exit:0", "--events", log.path, "--pidfile", pidfile});
    ASSERT_EQ(outcome(httpd), "exited 0");
    Child graceful({"-k", "graceful", "--pidfile", pidfile, "--events", log.path});
    EXPECT_EQ(outcome(graceful), "exited 1");
}

TEST(FakeHttpd, graceful_stop_waits_for_the_exit) {
    TempDir dir;
    EventLog log(dir);
    const std::string pidfile = dir.file("httpd.pid");
    Child httpd({"--plan", "ready,serve", "--events", log.path, "--pidfile", pidfile});
    ASSERT_TRUE(log.wait_for(httpd.pid(), "ready")) << log.text();

    Child stop({"-k", "graceful-stop", "--pidfile", pidfile});
    EXPECT_EQ(outcome(stop), "exited 0");
    EXPECT_FALSE(httpd.running()) << "graceful-stop returned before the exit";
    EXPECT_EQ(outcome(httpd), "exited 0");
    EXPECT_EQ(log.of(httpd.pid()),
              (Lines{"start ready,serve", "ready", "graceful-stop", "exit 0"}));
}

// ---- sd_notify, against a socket of our own ------------------------------------------------

// Plays systemd's side of $NOTIFY_SOCKET: reads the datagrams and closes the fds that come with
// BARRIER=1, which is what releases sd_notify_barrier().
class NotifySocket {
  public:
    explicit NotifySocket(const TempDir& dir)
        : path(dir.file("notify")), fd_(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
        if (bind(fd_.fd, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0)
            throw std::runtime_error(std::string("bind: ") + strerror(errno));
    }

    const std::string path;

    // The next message, or nothing within `timeout`.
    std::optional<std::string> next(Clock::duration timeout = patience) {
        pollfd readable{fd_.fd, POLLIN, 0};
        if (!poll_until(&readable, 1, Clock::now() + timeout)) return std::nullopt;
        char data[4096];
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 8)];
        iovec iov{data, sizeof data};
        msghdr message{};
        message.msg_iov = &iov;
        message.msg_iovlen = 1;
        message.msg_control = control;
        message.msg_controllen = sizeof control;
        ssize_t n = recvmsg(fd_.fd, &message, MSG_CMSG_CLOEXEC);
        if (n < 0) return std::nullopt;
        for (cmsghdr* c = CMSG_FIRSTHDR(&message); c; c = CMSG_NXTHDR(&message, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
            size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < count; ++i) {
                int passed;
                std::memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof passed);
                close(passed);
            }
        }
        return std::string(data, size_t(n));
    }

    // The next message that is not a watchdog ping ("" if none comes), counting the pings
    // passed on the way.
    std::string next_besides_pings(int* pings = nullptr) {
        for (;;) {
            auto message = next();
            if (!message) return "";
            if (*message != "WATCHDOG=1") return *message;
            if (pings) ++*pings;
        }
    }

  private:
    Fd fd_;
};

TEST(FakeHttpd, notifies_ready_reloading_stopping_and_pings_the_watchdog) {
    TempDir dir;
    EventLog log(dir);
    NotifySocket notify(dir);
    Child httpd({"--plan", "ready,serve", "--events", log.path, "--name", "www"},
                {"NOTIFY_SOCKET=" + notify.path, "WATCHDOG_USEC=100000"});

    EXPECT_EQ(notify.next(), "READY=1\nSTATUS=www serving (incarnation 1)");
    EXPECT_EQ(notify.next(), "BARRIER=1");
    // Pings every 50 ms once serving: wait for a few.
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(notify.next(), "WATCHDOG=1") << "ping " << i;

    kill(httpd.pid(), SIGUSR1);
    auto reloading = notify.next_besides_pings();
    EXPECT_TRUE(reloading.starts_with("RELOADING=1\nMONOTONIC_USEC=")) << reloading;
    EXPECT_EQ(notify.next_besides_pings(), "READY=1\nSTATUS=www reloaded (incarnation 1)");

    kill(httpd.pid(), SIGWINCH);
    EXPECT_EQ(notify.next_besides_pings(), "STOPPING=1");
    EXPECT_EQ(outcome(httpd), "exited 0") << log.text();
}

TEST(FakeHttpd, stop_pings_silences_the_watchdog_but_not_the_rest) {
    TempDir dir;
    EventLog log(dir);
    NotifySocket notify(dir);
    Child httpd({"--plan", "ready,stop-pings,serve", "--events", log.path},
                {"NOTIFY_SOCKET=" + notify.path, "WATCHDOG_USEC=100000"});

    EXPECT_EQ(notify.next(), "READY=1\nSTATUS=fake-httpd serving (incarnation 1)");
    EXPECT_EQ(notify.next(), "BARRIER=1");
    // Silence can only be shown over a window: ten ping periods.
    EXPECT_EQ(notify.next(500ms), std::nullopt) << "expected no message at all";
    kill(httpd.pid(), SIGUSR1);
    int pings = 0;
    auto reloading = notify.next_besides_pings(&pings);
    EXPECT_TRUE(reloading.starts_with("RELOADING=1")) << reloading;
    // READY=1 comes after reload-done is on record.
    EXPECT_EQ(notify.next_besides_pings(&pings),
              "READY=1\nSTATUS=fake-httpd reloaded (incarnation 1)");
    EXPECT_EQ(pings, 0);
    EXPECT_EQ(log.of(httpd.pid()), (Lines{"start ready,stop-pings,serve", "ready", "pings-stopped",
                                          "reload-begin", "reload-done"}));
}

// ---- The parent's death takes the fixture along ----------------------------------------------

// Makes this test process the reaper of its orphaned descendants while it lives, so that the
// fixture whose parent dies becomes our child; whichever of them is left is killed at the end.
struct SubreaperScope {
    SubreaperScope() { prctl(PR_SET_CHILD_SUBREAPER, 1); }
    ~SubreaperScope() {
        for (pid_t pid : adopted) {
            siginfo_t info{};
            // Only while it is still our child (running or unreaped): its pid cannot be reused.
            if (waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0) {
                kill(pid, SIGKILL);
                waitpid(pid, nullptr, 0);
            }
        }
        prctl(PR_SET_CHILD_SUBREAPER, 0);
    }
    std::vector<pid_t> adopted;
};

TEST(FakeHttpd, dies_with_its_parent) {
    TempDir dir;
    EventLog log(dir);
    SubreaperScope subreaper;
    pid_t parent = fork();
    ASSERT_GE(parent, 0);
    if (parent == 0) {
        // The stand-in supervisor: starts the fixture, sees it serving, and dies without a word.
        try {
            Child httpd({"--plan", "ready,serve", "--events", log.path});
            _exit(log.wait_for(httpd.pid(), "ready") ? 0 : 1);
        } catch (...) {
            _exit(2);
        }
    }
    int status = 0;
    ASSERT_EQ(waitpid(parent, &status, 0), parent);
    auto events = log.read();
    ASSERT_FALSE(events.empty()) << log.text();
    pid_t orphan = events.front().pid;
    subreaper.adopted.push_back(orphan);
    ASSERT_EQ(describe(status), "exited 0") << log.text();

    int pidfd = pidfd_open(orphan, 0);
    ASSERT_GE(pidfd, 0) << "pidfd_open: " << strerror(errno);
    pollfd exited{pidfd, POLLIN, 0};
    bool ended = poll_until(&exited, 1, Clock::now() + patience);
    close(pidfd);
    ASSERT_TRUE(ended) << "the orphan outlived its parent";
    ASSERT_EQ(waitpid(orphan, &status, 0), orphan);
    EXPECT_EQ(describe(status), "killed by SIGKILL");
}

// ---- HTTP on loopback ---------------------------------------------------------------------------

// A port nobody listens on: bound to port 0 for the kernel to pick, then let go.
int free_port() {
    Fd probe(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (bind(probe.fd, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0 ||
        getsockname(probe.fd, reinterpret_cast<sockaddr*>(&address), &size) < 0)
        throw std::runtime_error(std::string("cannot find a free port: ") + strerror(errno));
    return ntohs(address.sin_port);
}

// One `GET /` on 127.0.0.1:port: the whole response, or why there is none.
std::string http_get(int port) {
    Fd sock(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(uint16_t(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    auto deadline = Clock::now() + patience;
    if (connect(sock.fd, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) {
        pollfd connected{sock.fd, POLLOUT, 0};
        if (errno != EINPROGRESS || !poll_until(&connected, 1, deadline))
            return "no connection: " + std::string(strerror(errno));
        int error = 0;
        socklen_t size = sizeof error;
        getsockopt(sock.fd, SOL_SOCKET, SO_ERROR, &error, &size);
        if (error != 0) return "no connection: " + std::string(strerror(error));
    }
    const std::string request = "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (send(sock.fd, request.data(), request.size(), MSG_NOSIGNAL) != ssize_t(request.size()))
        return "cannot send: " + std::string(strerror(errno));
    std::string response;
    for (;;) {
        pollfd readable{sock.fd, POLLIN, 0};
        if (!poll_until(&readable, 1, deadline)) return "no answer in time, got: " + response;
        char buffer[4096];
        ssize_t n = read(sock.fd, buffer, sizeof buffer);
        if (n == 0) return response;
        if (n < 0) return "read: " + std::string(strerror(errno)) + ", got: " + response;
        response.append(buffer, size_t(n));
    }
}

std::string http_200(const std::string& body) {
    return "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string answer_of(int incarnation, pid_t pid) {
    return http_200("incarnation " + std::to_string(incarnation) + " pid " + std::to_string(pid) +
                    "\n");
}

// The pid in an answer's body ("incarnation <n> pid <pid>"), 0 if it is not one.
pid_t answered_by(const std::string& response) {
    auto at = response.rfind(" pid ");
    return at == std::string::npos ? 0 : pid_t(std::atol(response.c_str() + at + 5));
}

// The pids at the end of a `workers-started` / `workers-replaced` line: "<count> <pid>,<pid>".
std::vector<pid_t> pids_in(const std::string& what) {
    std::vector<pid_t> pids;
    std::istringstream list(what.substr(what.rfind(' ') + 1));
    for (std::string pid; std::getline(list, pid, ',');)
        pids.push_back(pid_t(std::stol(pid)));
    return pids;
}

// Processes the fixture started (its workers, a daemon) are not ours to waitpid() on, so Child
// cannot own them. While this lives, the test process is the subreaper that adopts them when
// their parent goes; at the end each left is killed through its pidfd (never a recycled pid) and
// reaped if adopted.
class Strays {
  public:
    Strays() { prctl(PR_SET_CHILD_SUBREAPER, 1); }
    Strays(const Strays&) = delete;
    Strays& operator=(const Strays&) = delete;
    ~Strays() {
        for (auto& [pid, pidfd] : pidfds_) {
            pidfd_send_signal(pidfd, SIGKILL, nullptr, 0);
            pollfd exited{pidfd, POLLIN, 0};
            poll_until(&exited, 1, Clock::now() + patience);
            siginfo_t info{};
            waitid(idtype_t(P_PIDFD), id_t(pidfd), &info, WEXITED | WNOHANG);
            close(pidfd);
        }
        prctl(PR_SET_CHILD_SUBREAPER, 0);
    }

    // Call while `pid` cannot yet have been reaped (its parent, or we, still hold it).
    void watch(pid_t pid) {
        if (pidfds_.contains(pid)) return;
        int pidfd = pidfd_open(pid, 0);
        if (pidfd < 0) throw std::runtime_error("pidfd_open " + std::to_string(pid));
        pidfds_[pid] = pidfd;
    }

    void watch(const std::vector<pid_t>& pids) {
        for (pid_t pid : pids)
            watch(pid);
    }

    // Whether every one of `pids` has ended by the deadline.
    bool gone(const std::vector<pid_t>& pids, Clock::duration timeout = patience) {
        auto deadline = Clock::now() + timeout;
        for (pid_t pid : pids) {
            pollfd exited{pidfds_.at(pid), POLLIN, 0};
            if (poll(&exited, 1, 0) != 1 && !poll_until(&exited, 1, deadline)) return false;
        }
        return true;
    }

    bool running(pid_t pid) {
        pollfd exited{pidfds_.at(pid), POLLIN, 0};
        return poll(&exited, 1, 0) == 0;
    }

  private:
    std::map<pid_t, int> pidfds_;
};

TEST(FakeHttpd, serves_http_200_naming_its_incarnation) {
    TempDir dir;
    EventLog log(dir);
    const int port = free_port();
    const std::string plan = "ready,serve";
    const std::vector<std::string> args = {"--plan", plan,     "--events",
                                           log.path, "--port", std::to_string(port)};
    Child first(args);
    // Bound before the first step: whoever saw `ready` can connect at once.
    ASSERT_TRUE(log.wait_for(first.pid(), "ready")) << log.text();
    EXPECT_EQ(http_get(port), answer_of(1, first.pid()));
    EXPECT_EQ(http_get(port), answer_of(1, first.pid()));
    kill(first.pid(), SIGTERM);
    ASSERT_EQ(outcome(first), "killed by SIGTERM");

    // The next incarnation binds the same port straight away (SO_REUSEADDR).
    Child second(args);
    ASSERT_TRUE(log.wait_for(second.pid(), "ready")) << log.text();
    EXPECT_EQ(http_get(port), answer_of(2, second.pid()));
    EXPECT_EQ(log.of(second.pid(), 2), (Lines{"start " + plan, "ready"}));
}

TEST(FakeHttpd, retries_a_busy_port_then_serves) {
    TempDir dir;
    EventLog log(dir);
    const int port = free_port();
    // Someone else holds the port (as a dying incarnation's workers do for a moment).
    auto holder = std::make_unique<Fd>(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(uint16_t(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(holder->fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(listen(holder->fd, 1), 0);

    Child httpd({"--plan", "ready,serve", "--events", log.path, "--port", std::to_string(port)});
    const std::string retry = "bind-retry 127.0.0.1:" + std::to_string(port);
    ASSERT_TRUE(log.wait_for(httpd.pid(), retry)) << log.text();
    holder.reset();
    ASSERT_TRUE(log.wait_for(httpd.pid(), "ready")) << log.text();
    EXPECT_EQ(http_get(port), answer_of(1, httpd.pid()));
}

TEST(FakeHttpd, gives_up_on_a_port_busy_for_2_s) {
    TempDir dir;
    EventLog log(dir);
    const int port = free_port();
    Fd holder(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(uint16_t(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(holder.fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(listen(holder.fd, 1), 0);

    auto started = Clock::now();
    Child httpd({"--plan", "ready,serve", "--events", log.path, "--port", std::to_string(port)});
    EXPECT_EQ(outcome(httpd), "exited 1") << log.text();
    EXPECT_GE(Clock::now() - started, 2s);
    auto lines = log.of(httpd.pid());
    ASSERT_GE(lines.size(), 3u) << log.text();
    EXPECT_EQ(lines.front(), "start ready,serve");
    EXPECT_EQ(lines[1], "bind-retry 127.0.0.1:" + std::to_string(port));
    EXPECT_EQ(lines.back(), "exit 1") << "no `ready` without the port";
}

// ---- Prefork workers ----------------------------------------------------------------------------

TEST(FakeHttpd, workers_answer_and_are_replaced_on_reload) {
    TempDir dir;
    EventLog log(dir);
    Strays strays;
    const int port = free_port();
    const std::string pidfile = dir.file("httpd.pid");
    Child httpd({"--plan", "ready,serve", "--events", log.path, "--pidfile", pidfile, "--port",
                 std::to_string(port), "--workers", "2"});
    ASSERT_TRUE(log.wait_for(httpd.pid(), "ready")) << log.text();
    auto first = pids_in(log.wait_for_line(httpd.pid(), "workers-started 2 "));
    ASSERT_EQ(first.size(), 2u) << log.text();
    strays.watch(first);

    // The parent no longer accepts: every answer comes from a worker.
    for (int i = 0; i < 4; ++i) {
        auto response = http_get(port);
        EXPECT_TRUE(std::ranges::count(first, answered_by(response)) == 1) << response;
        EXPECT_EQ(response, answer_of(1, answered_by(response)));
    }

    // A graceful reload (apachectl's way) brings a fresh set and the old set is gone by the
    // time it returns.
    Child graceful({"-k", "graceful", "--pidfile", pidfile, "--events", log.path});
    ASSERT_EQ(outcome(graceful), "exited 0") << log.text();
    auto second = pids_in(log.last(httpd.pid(), "workers-replaced 2 "));
    ASSERT_EQ(second.size(), 2u) << log.text();
    strays.watch(second);
    for (pid_t pid : second)
        EXPECT_TRUE(std::ranges::count(first, pid) == 0) << pid << " survived the reload";
    EXPECT_TRUE(strays.gone(first, 0s)) << "old workers still running after reload-done";
    auto response = http_get(port);
    EXPECT_TRUE(std::ranges::count(second, answered_by(response)) == 1) << response;

    // A worker that dies unasked is replaced.
    kill(second[0], SIGKILL);
    auto respawned = log.wait_for_line(httpd.pid(), "worker-respawned");
    ASSERT_FALSE(respawned.empty()) << log.text();
    pid_t third = pid_t(std::atol(respawned.c_str() + std::strlen("worker-respawned ")));
    strays.watch(third);
    EXPECT_EQ(respawned, "worker-respawned " + std::to_string(third) + " for " +
                             std::to_string(second[0]) + " SIGKILL");
    EXPECT_TRUE(strays.running(third));

    // The parent is the same process throughout; a graceful stop takes its workers along.
    kill(httpd.pid(), SIGWINCH);
    EXPECT_EQ(outcome(httpd), "exited 0") << log.text();
    EXPECT_TRUE(strays.gone({second[1], third}, 0s)) << "workers outlived a graceful stop";
    EXPECT_EQ(log.of(httpd.pid()),
              (Lines{"start ready,serve", "ready", log.last(httpd.pid(), "workers-started"),
                     "reload-begin", log.last(httpd.pid(), "workers-replaced"), "reload-done",
                     respawned, "graceful-stop", "exit 0"}));
}

TEST(FakeHttpd, parent_crash_takes_the_workers_along_and_frees_the_port) {
    TempDir dir;
    EventLog log(dir);
    Strays strays;
    const int port = free_port();
    const std::string plan = "ready,on-reload:die:SIGABRT,serve|ready,serve";
    const std::vector<std::string> args = {
        "--plan", plan, "--events", log.path, "--port", std::to_string(port), "--workers", "3"};
    Child crashing(args);
    auto workers = pids_in(log.wait_for_line(crashing.pid(), "workers-started 3 "));
    ASSERT_EQ(workers.size(), 3u) << log.text();
    strays.watch(workers);

    kill(crashing.pid(), SIGUSR1);
    EXPECT_EQ(outcome(crashing), "killed by SIGABRT") << log.text();
    EXPECT_TRUE(strays.gone(workers)) << "workers outlived their crashed parent";

    // The next incarnation gets the port (at once, or after a logged bind-retry).
    Child next(args);
    auto next_workers = pids_in(log.wait_for_line(next.pid(), "workers-started 3 "));
    ASSERT_EQ(next_workers.size(), 3u) << log.text();
    strays.watch(next_workers);
    auto response = http_get(port);
    EXPECT_EQ(response, answer_of(2, answered_by(response)));
}

// ---- Type=forking: daemonize ------------------------------------------------------------------

TEST(FakeHttpd, daemonize_returns_once_the_daemon_is_on_record_and_serving) {
    TempDir dir;
    EventLog log(dir);
    Strays strays;
    const int port = free_port();
    const std::string pidfile = dir.file("httpd.pid");
    const std::string plan = "daemonize,ready,serve";
    Child launcher({"--plan", plan, "--events", log.path, "--pidfile", pidfile, "--port",
                    std::to_string(port)});
    // The daemon is adopted by us before the launcher can be reaped, so it is watchable then.
    ASSERT_EQ(outcome(launcher), "exited 0") << log.text();

    // No waiting from here on: all of it was done before the launcher exited.
    std::ifstream pid_text(pidfile);
    pid_t daemon = 0;
    ASSERT_TRUE(pid_text >> daemon) << "no pid in the pidfile";
    strays.watch(daemon);
    EXPECT_NE(daemon, launcher.pid());
    EXPECT_EQ(getsid(daemon), daemon) << "the daemon leads no session of its own";
    EXPECT_EQ(log.of(launcher.pid()), Lines{}) << "the launcher is no incarnation";
    auto events = log.read();
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.front().pid, daemon);
    EXPECT_EQ(events.front().what, "start " + plan);
    EXPECT_EQ(http_get(port), answer_of(1, daemon));

    Child graceful({"-k", "graceful", "--pidfile", pidfile, "--events", log.path});
    EXPECT_EQ(outcome(graceful), "exited 0") << log.text();
    Child stop({"-k", "graceful-stop", "--pidfile", pidfile});
    EXPECT_EQ(outcome(stop), "exited 0") << log.text();
    EXPECT_TRUE(strays.gone({daemon}));
    EXPECT_EQ(log.of(daemon), (Lines{"start " + plan, "ready", "reload-begin", "reload-done",
                                     "graceful-stop", "exit 0"}));
}

// ---- The seeded reload crash --------------------------------------------------------------------

TEST(FakeHttpdReloadChance, draws_are_pinned_and_fair) {
    // The first output of SplitMix64 from state 0 (Vigna's reference splitmix64.c): a changed
    // formula would silently change every recorded crash schedule.
    EXPECT_EQ(splitmix64(0), 0xE220A8397B1DCDAFu);
    int crashes = 0;
    for (uint64_t k = 0; k < 30'000; ++k) {
        double u = reload_draw(12345, k);
        ASSERT_TRUE(u >= 0 && u < 1) << "k=" << k << " u=" << u;
        EXPECT_FALSE(reload_crashes(12345, k, 0.0)) << "k=" << k;
        EXPECT_TRUE(reload_crashes(12345, k, 1.0)) << "k=" << k;
        crashes += reload_crashes(12345, k, 1.0 / 30);
    }
    // 1000 expected, standard deviation about 31.
    EXPECT_GT(crashes, 850);
    EXPECT_LT(crashes, 1150);
}

// What followed reload k's `reload-begin k=<k>` in the same process: "reload-done",
// "die SIGABRT", "reload-hang", or "" while nothing has.
std::string after_reload(const std::vector<Event>& events, uint64_t k) {
    pid_t pid = 0;
    for (const auto& event : events) {
        if (event.what == "reload-begin k=" + std::to_string(k))
            pid = event.pid;
        else if (pid != 0 && event.pid == pid)
            return event.what;
    }
    return "";
}

// Sends `reloads` graceful reloads one after the other, starting a new incarnation (as a
// supervisor would) whenever one dies, and gives what each reload came to.
std::vector<std::string> reload_sequence(const std::string& plan, int reloads) {
    TempDir dir;
    EventLog log(dir);
    const std::vector<std::string> args = {"--plan", plan, "--events", log.path};
    auto httpd = std::make_unique<Child>(args);
    std::vector<std::string> outcomes;
    for (int k = 0; k < reloads; ++k) {
        if (!log.wait_for(httpd->pid(), "ready")) return {"no ready\n" + log.text()};
        kill(httpd->pid(), SIGUSR1);
        if (!log.wait_until([&](const auto& events) { return !after_reload(events, k).empty(); }))
            return {"nothing after reload " + std::to_string(k) + "\n" + log.text()};
        outcomes.push_back(after_reload(log.read(), k));
        if (outcomes.back().starts_with("die ")) {
            EXPECT_EQ(outcome(*httpd), "killed by " + outcomes.back().substr(4));
            httpd = std::make_unique<Child>(args);
        } else if (outcomes.back() == "reload-hang") {
            break;
        }
    }
    return outcomes;
}

TEST(FakeHttpdReloadChance, crashes_exactly_where_reload_crashes_predicts) {
    const uint64_t seed = 20240611;
    const std::string probability = "1/4";
    const int reloads = 24;
    std::vector<std::string> expected;
    for (int k = 0; k < reloads; ++k)
        expected.push_back(reload_crashes(seed, uint64_t(k), 0.25) ? "die SIGABRT" : "reload-done");
    // Both kinds must be in the schedule, or the test proves little.
    ASSERT_GT(std::ranges::count(expected, "die SIGABRT"), 2);
    ASSERT_GT(std::ranges::count(expected, "reload-done"), 2);

    const std::string plan =
        "ready,on-reload:chance:" + probability + ":" + std::to_string(seed) + ":die:SIGABRT,serve";
    EXPECT_EQ(reload_sequence(plan, reloads), expected);
    // Replays: a fresh log, the same seed, the same schedule.
    EXPECT_EQ(reload_sequence(plan, reloads), expected);
}

TEST(FakeHttpdReloadChance, probability_0_never_crashes_and_1_always_does) {
    EXPECT_EQ(reload_sequence("ready,on-reload:chance:0:7:die:SIGABRT,serve", 8),
              std::vector<std::string>(8, "reload-done"));
    EXPECT_EQ(reload_sequence("ready,on-reload:chance:1:7:die:SIGSEGV,serve", 4),
              std::vector<std::string>(4, "die SIGSEGV"));
    EXPECT_EQ(reload_sequence("ready,on-reload:chance:1.0:7:hang,serve", 4),
              std::vector<std::string>{"reload-hang"});
    EXPECT_EQ(reload_sequence("ready,on-reload:chance:0.000:7:hang,serve", 3),
              std::vector<std::string>(3, "reload-done"));
}

// ---- Bad options -------------------------------------------------------------------------------

TEST(FakeHttpd, bad_options_exit_2_without_a_start) {
    TempDir dir;
    EventLog log(dir);
    const std::vector<std::vector<std::string>> cases = {
        {},
        {"--plan", "ready,serve"},
        {"--plan", "ready", "--events"},
        {"--plan", "explode", "--events", log.path},
        {"--plan", "exit:0|ready,explode", "--events", log.path},
        {"--plan", "exit:3,ready", "--events", log.path},
        {"--plan", "exit:256", "--events", log.path},
        {"--plan", "die:SIGNOPE", "--events", log.path},
        {"--plan", "on-reload:restart", "--events", log.path},
        {"--plan", "ready", "--events", log.path, "--timeout-ms", "5"},
        {"--bogus", "1"},
        {"-k", "restart", "--pidfile", dir.file("pid")},
        {"-k", "graceful"},
        {"-k", "graceful", "--pidfile", dir.file("pid"), "--timeout-ms", "soon"},
        {"-k", "graceful", "--pidfile", dir.file("pid"), "--plan", "ready"},
        {"-k", "graceful", "--pidfile", dir.file("pid"), "--port", "8080"},
        {"-k", "graceful", "--pidfile", dir.file("pid"), "--workers", "2"},
        {"--plan", "ready,serve", "--events", log.path, "--port", "0"},
        {"--plan", "ready,serve", "--events", log.path, "--port", "65536"},
        {"--plan", "ready,serve", "--events", log.path, "--port", "http"},
        {"--plan", "ready,serve", "--events", log.path, "--workers", "65"},
        {"--plan", "ready,serve", "--events", log.path, "--workers", "-1"},
        {"--plan", "ready,daemonize,serve", "--events", log.path},
        {"--plan", "exit:0|ready,daemonize", "--events", log.path},
        {"--plan", "on-reload:chance:1.5:7:hang", "--events", log.path},
        {"--plan", "on-reload:chance:3/2:7:hang", "--events", log.path},
        {"--plan", "on-reload:chance:1/0:7:hang", "--events", log.path},
        {"--plan", "on-reload:chance:-0.1:7:hang", "--events", log.path},
        {"--plan", "on-reload:chance:1e-3:7:hang", "--events", log.path},
        {"--plan", "on-reload:chance:0.5:-7:hang", "--events", log.path},
        {"--plan", "on-reload:chance:0.5:18446744073709551616:hang", "--events", log.path},
        {"--plan", "on-reload:chance:0.5:7:reload", "--events", log.path},
        {"--plan", "on-reload:chance:0.5:7:die:SIGNOPE", "--events", log.path},
        {"--plan", "on-reload:chance:0.5:7", "--events", log.path},
        {"--plan", "on-reload:chance:0.5", "--events", log.path},
    };
    for (const auto& args : cases) {
        std::string command;
        for (const auto& arg : args)
            command += " " + arg;
        Child httpd(args);
        EXPECT_EQ(outcome(httpd), "exited 2") << "fake-httpd" << command;
    }
    EXPECT_TRUE(log.read().empty()) << log.text();
}

} // namespace
