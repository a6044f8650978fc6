#pragma once
// The soak's HTTP prober: what the downtime a crash costs is measured with.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <thread>

#include "errors.hpp"

namespace crashloop {

// `GET / HTTP/1.0` to 127.0.0.1:port every 5 ms, each with a 1 s deadline, on a thread of its
// own (the bus loop can poll only one extra fd). An eventfd stops it at once, mid-probe too.
class Prober {
    using Clock = std::chrono::steady_clock;
    using milliseconds = std::chrono::milliseconds;
    static constexpr milliseconds kProbeEvery{5};
    static constexpr milliseconds kProbeTimeout{1000};

  public:
    explicit Prober(uint16_t port) : port_(port), stop_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
        if (stop_fd_ < 0) throw SupervisorError(std::string("eventfd: ") + std::strerror(errno));
        thread_ = std::thread([this] { run(); });
    }
    ~Prober() {
        stop();
        close(stop_fd_);
    }
    Prober(const Prober&) = delete;
    Prober& operator=(const Prober&) = delete;

    void stop() {
        if (!thread_.joinable()) return;
        uint64_t one = 1;
        [[maybe_unused]] auto ignored = write(stop_fd_, &one, sizeof one);
        thread_.join();
    }

    unsigned probes() const { return probes_; }
    unsigned refused() const { return refused_; }
    unsigned timed_out() const { return timed_out_; }
    unsigned bad() const { return bad_; }

  private:
    enum class Outcome { ok, refused, timed_out, bad, stopped };
    enum class Wait { ready, timed_out, stopped };

    uint16_t port_;
    int stop_fd_;
    std::thread thread_;
    std::atomic<unsigned> probes_{0}, refused_{0}, timed_out_{0}, bad_{0};

    void run() {
        auto next = Clock::now();
        for (;;) {
            const Outcome outcome = probe();
            if (outcome == Outcome::stopped) return;
            ++probes_;
            if (outcome == Outcome::refused) ++refused_;
            if (outcome == Outcome::timed_out) ++timed_out_;
            if (outcome == Outcome::bad) ++bad_;
            // A probe that took long is not made up for by a burst.
            next = std::max(next + kProbeEvery, Clock::now());
            if (wait_for(-1, 0, next) == Wait::stopped) return;
        }
    }

    // Waits for `events` on fd (none: just the stop fd) until the deadline.
    Wait wait_for(int fd, short events, Clock::time_point deadline) {
        for (;;) {
            auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now()).count();
            pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {fd, events, 0}};
            int n = poll(fds, fd >= 0 ? 2 : 1, int(std::max<long long>(0, left)));
            if (n < 0 && errno == EINTR) continue;
            if (fds[0].revents & POLLIN) return Wait::stopped;
            if (n > 0) return Wait::ready;
            if (left <= 0 || n == 0) return Wait::timed_out;
        }
    }

    // A wait that did not end ready ends the probe: stopped, or timed out.
    static std::optional<Outcome> interrupted(Wait wait) {
        if (wait == Wait::stopped) return Outcome::stopped;
        if (wait == Wait::timed_out) return Outcome::timed_out;
        return std::nullopt;
    }

    Outcome probe() {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) return Outcome::bad;
        struct Closer {
            int fd;
            ~Closer() { close(fd); }
        } closer{fd};
        const auto deadline = Clock::now() + kProbeTimeout;
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port_);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) {
            if (errno == ECONNREFUSED) return Outcome::refused;
            if (errno != EINPROGRESS) return Outcome::bad;
            if (auto cut = interrupted(wait_for(fd, POLLOUT, deadline))) return *cut;
            int error = 0;
            socklen_t length = sizeof error;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
            if (error == ECONNREFUSED) return Outcome::refused;
            if (error != 0) return Outcome::bad;
        }
        static constexpr char request[] = "GET / HTTP/1.0\r\n\r\n";
        if (send(fd, request, sizeof request - 1, MSG_NOSIGNAL) != ssize_t(sizeof request - 1))
            return errno == ECONNREFUSED ? Outcome::refused : Outcome::bad;
        std::string answer;
        char buffer[1024];
        for (;;) {
            ssize_t n = read(fd, buffer, sizeof buffer);
            if (n > 0) {
                answer.append(buffer, size_t(n));
                continue;
            }
            if (n == 0) break;
            if (errno != EAGAIN && errno != EINTR) return Outcome::bad; // reset, cut short
            if (auto cut = interrupted(wait_for(fd, POLLIN, deadline))) return *cut;
        }
        const bool ok = answer.starts_with("HTTP/1.0 200 ") || answer.starts_with("HTTP/1.1 200 ");
        return ok ? Outcome::ok : Outcome::bad;
    }
};

} // namespace crashloop
