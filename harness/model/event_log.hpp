#pragma once
// Reads what the fake httpd wrote down about itself (fixtures/README.md):
// one line per event, "<incarnation> <pid> <monotonic ns> <event> [detail]".
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cell_result.hpp"

namespace crashloop {

struct FixtureEvent {
    int incarnation = 0;
    int pid = 0;
    long long time_ns = 0;
    std::string event;  // start, ready, exit, die, reload-begin …
    std::string detail; // the exit code, the signal name, the plan …
};

// A missing file is an empty log (the fixture has not started yet). A last
// line without its newline is being written right now and is left for the
// next read; any other line that does not parse is an InputError naming the
// file and line.
std::vector<FixtureEvent> read_event_log(const std::filesystem::path& file);

// One entry per incarnation, in order, with its last event.
std::vector<Incarnation> incarnations_of(const std::vector<FixtureEvent>& events);

// When incarnation `number` announced its end (exit/die), if it did.
std::optional<long long> end_of(const std::vector<FixtureEvent>& events, int number);

} // namespace crashloop
