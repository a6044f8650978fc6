#pragma once
// The one place the engine talks to a supervisor. Every workload (a matrix's cells, check
// --real's causes, a soak's reloads) drives its services through a Session, which:
// - routes each change and job end the supervisor reports to the service it concerns, and
//   keeps what every workload needs of it (ServiceWatch: the latest state, the main pids
//   seen, how each main process ended while the supervisor still said so, the jobs that
//   ended, a restart the supervisor refused);
// - waits only on events (the supervisor's, pidfds, the interrupt), always with a deadline;
// - never runs a callback once it is gone (a supervisor may outlive a run and still answer).
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fd.hpp"
#include "supervisor.hpp"

namespace crashloop {

using Clock = std::chrono::steady_clock;

// CLOCK_MONOTONIC in ns: the clock of the fixture's log and of systemd's timestamps.
long long monotonic_ns();

struct MainPid {
    uint32_t pid = 0;
    long long first_seen_ns = 0;
};

// What the supervisor has said about one service, from every change and every read.
struct ServiceWatch {
    std::string service;
    ServiceState live;          // its latest word (a change or a read)
    long changes = 0;           // changes and job ends reported (reads not counted): waits wake on these
    std::vector<MainPid> main_pids; // distinct, in order
    // Each main process's end while the supervisor said so (ExecMainCode= set), consecutive
    // repeats collapsed: systemd forgets an end once the next process starts, often before a
    // read could get there; the signal that announced it carries it.
    std::vector<ServiceState> ends;
    std::set<std::string> our_jobs;               // the jobs the workload asked for
    std::map<std::string, std::string> jobs_done; // every job of the service that ended → result
    // A job nobody asked for (a restart) ended "failed": the supervisor refused the restart.
    // In systemd 252 that is the start limit (Result= keeps the crash's own value). Decided
    // when asked: a job's end may come before the reply that names it as ours.
    bool refused_restart() const;
    std::string last_state = "not started";
    std::string last_words; // the same in the supervisor's own words, when they are not systemd's

    // Hooks of the workload, run after the watch took the news in.
    std::function<void(const ServiceState&)> on_change;
    std::function<void(const std::string& job, const std::string& result)> on_job_done;

    // "activating/start" or "failed/failed (FATAL: Exited too quickly …)".
    std::string last_said() const {
        return last_words.empty() ? last_state : last_state + " (" + last_words + ")";
    }
    uint32_t first_pid() const { return main_pids.empty() ? 0 : main_pids.front().pid; }
    // The first end the supervisor timed at or after `ns` (CLOCK_MONOTONIC), if any.
    const ServiceState* end_since(long long ns) const;

    void saw(const ServiceState& s); // from a change or a read
};

class Session {
  public:
    Session(Supervisor& supervisor, int interrupt_fd);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    Supervisor& supervisor() { return supervisor_; }
    const std::string& who() const { return who_; } // the supervisor's name, for every message

    // The watch of `service`, made on first use; it lives as long as the session.
    ServiceWatch& follow(const std::string& service);

    // f, made a no-op once the session is gone: for every callback handed to the supervisor.
    template <typename F> auto guarded(F f) {
        return [alive = alive_, f = std::move(f)](const auto&... args) {
            if (*alive) f(args...);
        };
    }

    // Runs what has arrived, else sleeps until the supervisor says something, a watched pid
    // dies or the deadline. False once the deadline has passed; throws Interrupted when the
    // interrupt fd is readable.
    bool wait(Clock::time_point deadline);
    // Waits until done() holds; false at the deadline.
    template <typename Done> bool wait_until(Done done, Clock::time_point deadline) {
        while (!done())
            if (!wait(deadline)) return done();
        return true;
    }

    // Asks for an operation and waits for its job's end: "done", "failed" … ("done" when the
    // supervisor queues no job: the call was the whole of it), "refused: …", or "" at the
    // deadline.
    std::string run_job(const std::string& service,
                        const std::function<void(Supervisor::Done)>& call,
                        Clock::time_point deadline);
    // The service's state as of now (the reply follows every change the supervisor made
    // before it); nullopt at the deadline; throws SupervisorError when the read fails.
    std::optional<ServiceState> read(const std::string& service, Clock::time_point deadline);
    // Reads until settled(state) holds, sleeping on changes (and pid deaths) in between.
    std::optional<ServiceState> read_until(const std::string& service,
                                           const std::function<bool(const ServiceState&)>& settled,
                                           Clock::time_point deadline);

    // Our own stop, and the wait until the service is down (a confirmed read, nothing queued)
    // and every main pid it had is gone. A stop job that outlives `stop_budget` (a daemon
    // wedged in a signal handler) gets SIGKILL on the main pid, said in the returned text.
    // Throws SupervisorError when the service will not go down.
    std::string stop_until_down(const std::string& service, Clock::duration stop_budget,
                                Clock::duration grace);

    // A pidfd on `pid` among the events; the time it was seen to die, once it has.
    // False when the process is already gone (then died() says so).
    bool watch_pid(uint32_t pid);
    std::optional<long long> died(uint32_t pid) const;
    int pidfd(uint32_t pid) const; // -1 when not watched or gone
    // Drops every pid watched so far: pids are reused, so each cell starts afresh.
    void forget_pids();

    // An fd of the workload's own among the events: wait() wakes while it is readable (the
    // caller drains it), until unwatch_fd().
    void watch_fd(int fd);
    void unwatch_fd(int fd);

  private:
    Supervisor& supervisor_;
    const std::string who_;
    const int interrupt_fd_;
    Fd epoll_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    std::map<std::string, std::unique_ptr<ServiceWatch>> watches_;
    struct Watched {
        Fd fd;
        std::optional<long long> died_ns;
    };
    std::map<uint32_t, Watched> pids_;

    void add_to_epoll(int fd);
    void reap_pidfds();
};

bool down(const ServiceState& s); // inactive or failed (or forgotten), nothing queued

} // namespace crashloop
