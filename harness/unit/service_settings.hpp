#pragma once
// The settings of a service unit that decide whether, when and how systemd
// restarts it (systemd.service(5), systemd.unit(5), systemd.kill(5)), read from
// an effective UnitFile as typed values, each with the file:line it came from.
// Values are checked against the vocabulary of systemd 252, the built-in
// supervisor; a bad one is an InputError naming the file and line of that
// assignment and what was expected there (systemd would log it and ignore it,
// which leaves a service that restarts differently from what its file says).
#include <chrono>
#include <csignal>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "restart_table.hpp"

namespace crashloop {

class UnitFile;

// systemd's USEC_INFINITY ("infinity", or 0 for the timeouts that read 0 as "off").
inline constexpr std::chrono::microseconds infinite_time = std::chrono::microseconds::max();

// A time span as systemd's parse_sec() reads it: "100ms", "1min 30s", "1.5s",
// "5" (seconds), "infinity" (= infinite_time); nullopt when it is not one.
std::optional<std::chrono::microseconds> parse_timespan(std::string_view text);

// A span for a reader: "500 ms", "90 s", "infinity".
std::string span_in_words(std::chrono::microseconds span);

struct ServiceSettings {
    std::string unit_name;
    std::string type = "simple"; // as systemd infers it when Type= is unset
    RestartValue restart = RestartValue::no;
    std::chrono::microseconds restart_sec{100000};
    // nullopt: the manager's default (DefaultTimeoutStartSec=, 90 s); infinite_time: off.
    std::optional<std::chrono::microseconds> timeout_start, timeout_stop;
    std::optional<std::chrono::microseconds> watchdog; // nullopt: no watchdog (unset or 0)
    // nullopt: the manager's default (10 s / 5 starts); an interval of 0 turns the limit off.
    std::optional<std::chrono::microseconds> start_limit_interval;
    std::optional<unsigned> start_limit_burst;
    int kill_signal = SIGTERM;
    std::string kill_mode = "control-group";
    bool has_exec_reload = false, has_exec_stop = false;
    std::string pid_file;
    RestartRules rules;
    // The first ExecStart= command, unquoted: element 0 is the program's path,
    // then its arguments. Prefixes (- @ : + ! !!) are stripped, and so is the
    // argv[0] an '@' names; $VARIABLES are left for the service's environment.
    std::vector<std::string> exec_start;
    // Every ExecReload= / ExecStop= command in force, in the order systemd runs
    // them (a line may hold several, split at a lone ';'), each unquoted as
    // exec_start is. has_exec_reload / has_exec_stop say whether there is any.
    std::vector<std::vector<std::string>> exec_reload, exec_stop;
    // Environment=: "NAME=value" each, unquoted and unescaped, in the order
    // assigned (a later NAME wins, as in systemd).
    std::vector<std::string> environment;
    // EnvironmentFile=: systemd reads these at every start, after Environment=
    // (their values win); a leading '-' lets the file be missing.
    struct EnvironmentFile {
        std::string path;
        bool may_be_missing = false;
        std::string source; // "file:line"
    };
    std::vector<EnvironmentFile> environment_files;
    // Canonical key ("Restart", "TimeoutStartSec", "StartLimitIntervalSec" …) ->
    // "file:line" of the assignment in force; absent for defaults.
    std::map<std::string, std::string> sources;
};

// Throws InputError for a bad value, and where systemd 252 would refuse to load
// the service: no ExecStart= (unless Type=oneshot with ExecStop= or
// SuccessAction=), more than one ExecStart= outside Type=oneshot, and
// Restart=always or on-success on a Type=oneshot service.
ServiceSettings service_settings(const UnitFile& unit);

// The service types the fake httpd can stand in for (oneshot, dbus and idle it cannot).
inline bool played_by_fake_httpd(const ServiceSettings& unit) {
    return unit.type == "simple" || unit.type == "exec" || unit.type == "notify" ||
           unit.type == "forking";
}

} // namespace crashloop
