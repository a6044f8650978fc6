#include "session.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <sys/epoll.h>
#include <time.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "errors.hpp"

namespace crashloop {

namespace {

bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

} // namespace

long long monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

bool down(const ServiceState& s) {
    return (s.collected || s.active_state == "inactive" || s.active_state == "failed") &&
           s.job_id == 0;
}

const ServiceState* ServiceWatch::end_since(long long ns) const {
    for (const auto& end : ends)
        if (end.exec_main_exit_us != 0 && static_cast<long long>(end.exec_main_exit_us) * 1000 >= ns)
            return &end;
    return nullptr;
}

bool ServiceWatch::refused_restart() const {
    for (const auto& [job, result] : jobs_done)
        if (result == "failed" && !our_jobs.contains(job)) return true;
    return false;
}

void ServiceWatch::saw(const ServiceState& s) {
    live = s;
    last_state = s.state();
    last_words = s.own_words;
    // A new main pid is one other than the last: pids are reused in a long run.
    if (s.main_pid != 0 && (main_pids.empty() || main_pids.back().pid != s.main_pid))
        main_pids.push_back({s.main_pid, monotonic_ns()});
    if (s.exec_main_code != 0) {
        const bool repeat = !ends.empty() && ends.back().exec_main_code == s.exec_main_code &&
                            ends.back().exec_main_status == s.exec_main_status &&
                            ends.back().exec_main_exit_us == s.exec_main_exit_us;
        if (!repeat) ends.push_back(s);
    }
}

Session::Session(Supervisor& supervisor, int interrupt_fd)
    : supervisor_(supervisor), who_(supervisor.name()), interrupt_fd_(interrupt_fd),
      epoll_(epoll_create1(EPOLL_CLOEXEC)) {
    if (!epoll_.valid()) throw SupervisorError(std::string("epoll_create1: ") + std::strerror(errno));
    if (interrupt_fd_ >= 0) add_to_epoll(interrupt_fd_);
    supervisor_.watch(
        guarded([this](const std::string& service, const ServiceState& live) {
            auto it = watches_.find(service);
            if (it == watches_.end()) return;
            ServiceWatch& w = *it->second;
            ++w.changes;
            w.saw(live);
            if (w.on_change) w.on_change(live);
        }),
        guarded([this](const std::string& job, const std::string& service, const std::string& result) {
            auto it = watches_.find(service);
            if (it == watches_.end()) return;
            ServiceWatch& w = *it->second;
            w.jobs_done[job] = result;
            ++w.changes;
            if (w.on_job_done) w.on_job_done(job, result);
        }));
}

Session::~Session() { *alive_ = false; }

ServiceWatch& Session::follow(const std::string& service) {
    auto& slot = watches_[service];
    if (!slot) {
        slot = std::make_unique<ServiceWatch>();
        slot->service = service;
    }
    return *slot;
}

void Session::add_to_epoll(int fd) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = fd;
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0)
        throw SupervisorError(std::string("epoll_ctl: ") + std::strerror(errno));
}

void Session::reap_pidfds() {
    for (auto& [pid, watched] : pids_)
        if (watched.fd.valid() && readable(watched.fd.get())) {
            watched.died_ns = monotonic_ns();
            epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, watched.fd.get(), nullptr);
            watched.fd.reset();
        }
}

bool Session::wait(Clock::time_point deadline) {
    if (Clock::now() >= deadline) return false;
    if (supervisor_.wait(deadline, epoll_.get())) {
        if (interrupt_fd_ >= 0 && readable(interrupt_fd_)) throw Interrupted();
        reap_pidfds();
    }
    return true;
}

bool Session::watch_pid(uint32_t pid) {
    if (pids_.contains(pid)) return !pids_[pid].died_ns;
    Watched& watched = pids_[pid];
    watched.fd = pidfd_of(pid);
    if (!watched.fd.valid() || readable(watched.fd.get())) {
        watched.fd.reset();
        watched.died_ns = monotonic_ns();
        return false;
    }
    add_to_epoll(watched.fd.get());
    return true;
}

void Session::forget_pids() {
    for (auto& [pid, watched] : pids_)
        if (watched.fd.valid()) epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, watched.fd.get(), nullptr);
    pids_.clear();
}

void Session::watch_fd(int fd) {
    add_to_epoll(fd);
}

void Session::unwatch_fd(int fd) {
    epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

std::optional<long long> Session::died(uint32_t pid) const {
    auto it = pids_.find(pid);
    return it == pids_.end() ? std::nullopt : it->second.died_ns;
}

int Session::pidfd(uint32_t pid) const {
    auto it = pids_.find(pid);
    return it == pids_.end() ? -1 : it->second.fd.get();
}

std::string Session::run_job(const std::string& service,
                             const std::function<void(Supervisor::Done)>& call,
                             Clock::time_point deadline) {
    ServiceWatch& w = follow(service);
    // Owned by the callback too: a reply after we gave up lands here, not on a dead frame.
    struct Reply {
        std::optional<std::string> error, job;
    };
    auto reply = std::make_shared<Reply>();
    call(guarded([reply, &w](const std::string& error, const std::string& job) {
        reply->error = error;
        reply->job = job;
        if (!job.empty()) w.our_jobs.insert(job);
    }));
    for (;;) {
        if (reply->error && !reply->error->empty()) return "refused: " + *reply->error;
        if (reply->job && reply->job->empty()) return "done";
        if (reply->job) // the job's end may have come with the reply
            if (auto it = w.jobs_done.find(*reply->job); it != w.jobs_done.end()) return it->second;
        if (!wait(deadline)) return "";
    }
}

std::optional<ServiceState> Session::read(const std::string& service, Clock::time_point deadline) {
    ServiceWatch& w = follow(service);
    struct Reply {
        std::optional<ServiceState> state;
        std::string error;
    };
    auto reply = std::make_shared<Reply>();
    supervisor_.state(service, guarded([reply](const std::string& error, const ServiceState& s) {
        reply->error = error;
        reply->state = s;
    }));
    if (!wait_until([&] { return reply->state.has_value(); }, deadline)) return std::nullopt;
    if (!reply->error.empty()) throw SupervisorError("reading " + service + ": " + reply->error);
    w.saw(*reply->state);
    return reply->state;
}

std::optional<ServiceState> Session::read_until(
    const std::string& service, const std::function<bool(const ServiceState&)>& settled,
    Clock::time_point deadline) {
    ServiceWatch& w = follow(service);
    auto deaths = [this] {
        size_t n = 0;
        for (const auto& [pid, watched] : pids_) n += watched.died_ns.has_value();
        return n;
    };
    for (;;) {
        const long seen_changes = w.changes;
        const size_t seen_deaths = deaths();
        auto s = read(service, deadline);
        if (!s) return std::nullopt;
        if (settled(*s)) return s;
        if (!wait_until([&] { return w.changes != seen_changes || deaths() != seen_deaths; },
                        deadline))
            return std::nullopt;
    }
}

std::string Session::stop_until_down(const std::string& service, Clock::duration stop_budget,
                                     Clock::duration grace) {
    ServiceWatch& w = follow(service);
    std::string said;
    const auto began = Clock::now();
    auto deadline = began + stop_budget + grace;
    std::optional<ServiceState> s = read(service, deadline);
    // Down may be a restart still to come where the supervisor shows none: stop it anyway.
    const bool restart_unseen = supervisor_.restart_window(ServiceSpec{}).has_value();
    if (s && (!down(*s) || restart_unseen)) {
        const std::string result = run_job(
            service, [&](Supervisor::Done done) { supervisor_.stop(service, std::move(done)); },
            began + stop_budget);
        // A stop sent only in case of an unseen restart may be refused for a service that is
        // down already; refused for one that runs, it is the supervisor failing us.
        if (result.starts_with("refused: ") && !down(*s))
            throw SupervisorError(fmt::format("{} refused to stop {}: {}", who_, service,
                                              result.substr(9)));
        if (result.empty()) {
            // A daemon wedged in a signal handler (Apache's AH00060 handler logs, which is not
            // async-signal-safe, and can hang a parent hit while still starting) may outlast
            // every stop state: end its main process, say so, go on.
            const std::string stuck = w.last_said();
            run_job(service,
                    [&](Supervisor::Done done) { supervisor_.kill(service, SIGKILL, std::move(done)); },
                    Clock::now() + grace);
            said = fmt::format("the stop job had not ended after {} s ({} said {}), so SIGKILL "
                               "went to the main pid",
                               std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - began)
                                   .count(),
                               who_, stuck);
            deadline = Clock::now() + grace;
        }
        s = read_until(service, [](const ServiceState& now) { return down(now); }, deadline);
    }
    if (!s)
        throw SupervisorError(fmt::format("stopping {}: not down within {} s (last: {})", service,
                                          std::chrono::duration_cast<std::chrono::seconds>(
                                              Clock::now() - began)
                                              .count(),
                                          w.last_said()));
    // Down in the supervisor's eyes; its last main pid, and every pid watched, must be gone
    // too. (Older main pids are not opened anew: they died long ago, and a pid is reused.)
    std::vector<uint32_t> last;
    if (!w.main_pids.empty()) last.push_back(w.main_pids.back().pid);
    for (const auto& [pid, watched] : pids_)
        if (watched.fd.valid()) last.push_back(pid);
    for (uint32_t pid : last) {
        if (!watch_pid(pid)) continue;
        if (!wait_until([&] { return died(pid).has_value(); }, deadline))
            throw SupervisorError(fmt::format("stopping {}: main pid {} outlived it", service, pid));
    }
    return said;
}

} // namespace crashloop
