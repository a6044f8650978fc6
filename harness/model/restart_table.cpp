#include "restart_table.hpp"

#include <string.h> // sigabbrev_np (GNU)

#include <algorithm>
#include <csignal>
#include <initializer_list>
#include <sstream>
#include <utility>

#include <toml++/toml.h>

#include "errors.hpp"
#include "toml_input.hpp"

namespace crashloop {

namespace {

// One string table per enum, as systemd's service_restart_to_string() does.
constexpr std::array<std::pair<RestartValue, std::string_view>, 7> restart_names = {{
    {RestartValue::no, "no"},
    {RestartValue::always, "always"},
    {RestartValue::on_success, "on-success"},
    {RestartValue::on_failure, "on-failure"},
    {RestartValue::on_abnormal, "on-abnormal"},
    {RestartValue::on_abort, "on-abort"},
    {RestartValue::on_watchdog, "on-watchdog"},
}};

// The row names are the manual's, word for word (systemd.service(5), Table 2).
constexpr std::array<std::pair<ExitClass, std::string_view>, 5> row_names = {{
    {ExitClass::clean, "clean exit code or signal"},
    {ExitClass::unclean_exit_code, "unclean exit code"},
    {ExitClass::unclean_signal, "unclean signal"},
    {ExitClass::timeout, "timeout"},
    {ExitClass::watchdog, "watchdog"},
}};

std::string join_restart_values() {
    std::string out;
    for (const auto& [value, name] : restart_names) {
        if (!out.empty()) out += ", ";
        out += name;
    }
    return out;
}

std::string join_row_names() {
    std::string out;
    for (const auto& [row, name] : row_names) {
        if (!out.empty()) out += ", ";
        out += "'" + std::string(name) + "'";
    }
    return out;
}





const toml::array& require_array(const toml::table& table, std::string_view key,
                                 const std::string& file, std::string_view where) {
    const toml::node* node = table.get(key);
    if (node == nullptr)
        throw InputError(file, line_of(table),
                         "expected '" + std::string(key) + "' in " + std::string(where) +
                             ", got none");
    const auto* array = node->as_array();
    if (array == nullptr)
        throw InputError(file, line_of(*node),
                         "expected '" + std::string(key) + "' to be an array, got " + shown(*node));
    return *array;
}

} // namespace

std::string_view to_string(RestartValue value) {
    for (const auto& [known, name] : restart_names)
        if (known == value) return name;
    return "?";
}

std::optional<RestartValue> parse_restart_value(std::string_view text) {
    for (const auto& [value, name] : restart_names)
        if (name == text) return value;
    return std::nullopt;
}

std::string_view to_string(ExitClass row) {
    for (const auto& [known, name] : row_names)
        if (known == row) return name;
    return "?";
}

std::optional<ExitClass> parse_exit_class(std::string_view text) {
    for (const auto& [row, name] : row_names)
        if (name == text) return row;
    return std::nullopt;
}

std::string describe(const Outcome& outcome) {
    switch (outcome.kind) {
    case Outcome::Kind::exited:
        return "exit code " + std::to_string(outcome.exit_code);
    case Outcome::Kind::killed:
        return "signal " + signal_name(outcome.signal);
    case Outcome::Kind::timeout:
        return "timeout";
    case Outcome::Kind::watchdog:
        return "watchdog";
    case Outcome::Kind::supervisor_stop:
        return "stopped by the supervisor";
    }
    return "?";
}

// As systemd's exit_status_set_test(): only a process that exited or was killed
// can match. A timeout or watchdog kill carries no status of its own here.
bool ExitStatusSet::contains(const Outcome& outcome) const {
    switch (outcome.kind) {
    case Outcome::Kind::exited:
        return codes.contains(outcome.exit_code);
    case Outcome::Kind::killed:
        return signals.contains(outcome.signal);
    default:
        return false;
    }
}

RestartTable RestartTable::load(const std::filesystem::path& file) {
    const std::string name = file.string();
    const toml::table doc = parse_toml(file);
    reject_unknown_keys(doc, {"clean_signals", "row"}, name, "the table file");

    RestartTable table;

    const toml::array& signals = require_array(doc, "clean_signals", name, "the table file");
    for (const toml::node& entry : signals) {
        const auto* text = entry.as_string();
        std::optional<int> signo = text ? parse_signal(text->get()) : std::nullopt;
        if (!signo)
            throw InputError(name, line_of(entry),
                             "expected a signal name such as 'SIGTERM' in clean_signals, got " +
                                 shown(entry));
        if (!table.clean_signals_.insert(*signo).second)
            throw InputError(name, line_of(entry),
                             "expected each clean signal once, got " + shown(entry) + " again");
    }

    const toml::array& rows = require_array(doc, "row", name, "the table file");
    for (const toml::node& entry : rows) {
        const auto* row = entry.as_table();
        if (row == nullptr)
            throw InputError(name, line_of(entry), "expected a [[row]] table, got " + shown(entry));
        reject_unknown_keys(*row, {"name", "restarted_by"}, name, "[[row]]");

        const toml::node* row_name = row->get("name");
        if (row_name == nullptr)
            throw InputError(name, line_of(*row), "expected 'name' in [[row]], got none");
        const auto* row_text = row_name->as_string();
        std::optional<ExitClass> exit_class =
            row_text ? parse_exit_class(row_text->get()) : std::nullopt;
        if (!exit_class)
            throw InputError(name, line_of(*row_name),
                             "expected a row name of Table 2 (" + join_row_names() + "), got " +
                                 shown(*row_name));
        if (table.restarted_by_.contains(*exit_class))
            throw InputError(name, line_of(*row_name),
                             "expected each row once, got " + shown(*row_name) + " again");

        std::set<RestartValue>& values = table.restarted_by_[*exit_class];
        for (const toml::node& value_node : require_array(*row, "restarted_by", name, "[[row]]")) {
            const auto* text = value_node.as_string();
            std::optional<RestartValue> value =
                text ? parse_restart_value(text->get()) : std::nullopt;
            if (!value)
                throw InputError(name, line_of(value_node),
                                 "expected a Restart= value (" + join_restart_values() + "), got " +
                                     shown(value_node));
            if (!values.insert(*value).second)
                throw InputError(name, line_of(value_node),
                                 "expected each Restart= value once per row, got " +
                                     shown(value_node) + " again");
        }
    }

    for (const auto& [row, row_name] : row_names) {
        if (!table.restarted_by_.contains(row))
            throw InputError(name, line_of(rows),
                             "expected a [[row]] named '" + std::string(row_name) + "', got none");
    }
    return table;
}

bool RestartTable::row_restarts(ExitClass row, RestartValue value) const {
    auto found = restarted_by_.find(row);
    return found != restarted_by_.end() && found->second.contains(value);
}

// systemd's is_clean_exit() for a daemon (EXIT_CLEAN_DAEMON).
ExitClass RestartTable::classify(const Outcome& outcome,
                                 const ExitStatusSet& success_exit_status) const {
    switch (outcome.kind) {
    case Outcome::Kind::exited:
        if (outcome.exit_code == 0 || success_exit_status.codes.contains(outcome.exit_code))
            return ExitClass::clean;
        return ExitClass::unclean_exit_code;
    case Outcome::Kind::killed:
        if (clean_signals_.contains(outcome.signal) ||
            success_exit_status.signals.contains(outcome.signal))
            return ExitClass::clean;
        return ExitClass::unclean_signal;
    case Outcome::Kind::timeout:
        return ExitClass::timeout;
    case Outcome::Kind::watchdog:
        return ExitClass::watchdog;
    case Outcome::Kind::supervisor_stop:
        return ExitClass::clean; // shall_restart() says no first
    }
    return ExitClass::clean;
}

// The order of systemd 252's service_shall_restart() (src/core/service.c).
bool RestartTable::shall_restart(RestartValue value, const Outcome& outcome,
                                 const RestartRules& rules) const {
    if (outcome.kind == Outcome::Kind::supervisor_stop) return false; // "manual stop"
    if (rules.restart_prevent_exit_status.contains(outcome)) return false;
    if (rules.restart_force_exit_status.contains(outcome)) return true;
    return row_restarts(classify(outcome, rules.success_exit_status), value);
}

} // namespace crashloop
