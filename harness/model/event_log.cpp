#include "event_log.hpp"

#include <fstream>
#include <sstream>

#include "errors.hpp"

namespace crashloop {

std::vector<FixtureEvent> read_event_log(const std::filesystem::path& file) {
    std::vector<FixtureEvent> events;
    std::ifstream in(file);
    if (!in) return events;
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        // A last line without its newline is still being written (tmpfs grows a
        // write page by page): it is read next time, whole.
        if (in.eof()) break;
        std::istringstream fields(line);
        FixtureEvent e;
        if (!(fields >> e.incarnation >> e.pid >> e.time_ns >> e.event) || e.incarnation < 1)
            throw InputError(file.string(), number,
                             "expected '<incarnation> <pid> <monotonic ns> <event> [detail]', got '" +
                                 line + "'");
        std::getline(fields >> std::ws, e.detail);
        events.push_back(std::move(e));
    }
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
