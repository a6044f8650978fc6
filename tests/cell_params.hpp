#pragma once
// What the per-cell integration tests share: the causes as test parameters,
// and names that read like the table (on_failure/…/sigabrt).
#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

#include "exit_cause.hpp"
#include "private_systemd.hpp"
#include "restart_table.hpp"

namespace crashloop {
// ctest shows the parameter: "on-abort", not "4-byte object <05-00 00-00>".
inline void PrintTo(RestartValue value, std::ostream* out) { *out << to_string(value); }
} // namespace crashloop

namespace cell_params {

inline const std::vector<crashloop::ExitCause>& causes() {
    static const std::vector<crashloop::ExitCause> all =
        crashloop::load_exit_causes(crashloop::scenarios_dir() / "causes.toml");
    return all;
}

inline std::vector<std::string> cause_ids() {
    std::vector<std::string> ids;
    for (const auto& cause : causes()) ids.push_back(cause.id);
    return ids;
}

// A test name from an id: "reload-timeout" → "reload_timeout".
inline std::string identifier(std::string text) {
    std::replace(text.begin(), text.end(), '-', '_');
    return text;
}

} // namespace cell_params
