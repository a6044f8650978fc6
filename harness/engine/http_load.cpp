#include "http_load.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "errors.hpp"
#include "session.hpp"

namespace crashloop {

namespace {

using std::chrono::milliseconds;
constexpr milliseconds kRequestEvery{5};
constexpr milliseconds kRequestTimeout{1000};

enum class Wait { ready, timed_out, stopped };

// Waits for `events` on fd (none: just the stop fd) until the deadline.
Wait wait_for(int stop_fd, int fd, short events, Clock::time_point deadline) {
    for (;;) {
        auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now()).count();
        pollfd fds[2] = {{stop_fd, POLLIN, 0}, {fd, events, 0}};
        int n = poll(fds, fd >= 0 ? 2 : 1, int(std::max<long long>(0, left)));
        if (n < 0 && errno == EINTR) continue;
        if (fds[0].revents & POLLIN) return Wait::stopped;
        if (n > 0) return Wait::ready;
        if (left <= 0 || n == 0) return Wait::timed_out;
    }
}

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    return text;
}

// The value of a header in `head` (lower-cased), or "".
std::string header(const std::string& head_lower, const std::string& name) {
    const std::string key = "\r\n" + name + ":";
    const auto at = head_lower.find(key);
    if (at == std::string::npos) return "";
    const auto begin = head_lower.find_first_not_of(' ', at + key.size());
    if (begin == std::string::npos) return ""; // an empty last header
    const auto end = head_lower.find("\r\n", begin);
    return head_lower.substr(begin, end - begin);
}

// A request's end as the client saw it; `stopped` ends the client.
enum class Step { ok, refused, timed_out, bad, stale, stopped };

HttpOutcome outcome_of(Step step) {
    switch (step) {
    case Step::ok:
        return HttpOutcome::ok;
    case Step::refused:
        return HttpOutcome::refused;
    case Step::timed_out:
        return HttpOutcome::timed_out;
    default:
        return HttpOutcome::bad;
    }
}

} // namespace

std::string HttpTarget::text() const {
    return "http://" + host + ":" + std::to_string(port) + path;
}

std::optional<HttpTarget> parse_http_url(const std::string& url, std::string& why) {
    constexpr std::string_view scheme = "http://";
    if (!url.starts_with(scheme)) {
        why = "expected http://HOST:PORT/PATH (https is not spoken), got '" + url + "'";
        return std::nullopt;
    }
    std::string rest = url.substr(scheme.size());
    HttpTarget target;
    const auto slash = rest.find('/');
    if (slash != std::string::npos) {
        target.path = rest.substr(slash);
        rest.resize(slash);
    }
    const auto colon = rest.rfind(':');
    std::string host = rest.substr(0, colon);
    if (colon == std::string::npos) {
        target.port = 80;
    } else {
        const std::string port = rest.substr(colon + 1);
        unsigned value = 0;
        auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (port.empty() || error != std::errc() || end != port.data() + port.size() ||
            value == 0 || value > 65535) {
            why = "expected a port from 1 to 65535 in '" + url + "'";
            return std::nullopt;
        }
        target.port = uint16_t(value);
    }
    if (host == "localhost") host = "127.0.0.1";
    in_addr address{};
    if (inet_pton(AF_INET, host.c_str(), &address) != 1) {
        why = "expected an IPv4 address or localhost as the host of '" + url +
              "' (names are not looked up)";
        return std::nullopt;
    }
    target.host = host;
    if (target.path.find_first_of(" \r\n") != std::string::npos) {
        why = "the path of '" + url + "' holds a space or a line break";
        return std::nullopt;
    }
    return target;
}

bool port_taken(const HttpTarget& target) {
    in_addr address{};
    if (inet_pton(AF_INET, target.host.c_str(), &address) != 1 ||
        (ntohl(address.s_addr) >> 24) != 127)
        return false;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in where{};
    where.sin_family = AF_INET;
    where.sin_port = htons(target.port);
    where.sin_addr = address;
    // SO_REUSEADDR: connections of an earlier run in TIME_WAIT do not count, a listener does.
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    const bool taken = bind(fd, reinterpret_cast<sockaddr*>(&where), sizeof where) < 0 &&
                       errno == EADDRINUSE;
    close(fd);
    return taken;
}

// One client: its connection (kept, when it keeps them alive) and one request at a time.
struct HttpLoad::Client {
    const HttpTarget& target;
    int stop_fd;
    bool keep_alive;
    int fd = -1;

    ~Client() { disconnect(); }
    void disconnect() {
        if (fd >= 0) close(fd);
        fd = -1;
    }

    Step connect_to(Clock::time_point deadline) {
        fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) return Step::bad;
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(target.port);
        inet_pton(AF_INET, target.host.c_str(), &address.sin_addr);
        if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0)
            return Step::ok;
        if (errno == ECONNREFUSED) return Step::refused;
        if (errno != EINPROGRESS) return Step::bad;
        switch (wait_for(stop_fd, fd, POLLOUT, deadline)) {
        case Wait::stopped:
            return Step::stopped;
        case Wait::timed_out:
            return Step::timed_out;
        case Wait::ready:
            break;
        }
        int error = 0;
        socklen_t length = sizeof error;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error == ECONNREFUSED) return Step::refused;
        return error == 0 ? Step::ok : Step::bad;
    }

    // One GET; `stale` when a kept connection turned out closed before any answer came (the
    // server closed it while idle: a browser retries on a new one, and so does the caller).
    Step request() {
        const auto deadline = Clock::now() + kRequestTimeout;
        const bool reused = fd >= 0;
        if (!reused)
            if (Step s = connect_to(deadline); s != Step::ok) return disconnect(), s;
        const std::string text =
            keep_alive ? "GET " + target.path + " HTTP/1.1\r\nHost: " + target.host +
                             "\r\nUser-Agent: crashloop\r\nConnection: keep-alive\r\n\r\n"
                       : "GET " + target.path + " HTTP/1.0\r\nHost: " + target.host +
                             "\r\nUser-Agent: crashloop\r\n\r\n";
        if (send(fd, text.data(), text.size(), MSG_NOSIGNAL) != ssize_t(text.size())) {
            const bool refused = errno == ECONNREFUSED;
            disconnect();
            return reused ? Step::stale : refused ? Step::refused : Step::bad;
        }
        std::string answer;
        size_t body_from = std::string::npos, body_length = 0;
        bool until_close = !keep_alive, chunked = false, closes = !keep_alive;
        char buffer[4096];
        for (;;) {
            ssize_t n = read(fd, buffer, sizeof buffer);
            if (n > 0) {
                answer.append(buffer, size_t(n));
                if (body_from == std::string::npos) {
                    const auto end = answer.find("\r\n\r\n");
                    if (end == std::string::npos) continue;
                    body_from = end + 4;
                    const std::string head = lower(answer.substr(0, end));
                    const std::string length = header(head, "content-length");
                    chunked = header(head, "transfer-encoding").find("chunked") != std::string::npos;
                    closes = closes || header(head, "connection") == "close" ||
                             head.starts_with("http/1.0");
                    // 1xx, 204 and 304 answers have no body, whatever their headers say.
                    const bool bodiless = head.size() > 12 && (head[9] == '1' || head.compare(9, 3, "204") == 0 ||
                                                                head.compare(9, 3, "304") == 0);
                    if (bodiless) {
                        chunked = until_close = false;
                        body_length = 0;
                    } else if (!length.empty() && !chunked) {
                        std::from_chars(length.data(), length.data() + length.size(), body_length);
                    } else if (!chunked) {
                        until_close = true;
                    }
                }
                if (!until_close && body_from != std::string::npos) {
                    // A chunked body ends with its empty last chunk.
                    const bool whole =
                        chunked ? answer.size() >= body_from + 5 && answer.ends_with("0\r\n\r\n")
                                : answer.size() >= body_from + body_length;
                    if (whole) break;
                }
                continue;
            }
            if (n == 0) {
                if (answer.empty() && reused) return disconnect(), Step::stale;
                if (until_close && body_from != std::string::npos) break;
                return disconnect(), Step::bad; // cut short
            }
            if (errno == EINTR) continue;
            if (errno != EAGAIN) {
                const bool stale = answer.empty() && reused;
                disconnect();
                return stale ? Step::stale : Step::bad; // reset
            }
            switch (wait_for(stop_fd, fd, POLLIN, deadline)) {
            case Wait::stopped:
                return disconnect(), Step::stopped;
            case Wait::timed_out:
                return disconnect(), Step::timed_out;
            case Wait::ready:
                break;
            }
        }
        if (closes || !keep_alive) disconnect();
        int status = 0;
        const auto space = answer.find(' ');
        if (!answer.starts_with("HTTP/1.") || space == std::string::npos) return Step::bad;
        std::from_chars(answer.data() + space + 1, answer.data() + answer.size(), status);
        return status >= 200 && status < 400 ? Step::ok : Step::bad;
    }
};

HttpLoad::HttpLoad(HttpTarget target, unsigned clients, bool keep_alive_too)
    : target_(std::move(target)), stop_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (stop_fd_ < 0) throw SupervisorError(std::string("eventfd: ") + std::strerror(errno));
    for (unsigned i = 0; i < std::max(1u, clients); ++i)
        threads_.emplace_back([this, keep_alive = keep_alive_too && i % 2 == 1] { run(keep_alive); });
}

HttpLoad::~HttpLoad() {
    stop();
    close(stop_fd_);
}

void HttpLoad::stop() {
    uint64_t one = 1;
    [[maybe_unused]] auto ignored = write(stop_fd_, &one, sizeof one);
    for (auto& thread : threads_)
        if (thread.joinable()) thread.join();
}

void HttpLoad::run(bool keep_alive) {
    Client client{target_, stop_fd_, keep_alive};
    auto next = Clock::now();
    for (;;) {
        HttpRequest request;
        request.began_ns = monotonic_ns();
        Step step = client.request();
        if (step == Step::stale) step = client.request(); // once, on a new connection
        if (step == Step::stale) step = Step::bad;
        if (step == Step::stopped) return;
        request.ended_ns = monotonic_ns();
        request.outcome = outcome_of(step);
        record(request);
        // A request that took long is not made up for by a burst.
        next = std::max(next + kRequestEvery, Clock::now());
        if (wait_for(stop_fd_, -1, 0, next) == Wait::stopped) return;
    }
}

void HttpLoad::record(const HttpRequest& request) {
    std::lock_guard lock(mutex_);
    history_.push_back(request);
}

HttpLoadCounts HttpLoad::counts() const {
    std::lock_guard lock(mutex_);
    HttpLoadCounts c;
    for (const auto& r : history_) {
        ++c.requests;
        c.refused += r.outcome == HttpOutcome::refused;
        c.timed_out += r.outcome == HttpOutcome::timed_out;
        c.bad += r.outcome == HttpOutcome::bad;
    }
    return c;
}

std::vector<HttpRequest> HttpLoad::history() const {
    std::lock_guard lock(mutex_);
    return history_;
}

std::optional<long long> HttpLoad::first_ok_after(long long ns) const {
    std::lock_guard lock(mutex_);
    for (const auto& r : history_)
        if (r.outcome == HttpOutcome::ok && r.began_ns >= ns) return r.ended_ns;
    return std::nullopt;
}

std::optional<double> http_downtime_ms(const std::vector<HttpRequest>& history, long long from_ns) {
    std::optional<long long> failed_from;
    for (const auto& r : history) {
        if (r.ended_ns < from_ns) continue;
        if (!failed_from) {
            if (r.outcome != HttpOutcome::ok) failed_from = std::max(r.began_ns, from_ns);
        } else if (r.outcome == HttpOutcome::ok && r.began_ns >= *failed_from) {
            return double(r.ended_ns - *failed_from) / 1e6;
        }
    }
    if (!failed_from) return 0.0;
    return std::nullopt;
}

} // namespace crashloop
