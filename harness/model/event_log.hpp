#pragma once
// Reads what the fake httpd wrote down about itself (fixtures/README.md):
// one line per event, "<incarnation> <pid> <monotonic ns> <event> [detail]".
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cell_result.hpp"
#include "event_line.hpp"

namespace crashloop {

// One line of the log, as the fixture writes it (fixtures/event_line.hpp).
using FixtureEvent = EventLine;

// A missing file is an empty log (the fixture has not started yet). A last
// line without its newline is being written right now and is left for the
// next read; any other line that does not parse is an InputError naming the
// file and line.
std::vector<FixtureEvent> read_event_log(const std::filesystem::path& file);

// The log read as it grows: each read_new() returns the complete lines appended since the last
// one (a half-written last line waits for the next). InputError for a line that does not parse.
class EventLogTail {
  public:
    explicit EventLogTail(std::filesystem::path file);
    ~EventLogTail();
    EventLogTail(const EventLogTail&) = delete;
    EventLogTail& operator=(const EventLogTail&) = delete;
    std::vector<FixtureEvent> read_new();

  private:
    std::filesystem::path file_;
    int fd_ = -1;
    std::string pending_;
    int line_ = 0;
};

// One entry per incarnation, in order, with its last event.
std::vector<Incarnation> incarnations_of(const std::vector<FixtureEvent>& events);

// When incarnation `number` announced its end (exit/die), if it did.
std::optional<long long> end_of(const std::vector<FixtureEvent>& events, int number);

} // namespace crashloop
