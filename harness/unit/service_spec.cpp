#include "service_spec.hpp"

#include <algorithm>
#include <array>
#include <fstream>

#include "errors.hpp"
#include "service_settings.hpp"

namespace crashloop {

namespace {

using std::chrono::microseconds;

// The one list of what reaches the service: service_spec_of() below sets a
// field for each row, the systemd readback test (tests/systemd/
// service_spec_readback_test.cpp) compares each property with what systemd
// holds, and check --real names every other [Service] key as not carried.
constexpr std::array kCarried{
    CarriedKey{"Type", "Service", "Type", "as is (simple when unset)"},
    CarriedKey{"Restart", "Service", "Restart", "as is"},
    CarriedKey{"RestartSec", "Service", "RestartUSec", "as is (100 ms when unset)"},
    CarriedKey{
        "TimeoutStartSec", "Service", "TimeoutStartUSec",
        "as is; unset: 90 s (DefaultTimeoutStartSec=), infinity for Type=oneshot; 0 or infinity: "
        "infinity"},
    CarriedKey{"TimeoutStopSec", "Service", "TimeoutStopUSec",
               "as is; unset: 90 s (DefaultTimeoutStopSec=); 0 or infinity: infinity"},
    CarriedKey{"TimeoutSec", "Service", "TimeoutStartUSec TimeoutStopUSec",
               "both of the above, whichever is assigned last wins"},
    CarriedKey{"WatchdogSec", "Service", "WatchdogUSec", "as is; unset or 0: none"},
    CarriedKey{"StartLimitIntervalSec", "Unit", "StartLimitIntervalUSec",
               "as is; unset: the manager's (10 s)"},
    CarriedKey{"StartLimitInterval", "Unit", "StartLimitIntervalUSec", "as StartLimitIntervalSec="},
    CarriedKey{"StartLimitInterval", "Service", "StartLimitIntervalUSec",
               "as StartLimitIntervalSec="},
    CarriedKey{"StartLimitBurst", "Unit", "StartLimitBurst", "as is; unset: the manager's (5)"},
    CarriedKey{"StartLimitBurst", "Service", "StartLimitBurst", "as in [Unit]"},
    CarriedKey{"KillSignal", "Service", "KillSignal", "as is (SIGTERM when unset)"},
    CarriedKey{"KillMode", "Service", "KillMode", "as is (control-group when unset)"},
    CarriedKey{"SuccessExitStatus", "Service", "SuccessExitStatus", "as is"},
    CarriedKey{"RestartPreventExitStatus", "Service", "RestartPreventExitStatus", "as is"},
    CarriedKey{"RestartForceExitStatus", "Service", "RestartForceExitStatus", "as is"},
    CarriedKey{"Environment", "Service", "Environment", "as is"},
    CarriedKey{"EnvironmentFile", "Service", "Environment",
               "check --real only: read by crashloop at each start, sent after Environment="},
    CarriedKey{"ExecStart", "Service", "ExecStart",
               "the first command; the fake httpd in its place, except for check --real"},
    CarriedKey{
        "ExecReload", "Service", "ExecReload",
        "the first command; the fake httpd's -k graceful in its place, except for check --real"},
    CarriedKey{"ExecStop", "Service", "ExecStop",
               "the first command; the fake httpd's -k graceful-stop in its place, except for "
               "check --real"},
    CarriedKey{"PIDFile", "Service", "PIDFile",
               "as is; the fake httpd's own pidfile in its place when it stands in"},
};

// systemd's parse_env_file(), the plain part of it: NAME=value lines, '#' and
// ';' comments, one level of single or double quotes around the value.
std::vector<std::string> read_environment_file(const ServiceSettings::EnvironmentFile& file) {
    std::ifstream in(file.path);
    if (!in) {
        if (file.may_be_missing) return {};
        throw InputError(file.source, 0,
                         "EnvironmentFile=" + file.path +
                             " cannot be read (systemd would refuse to "
                             "start the service; a leading '-' lets it be missing)");
    }
    std::vector<std::string> out;
    constexpr std::string_view blank = " \t\r";
    for (std::string line; std::getline(in, line);) {
        const auto first = line.find_first_not_of(blank);
        if (first == std::string::npos || line[first] == '#' || line[first] == ';') continue;
        const auto equals = line.find('=', first);
        if (equals == std::string::npos) continue;
        std::string name = line.substr(first, equals - first);
        name.erase(name.find_last_not_of(blank) + 1);
        std::string value = line.substr(equals + 1);
        value.erase(0, std::min(value.size(), value.find_first_not_of(blank)));
        value.erase(value.find_last_not_of(blank) + 1);
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
            value.back() == value.front())
            value = value.substr(1, value.size() - 2);
        if (!name.empty()) out.push_back(name + "=" + value);
    }
    return out;
}

} // namespace

std::span<const CarriedKey> carried_keys() {
    return kCarried;
}

bool carried(std::string_view section, std::string_view key) {
    return std::ranges::any_of(
        kCarried, [&](const CarriedKey& row) { return row.section == section && row.key == key; });
}

ServiceSpec service_spec_of(const ServiceSettings& unit) {
    ServiceSpec s;
    s.type = unit.type;
    s.restart = unit.restart;
    s.restart_sec = unit.restart_sec;
    // Unset: the manager's defaults. Infinity stays infinity: the bus sends it as
    // USEC_INFINITY, a unit file as "infinity".
    // A Type=oneshot service has no start timeout unless it sets one (service.c,
    // service_add_extras(): "Oneshot services have disabled start timeout by default").
    s.timeout_start = unit.timeout_start.value_or(
        unit.type == "oneshot" ? infinite_time : microseconds(default_timeout_start));
    s.timeout_stop = unit.timeout_stop.value_or(default_timeout_stop);
    s.watchdog = unit.watchdog.value_or(microseconds::zero());
    s.start_limit_interval = unit.start_limit_interval;
    s.start_limit_burst = unit.start_limit_burst;
    s.kill_signal = unit.kill_signal;
    s.kill_mode = unit.kill_mode;
    s.rules = unit.rules;
    s.environment = unit.environment;
    s.exec_start = unit.exec_start;
    if (!unit.exec_reload.empty()) s.exec_reload = unit.exec_reload.front();
    if (!unit.exec_stop.empty()) s.exec_stop = unit.exec_stop.front();
    s.pid_file = unit.pid_file;
    return s;
}

void add_environment_files(ServiceSpec& spec, const ServiceSettings& unit) {
    for (const auto& file : unit.environment_files)
        for (auto& assignment : read_environment_file(file))
            spec.environment.push_back(std::move(assignment));
}

void overridden(ServiceSpec& spec, std::string_view key, microseconds ServiceSpec::*field,
                microseconds value, std::string_view why) {
    microseconds& current = spec.*field;
    if (current == value) return;
    spec.overrides.push_back(std::string(key) + "= is " + span_in_words(value) +
                             " (the unit's: " + span_in_words(current) + ")" +
                             (why.empty() ? "" : ", " + std::string(why)));
    current = value;
}

std::string status_text(const ExitStatusSet& set) {
    std::string out;
    for (int code : set.codes)
        out += (out.empty() ? "" : " ") + std::to_string(code);
    for (int signo : set.signals)
        out += (out.empty() ? "" : " ") + signal_name(signo);
    return out;
}

void add_rules(ServiceSpec& spec, const RestartRules& more) {
    auto add = [&](std::string_view key, ExitStatusSet& set, const ExitStatusSet& extra) {
        ExitStatusSet merged = set;
        merged.add(extra);
        if (merged.codes == set.codes && merged.signals == set.signals) return;
        spec.overrides.push_back(std::string(key) + "= is " + status_text(merged) +
                                 " (the unit's: " + (set.empty() ? "none" : status_text(set)) +
                                 ")");
        set = merged;
    };
    add("SuccessExitStatus", spec.rules.success_exit_status, more.success_exit_status);
    add("RestartPreventExitStatus", spec.rules.restart_prevent_exit_status,
        more.restart_prevent_exit_status);
    add("RestartForceExitStatus", spec.rules.restart_force_exit_status,
        more.restart_force_exit_status);
}

} // namespace crashloop
