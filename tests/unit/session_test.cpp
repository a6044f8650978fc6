// The engine's Session (engine/session.hpp) without a real supervisor: what reaches each
// service's watch, how a job's end is matched to the call that asked for it whichever comes
// first, what counts as a refused restart, and that every wait ends (deadline, interrupt,
// a pid's death) and no callback outlives the session.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <deque>
#include <functional>

#include "errors.hpp"
#include "session.hpp"

namespace crashloop {
namespace {

using namespace std::chrono_literals;

// A supervisor the test plays by hand: each wait() delivers the next thing the test queued,
// or blocks until the deadline (or the fd the session waits on) when nothing is queued.
class HandPlayedSupervisor final : public Supervisor {
  public:
    std::deque<std::function<void()>> due;
    OnChange changed;
    OnJobDone job_done;
    std::vector<Done> asked;       // start/stop/reload/kill, in order
    std::vector<StateDone> reads;  // state(), in order

    std::string name() const override { return "by-hand"; }
    std::string version() override { return "1"; }
    std::filesystem::path events_dir() const override { return "/nonexistent"; }
    std::optional<std::string> cannot_express(const ServiceSpec&, const ExitCause&) const override {
        return std::nullopt;
    }
    void watch(OnChange on_change, OnJobDone on_job_done) override {
        changed = std::move(on_change);
        job_done = std::move(on_job_done);
    }
    void start(const ServiceSpec&, Done done) override { asked.push_back(std::move(done)); }
    void stop(const std::string&, Done done) override { asked.push_back(std::move(done)); }
    void reload(const std::string&, Done done) override { asked.push_back(std::move(done)); }
    void kill(const std::string&, int, Done done) override { asked.push_back(std::move(done)); }
    void state(const std::string&, StateDone done) override { reads.push_back(std::move(done)); }

    bool wait(Clock::time_point deadline, int fd) override {
        if (!due.empty()) {
            auto next = std::move(due.front());
            due.pop_front();
            next();
            return false;
        }
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
        pollfd p{fd, POLLIN, 0};
        return poll(&p, fd >= 0 ? 1 : 0, static_cast<int>(std::max<long long>(0, left.count()))) > 0;
    }
};

ServiceState state(std::string active, std::string sub, uint32_t main_pid = 0) {
    ServiceState s;
    s.active_state = std::move(active);
    s.sub_state = std::move(sub);
    s.main_pid = main_pid;
    return s;
}

ServiceState ended_by_signal(int signo, uint64_t exit_us) {
    ServiceState s = state("activating", "auto-restart");
    s.exec_main_code = CLD_KILLED;
    s.exec_main_status = signo;
    s.exec_main_exit_us = exit_us;
    s.result = "signal";
    return s;
}

TEST(Session, ChangesReachOnlyTheWatchOfTheirService) {
    HandPlayedSupervisor supervisor;
    Session session(supervisor, -1);
    ServiceWatch& a = session.follow("a.service");
    ServiceWatch& b = session.follow("b.service");
    int hook_calls = 0;
    a.on_change = [&](const ServiceState&) { ++hook_calls; };
    supervisor.changed("a.service", state("active", "running", 10));
    supervisor.changed("a.service", state("active", "running", 11));
    supervisor.changed("a.service", state("active", "running", 11)); // the same, told again
    supervisor.changed("a.service", state("active", "running", 10));
    supervisor.changed("unfollowed.service", state("failed", "failed"));

    EXPECT_EQ(a.changes, 4);
    EXPECT_EQ(hook_calls, 4);
    ASSERT_EQ(a.main_pids.size(), 3u) << "each change of main pid, in order (pids are reused)";
    EXPECT_EQ(a.main_pids[0].pid, 10u);
    EXPECT_EQ(a.main_pids[1].pid, 11u);
    EXPECT_EQ(a.main_pids[2].pid, 10u);
    EXPECT_EQ(a.last_state, "active/running");
    EXPECT_EQ(b.changes, 0);
    EXPECT_EQ(b.last_said(), "not started");
}

TEST(Session, EachEndIsKeptOnceAndFoundByItsTime) {
    HandPlayedSupervisor supervisor;
    Session session(supervisor, -1);
    ServiceWatch& w = session.follow("s.service");
    supervisor.changed("s.service", ended_by_signal(SIGABRT, 1000));
    supervisor.changed("s.service", ended_by_signal(SIGABRT, 1000)); // the same end, told twice
    supervisor.changed("s.service", state("active", "running", 12));  // the next process: no end
    supervisor.changed("s.service", ended_by_signal(SIGSEGV, 5000));

    ASSERT_EQ(w.ends.size(), 2u);
    EXPECT_EQ(w.ends[0].exec_main_status, SIGABRT);
    EXPECT_EQ(w.ends[1].exec_main_status, SIGSEGV);
    ASSERT_NE(w.end_since(1000 * 1000), nullptr);
    EXPECT_EQ(w.end_since(1000 * 1000)->exec_main_status, SIGABRT);
    ASSERT_NE(w.end_since(1001 * 1000), nullptr);
    EXPECT_EQ(w.end_since(1001 * 1000)->exec_main_status, SIGSEGV);
    EXPECT_EQ(w.end_since(5001 * 1000), nullptr);
}

TEST(Session, AJobEndThatComesBeforeTheReplyNamingItStillEndsTheCall) {
    HandPlayedSupervisor supervisor;
    Session session(supervisor, -1);
    ServiceWatch& w = session.follow("s.service");
    supervisor.due.push_back([&] { supervisor.job_done("7", "s.service", "failed"); });
    supervisor.due.push_back([&] { supervisor.asked.back()("", "7"); });
    const std::string result = session.run_job(
        "s.service", [&](Supervisor::Done done) { supervisor.reload("s.service", std::move(done)); },
        Clock::now() + 5s);
    EXPECT_EQ(result, "failed");
    EXPECT_FALSE(w.refused_restart()) << "our own reload, though its end came first";
}

TEST(Session, ACallIsDoneRefusedOrUnfinishedAtTheDeadline) {
    HandPlayedSupervisor supervisor;
    Session session(supervisor, -1);
    auto reload = [&](Supervisor::Done done) { supervisor.reload("s.service", std::move(done)); };

    supervisor.due.push_back([&] { supervisor.asked.back()("", ""); });
    EXPECT_EQ(session.run_job("s.service", reload, Clock::now() + 5s), "done")
        << "no job queued: the call was the whole of it";

    supervisor.due.push_back([&] { supervisor.asked.back()("no such unit", ""); });
    EXPECT_EQ(session.run_job("s.service", reload, Clock::now() + 5s), "refused: no such unit");

    const auto began = Clock::now();
    EXPECT_EQ(session.run_job("s.service", reload, Clock::now() + 50ms), "");
    EXPECT_GE(Clock::now() - began, 50ms);
}

TEST(Session, OnlyAFailedJobNobodyAskedForIsARefusedRestart) {
    HandPlayedSupervisor supervisor;
    Session session(supervisor, -1);
    ServiceWatch& w = session.follow("s.service");
    supervisor.due.push_back([&] { supervisor.asked.back()("", "3"); });
    supervisor.due.push_back([&] { supervisor.job_done("3", "s.service", "failed"); });
    session.run_job("s.service",
                    [&](Supervisor::Done done) { supervisor.reload("s.service", std::move(done)); },
                    Clock::now() + 5s);
    EXPECT_FALSE(w.refused_restart()) << "our own reload failing is not a refused restart";

    supervisor.job_done("4", "s.service", "done");
    EXPECT_FALSE(w.refused_restart());
    supervisor.job_done("5", "s.service", "failed");
    EXPECT_TRUE(w.refused_restart());
    EXPECT_EQ(w.jobs_done.at("5"), "failed");
}

TEST(Session, ReadUntilSleepsOnChangesAndReadsAgain) {
    HandPlayedSupervisor supervisor;
    Session session(supervisor, -1);
    int reads_answered = 0;
    auto answer = [&](ServiceState s) {
        supervisor.due.push_back([&, s] {
            ++reads_answered;
            supervisor.reads.back()("", s);
        });
    };
    answer(state("activating", "auto-restart"));
    supervisor.due.push_back([&] { supervisor.changed("s.service", state("failed", "failed")); });
    answer(state("failed", "failed"));
    auto s = session.read_until("s.service", [](const ServiceState& now) { return down(now); },
                                Clock::now() + 5s);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->state(), "failed/failed");
    EXPECT_EQ(reads_answered, 2) << "one read before the change, one after";
}

TEST(Session, AFailedReadIsASupervisorError) {
    HandPlayedSupervisor supervisor;
    Session session(supervisor, -1);
    supervisor.due.push_back([&] { supervisor.reads.back()("bus gone", ServiceState{}); });
    EXPECT_THROW(session.read("s.service", Clock::now() + 5s), SupervisorError);
}

TEST(Session, TheInterruptEndsAnyWait) {
    HandPlayedSupervisor supervisor;
    Fd interrupt(eventfd(0, EFD_CLOEXEC));
    Session session(supervisor, interrupt.get());
    const uint64_t one = 1;
    ASSERT_EQ(write(interrupt.get(), &one, sizeof one), ssize_t(sizeof one));
    EXPECT_THROW(session.wait(Clock::now() + 10s), Interrupted);
}

TEST(Session, APidsDeathWakesTheWait) {
    HandPlayedSupervisor supervisor;
    Session session(supervisor, -1);
    int go[2];
    ASSERT_EQ(pipe(go), 0);
    const pid_t child = fork();
    if (child == 0) {
        close(go[1]);
        char c;
        (void)!read(go[0], &c, 1); // dies once the parent closes its end
        _exit(0);
    }
    close(go[0]);
    ASSERT_TRUE(session.watch_pid(child));
    EXPECT_FALSE(session.died(child));
    close(go[1]);
    EXPECT_TRUE(session.wait_until([&] { return session.died(child).has_value(); },
                                   Clock::now() + 10s));
    waitpid(child, nullptr, 0);
    EXPECT_FALSE(session.watch_pid(child)) << "a pid seen dead stays dead to the session";
    session.forget_pids();
    EXPECT_FALSE(session.died(child));
}

TEST(Session, NoCallbackRunsOnceTheSessionIsGone) {
    HandPlayedSupervisor supervisor;
    bool ran = false;
    {
        Session session(supervisor, -1);
        session.follow("s.service").on_change = [&](const ServiceState&) { ran = true; };
        session.run_job("s.service",
                        [&](Supervisor::Done done) { supervisor.stop("s.service", std::move(done)); },
                        Clock::now() + 1ms);
    }
    supervisor.changed("s.service", state("inactive", "dead"));
    supervisor.asked.back()("", "9"); // a late reply
    EXPECT_FALSE(ran);
}

} // namespace
} // namespace crashloop
