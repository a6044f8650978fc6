#pragma once
// The soak's HTTP load: what the downtime a crash costs is measured with. A few clients on
// threads of their own (the bus loop can poll only one extra fd), each a `GET` every few
// milliseconds with a 1 s deadline: some open a connection per request (HTTP/1.0), some keep
// one open (HTTP/1.1 keep-alive, reconnecting when the server closes it), as browsers and
// proxies do. Every request is kept (when it began and ended, how it went), so that the
// downtime around a crash is read afterwards from what the clients saw. An eventfd stops
// every client at once, mid-request too.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace crashloop {

// Where the load goes: an IPv4 address (loopback, usually), a port and a path.
struct HttpTarget {
    std::string host = "127.0.0.1";
    uint16_t port = 0;
    std::string path = "/";
    std::string text() const; // "http://127.0.0.1:8080/"
};

// "http://HOST:PORT/PATH" with an IPv4 address or "localhost" for HOST (no name lookup: the
// load must not wait on a resolver); nullopt with `why` filled when it is not one.
std::optional<HttpTarget> parse_http_url(const std::string& url, std::string& why);

// Is anything listening on the target's port right now? (A bind to it fails.) For a loopback
// target only; false for any other address.
bool port_taken(const HttpTarget& target);

enum class HttpOutcome { ok, refused, timed_out, bad };

struct HttpRequest {
    long long began_ns = 0, ended_ns = 0; // CLOCK_MONOTONIC
    HttpOutcome outcome = HttpOutcome::ok;
};

struct HttpLoadCounts {
    unsigned requests = 0, refused = 0, timed_out = 0, bad = 0;
    unsigned failed() const { return refused + timed_out + bad; }
};

class HttpLoad {
  public:
    // `clients` threads; the odd-numbered ones keep their connection alive.
    HttpLoad(HttpTarget target, unsigned clients, bool keep_alive_too);
    ~HttpLoad();
    HttpLoad(const HttpLoad&) = delete;
    HttpLoad& operator=(const HttpLoad&) = delete;

    void stop(); // idempotent; joins every client
    HttpLoadCounts counts() const;
    // Every request ended so far, in order of their end.
    std::vector<HttpRequest> history() const;
    // The end of the first request that succeeded after `ns`, if any has yet.
    std::optional<long long> first_ok_after(long long ns) const;

  private:
    struct Client;
    HttpTarget target_;
    int stop_fd_;
    std::vector<std::thread> threads_;
    mutable std::mutex mutex_;
    std::vector<HttpRequest> history_;

    void run(bool keep_alive);
    void record(const HttpRequest& request);
};

// The downtime HTTP clients saw around a crash at `death_ns`: from the start of the first
// request after `from_ns` that failed to the end of the first one begun after it that
// succeeded. 0 when no request failed; nullopt when one failed and none succeeded since.
std::optional<double> http_downtime_ms(const std::vector<HttpRequest>& history, long long from_ns);

} // namespace crashloop
