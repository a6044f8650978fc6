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

// One instantiation of SUITE (a TestWithParam<tuple<RestartValue, string>>)
// per Restart= value, over every cause: on_failure/SUITE.test/sigabrt.
#define CRASHLOOP_CELL_VALUE(SUITE, name, value)                                                   \
    INSTANTIATE_TEST_SUITE_P(                                                                      \
        name, SUITE,                                                                               \
        ::testing::Combine(::testing::Values(value), ::testing::ValuesIn(cell_params::cause_ids())), \
        [](const auto& info) { return cell_params::identifier(std::get<1>(info.param)); })
#define CRASHLOOP_CELLS(SUITE)                                                                     \
    CRASHLOOP_CELL_VALUE(SUITE, no, ::crashloop::RestartValue::no);                                \
    CRASHLOOP_CELL_VALUE(SUITE, always, ::crashloop::RestartValue::always);                        \
    CRASHLOOP_CELL_VALUE(SUITE, on_success, ::crashloop::RestartValue::on_success);                \
    CRASHLOOP_CELL_VALUE(SUITE, on_failure, ::crashloop::RestartValue::on_failure);                \
    CRASHLOOP_CELL_VALUE(SUITE, on_abnormal, ::crashloop::RestartValue::on_abnormal);              \
    CRASHLOOP_CELL_VALUE(SUITE, on_abort, ::crashloop::RestartValue::on_abort);                    \
    CRASHLOOP_CELL_VALUE(SUITE, on_watchdog, ::crashloop::RestartValue::on_watchdog)
