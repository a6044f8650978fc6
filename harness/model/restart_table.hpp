#pragma once
// Table 2 of systemd.service(5), "Exit causes and the effect of the Restart=
// settings on them", and the rules around it. The table itself is data
// (scenarios/table.toml); this file holds its vocabulary and the one pure
// function that answers "does the manual say this restarts?".
#include <array>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "signals.hpp" // signal_name(), parse_signal(): the fixture's own

namespace crashloop {

enum class RestartValue { no, always, on_success, on_failure, on_abnormal, on_abort, on_watchdog };
inline constexpr std::array<RestartValue, 7> all_restart_values = {
    RestartValue::no,          RestartValue::always,   RestartValue::on_success,
    RestartValue::on_failure,  RestartValue::on_abnormal, RestartValue::on_abort,
    RestartValue::on_watchdog};
std::string_view to_string(RestartValue value);               // "on-failure"
std::optional<RestartValue> parse_restart_value(std::string_view text);

// The table's rows, in the manual's words.
enum class ExitClass { clean, unclean_exit_code, unclean_signal, timeout, watchdog };
inline constexpr std::array<ExitClass, 5> all_exit_classes = {
    ExitClass::clean, ExitClass::unclean_exit_code, ExitClass::unclean_signal, ExitClass::timeout,
    ExitClass::watchdog};
std::string_view to_string(ExitClass row);                    // "unclean signal"
std::optional<ExitClass> parse_exit_class(std::string_view text);


// How the main process ended, as the supervisor sees it.
struct Outcome {
    enum class Kind { exited, killed, timeout, watchdog, supervisor_stop };
    Kind kind = Kind::exited;
    int exit_code = 0; // Kind::exited
    int signal = 0;    // Kind::killed
    bool operator==(const Outcome&) const = default;
};
std::string describe(const Outcome& outcome);                 // "exit code 1", "signal SIGABRT"

// SuccessExitStatus=, RestartPreventExitStatus=, RestartForceExitStatus=.
struct ExitStatusSet {
    std::set<int> codes;
    std::set<int> signals;
    bool empty() const { return codes.empty() && signals.empty(); }
    bool contains(const Outcome& outcome) const;
    void add(const ExitStatusSet& more) {
        codes.insert(more.codes.begin(), more.codes.end());
        signals.insert(more.signals.begin(), more.signals.end());
    }
};
struct RestartRules {
    ExitStatusSet success_exit_status;
    ExitStatusSet restart_prevent_exit_status;
    ExitStatusSet restart_force_exit_status;
    // A unit's settings add to a cause's own, as repeated assignments do.
    void add(const RestartRules& more) {
        success_exit_status.add(more.success_exit_status);
        restart_prevent_exit_status.add(more.restart_prevent_exit_status);
        restart_force_exit_status.add(more.restart_force_exit_status);
    }
};

class RestartTable {
  public:
    // Loads and validates scenarios/table.toml; throws InputError.
    static RestartTable load(const std::filesystem::path& file);

    bool row_restarts(ExitClass row, RestartValue value) const;
    const std::set<int>& clean_signals() const { return clean_signals_; }

    // Which row of the table an outcome falls in ("clean exit code or signal" …).
    ExitClass classify(const Outcome& outcome, const ExitStatusSet& success_exit_status) const;

    // The manual's answer, modifiers included, in the order systemd's
    // service_shall_restart() checks them: a stop by the supervisor itself never
    // restarts; then RestartPreventExitStatus= (never), then
    // RestartForceExitStatus= (always), then the table.
    bool shall_restart(RestartValue value, const Outcome& outcome, const RestartRules& rules) const;

  private:
    std::map<ExitClass, std::set<RestartValue>> restarted_by_;
    std::set<int> clean_signals_;
};

} // namespace crashloop
