#pragma once
// The exit causes (scenarios/causes.toml): what the fake httpd is told to do,
// what the supervisor should see, and the unit settings the cause needs.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "restart_table.hpp"

namespace crashloop {

// What the harness does to the running service, besides the fixture's plan.
// kill: a signal from outside to the main pid, as `kill -s SIG <MainPID>` (systemctl kill).
enum class Trigger { none, stop, reload, kill };
std::string_view to_string(Trigger trigger);

struct ExitCause {
    std::string id;          // canonical id: "sigabrt", "start-timeout", "restart-force" …
    std::string group;       // "table" (a row of Table 2), "modifier" (a rule around it) or
                             // "story" (the operator's own checks: kill, reload crash, crash loop)
    std::string summary;     // one line, the manual's words
    std::string plan;        // fixture plan for the first incarnation (fixtures/README)
    Trigger trigger = Trigger::none;
    int kill_signal = 0;     // Trigger::kill
    bool every_incarnation = false; // the plan is every incarnation's: a crash loop
    Outcome outcome;         // what the supervisor should see the first incarnation end by
    RestartRules rules;      // SuccessExitStatus= & co. set on the unit
    std::optional<unsigned> start_timeout_ms; // TimeoutStartSec= when the timeout is the fault
    std::optional<unsigned> watchdog_ms;      // WatchdogSec=
    std::string file;        // where it was defined, for messages
    int line = 0;
};

// Loads and validates causes.toml: unique ids, known plan steps, signals and
// outcome kinds; every group either "table" or "modifier". Throws InputError.
std::vector<ExitCause> load_exit_causes(const std::filesystem::path& file);

// "sigabrt,exit-1" / "table" / "modifier" / "story" / "all" → the causes, in file order.
// Throws InputError (file "--cause") naming the unknown id.
std::vector<ExitCause> select_causes(const std::vector<ExitCause>& causes, const std::string& list);

} // namespace crashloop
