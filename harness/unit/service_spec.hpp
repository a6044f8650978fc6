#pragma once
// A service to install, in systemd.service(5)'s terms: what every driver is
// handed, whatever supervisor it speaks to; and the one translation of a unit's
// effective settings into it (service_spec_of), with the table of the keys it
// carries (carried_keys).
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "restart_table.hpp"

namespace crashloop {

struct ServiceSettings;

// The manager's DefaultTimeoutStartSec= / DefaultTimeoutStopSec= (systemd-system.conf(5)),
// for a unit that sets neither.
inline constexpr std::chrono::seconds default_timeout_start{90};
inline constexpr std::chrono::seconds default_timeout_stop{90};

// A service to install, in systemd.service(5)'s terms. The defaults are the
// matrix's own built-in cells (no unit); a unit's go through service_spec_of().
struct ServiceSpec {
    std::string name; // "crashloop-on-failure-sigabrt.service"
    std::string description;
    std::string type = "notify";
    RestartValue restart = RestartValue::no;
    std::chrono::microseconds restart_sec{100000};
    // infinite_time (service_settings.hpp): no timeout (systemd's USEC_INFINITY).
    std::chrono::microseconds timeout_start{30000000};
    std::chrono::microseconds timeout_stop{10000000};
    std::chrono::microseconds watchdog{0}; // 0: none
    std::vector<std::string> exec_start;   // argv, argv[0] absolute
    std::vector<std::string> exec_reload;  // empty: none
    std::vector<std::string> exec_stop;    // empty: none
    std::string pid_file;                  // PIDFile=, for Type=forking
    int kill_signal = 0;                   // KillSignal=; 0: the default (SIGTERM)
    std::string kill_mode;                 // KillMode=; empty: the default
    std::optional<std::chrono::microseconds> start_limit_interval; // StartLimitIntervalUSec=
    std::optional<unsigned> start_limit_burst;                     // StartLimitBurst=
    RestartRules rules;
    std::vector<std::string> after; // After= (systemd's anchor keeps units referenced with it)
    std::vector<std::string> environment; // Environment=, "NAME=value" each
    // LimitCORE=infinity, for a workload that keeps the daemon's cores (soak --real); else 0:
    // a dump would land in a working directory and outlive the run.
    bool dump_core = false;
    // Where crashloop set a value in place of the unit's, for the workload's sake:
    // "TimeoutStartSec= is 500 ms (the unit's: 90 s)". Filled by overridden().
    std::vector<std::string> overrides;
};

// One key of a unit file that service_spec_of() carries into the ServiceSpec.
struct CarriedKey {
    std::string_view key;      // as written in the unit file: "TimeoutStartSec"
    std::string_view section;  // where systemd reads it: "Service" or "Unit"
    std::string_view property; // what systemd holds it as on D-Bus: "TimeoutStartUSec"
    std::string_view how;      // what the translation does with it, for a reader
};

// Every key service_spec_of() carries, aliases (TimeoutSec=, StartLimitInterval=) included.
std::span<const CarriedKey> carried_keys();
// Whether a [section] key= of a unit file reaches the ServiceSpec.
bool carried(std::string_view section, std::string_view key);

// The unit's effective settings as a service to install: every key of
// carried_keys(), each as systemd would hold it (the manager's defaults where
// the unit sets none, infinity as infinite_time). The name and description are
// left empty; the commands are the unit's own (the first ExecReload= and
// ExecStop= only), for a subject to replace.
ServiceSpec service_spec_of(const ServiceSettings& unit);

// EnvironmentFile=, read as systemd reads it at every start and added to
// spec.environment after Environment='s (its values win). Only for the real
// daemon: a file that cannot be read without a leading '-' is an InputError
// (systemd would refuse to start the service).
void add_environment_files(ServiceSpec& spec, const ServiceSettings& unit);

// Sets a time span in place of the unit's and records it in spec.overrides:
// "<key>= is <value> (the unit's: <old value>)[, <why>]". Nothing when they agree.
void overridden(ServiceSpec& spec, std::string_view key,
                std::chrono::microseconds ServiceSpec::*field, std::chrono::microseconds value,
                std::string_view why = {});

// Adds exit status rules to the unit's (a cause's own, for its workload) and
// records each set that changed in spec.overrides:
// "SuccessExitStatus= is 42 (the unit's: none)".
void add_rules(ServiceSpec& spec, const RestartRules& more);

// An exit status set as a unit file writes it: "1 42 SIGUSR2".
std::string status_text(const ExitStatusSet& set);

} // namespace crashloop
