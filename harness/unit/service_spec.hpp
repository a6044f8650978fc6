#pragma once
// A service to install, in systemd.service(5)'s terms: what every driver is
// handed, whatever supervisor it speaks to.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "restart_table.hpp"

namespace crashloop {

// A service to install, in systemd.service(5)'s terms.
struct ServiceSpec {
    std::string name; // "crashloop-on-failure-sigabrt.service"
    std::string description;
    std::string type = "notify";
    RestartValue restart = RestartValue::no;
    std::chrono::microseconds restart_sec{100000};
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
    std::vector<std::string> after;       // After= (systemd's anchor keeps units referenced with it)
    std::vector<std::string> environment; // Environment=, "NAME=value" each
};

} // namespace crashloop
