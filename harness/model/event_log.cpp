#include "event_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "errors.hpp"

namespace crashloop {

namespace {

FixtureEvent parse_or_throw(std::string_view line, const std::filesystem::path& file, int number) {
    auto event = parse_event_line(line);
    if (!event)
        throw InputError(file.string(), number,
                         "expected '<incarnation> <pid> <monotonic ns> <event> [detail]', got '" +
                             std::string(line) + "'");
    return std::move(*event);
}

} // namespace

std::vector<FixtureEvent> read_event_log(const std::filesystem::path& file) {
    return EventLogTail(file).read_new();
}

EventLogTail::EventLogTail(std::filesystem::path file) : file_(std::move(file)) {}

EventLogTail::~EventLogTail() {
    if (fd_ >= 0) close(fd_);
}

std::vector<FixtureEvent> EventLogTail::read_new() {
    std::vector<FixtureEvent> events;
    // A missing file is an empty log: the fixture has not started yet.
    if (fd_ < 0 && (fd_ = open(file_.c_str(), O_RDONLY | O_CLOEXEC)) < 0) return events;
    char buffer[65536];
    for (ssize_t n; (n = read(fd_, buffer, sizeof buffer)) > 0;)
        pending_.append(buffer, size_t(n));
    // A last line without its newline is still being written (tmpfs grows a write page by
    // page): it is read next time, whole.
    size_t start = 0;
    for (size_t end; (end = pending_.find('\n', start)) != std::string::npos; start = end + 1)
        events.push_back(
            parse_or_throw(std::string_view(pending_).substr(start, end - start), file_, ++line_));
    pending_.erase(0, start);
    return events;
}

std::vector<Incarnation> incarnations_of(const std::vector<FixtureEvent>& events) {
    std::vector<Incarnation> result;
    for (const auto& e : events) {
        if (e.event == "start") {
            result.push_back({e.incarnation, e.pid, e.time_ns, std::nullopt, "start"});
            continue;
        }
        for (auto& incarnation : result) {
            if (incarnation.number != e.incarnation) continue;
            if (e.event == "ready" && !incarnation.ready_ns) incarnation.ready_ns = e.time_ns;
            incarnation.last_event = e.detail.empty() ? e.event : e.event + " " + e.detail;
        }
    }
    return result;
}

std::optional<long long> end_of(const std::vector<FixtureEvent>& events, int number) {
    for (const auto& e : events)
        if (e.incarnation == number && (e.event == "exit" || e.event == "die")) return e.time_ns;
    return std::nullopt;
}

} // namespace crashloop
