// `exec:FILE`: a supervisor of your own, without C++. FILE is TOML: the
// supervisor's name, and one shell command template per operation, run with
// /bin/sh -c inside the run's jail (command_driver.hpp lists the placeholders;
// scenarios/supervisors/planted.toml is a worked example):
//
//   name    = "mysupervisor"                 # picks scenarios/expectations/<name>-<version>.toml
//   version = "mysupervisor --version"       # its first line of output
//   up      = "mysupervisor daemon {unit_dir}"   # optional, once before the first service
//                                            # ({names}: every service the run may make)
//   down    = "mysupervisor shutdown"        # optional, once at the end (after up)
//   install = "mysupervisor load {unit_file}"    # optional, once per service before it starts
//   start   = "mysupervisor start {name}"    # returns once the service runs; non-zero: refused
//   stop    = "mysupervisor stop {name}"     # returns once it is down
//   reload  = "mysupervisor reload {name}"   # optional (reload cells are n/a without it)
//   kill    = "mysupervisor kill {signal} {name}"  # optional: the main process only
//   state   = "mysupervisor show {names}"    # systemctl-show blocks, one per name, in order
//
//   restart_window_ms = 1500                 # optional: it shows no pending restart; one may
//                                            # come this long after a death (+ RestartSec=)
//   poll_interval_ms = 25                    # optional: how often `state` is read (default 25)
//
//   [states]                                 # optional: its own ActiveState= words, in systemd's
//   error = "failed/failed"                  # ("active/sub"); any other word is an error
//   backoff = "activating/auto-restart"
//
//   [not_supported]                          # cells this supervisor cannot express (n/a):
//   watchdog = "no watchdog"                 # a cause id = why, under every Restart=
//   on-failure = "restarts always or never"  # a Restart= value = why, for every cause
//   "no/restart-force" = "…"                 # one cell, restart/cause = why
#include <fmt/format.h>
#include <toml++/toml.h>

#include "command_driver.hpp"
#include "exit_cause.hpp"
#include "errors.hpp"
#include "toml_input.hpp"

namespace crashloop {

namespace {

struct Key {
    std::string_view name;
    Operation operation;
    std::string CommandSet::*field;
    bool required;
};

const Key kKeys[] = {
    {"version", Operation::version, &CommandSet::version, true},
    {"up", Operation::up, &CommandSet::up, false},
    {"down", Operation::down, &CommandSet::down, false},
    {"install", Operation::install, &CommandSet::install, false},
    {"start", Operation::start, &CommandSet::start, true},
    {"stop", Operation::stop, &CommandSet::stop, true},
    {"reload", Operation::reload, &CommandSet::reload, false},
    {"kill", Operation::kill, &CommandSet::kill, false},
    {"state", Operation::state, &CommandSet::state, true},
};

// [states]: the supervisor's own ActiveState= words → systemd's "active/sub".
std::map<std::string, std::string> state_table(const toml::node& node, const std::string& where) {
    const auto* table = node.as_table();
    if (!table)
        throw InputError(where, line_of(node),
                         "expected a table [states] of own-word = \"active/sub\", got " + shown(node));
    std::map<std::string, std::string> states;
    for (auto&& [key, value] : *table) {
        const auto* text = value.as_string();
        const std::string mapped = text ? text->get() : "";
        const size_t slash = mapped.find('/');
        if (slash == std::string::npos || slash + 1 == mapped.size() ||
            !systemd_active_state(mapped.substr(0, slash)))
            throw InputError(where, static_cast<int>(key.source().begin.line),
                             "expected systemd's \"ActiveState/SubState\" for " +
                                 std::string(key.str()) +
                                 " (e.g. \"failed/failed\", \"activating/auto-restart\"), got " +
                                 shown(value));
        states[std::string(key.str())] = mapped;
    }
    return states;
}

} // namespace

CommandSet load_exec_commands(const std::filesystem::path& file,
                              const std::filesystem::path& scenarios) {
    const std::string where = file.string();
    const toml::table top = parse_toml(file);
    reject_unknown_keys(
        top,
        {"name", "version", "up", "down", "install", "start", "stop", "reload", "kill", "state",
         "restart_window_ms", "poll_interval_ms", "states", "not_supported"},
        where, "an exec supervisor file");
    CommandSet commands;
    commands.source = where;
    commands.directory = std::filesystem::absolute(file).parent_path();

    auto text = [&](std::string_view key, bool required) -> std::string {
        const toml::node* node = top.get(key);
        if (!node) {
            if (required)
                throw InputError(where, 0, "expected a key '" + std::string(key) + "', got none");
            return "";
        }
        const auto* value = node->as_string();
        if (!value || value->get().empty())
            throw InputError(where, line_of(*node),
                             "expected a non-empty string in " + std::string(key) + ", got " +
                                 shown(*node));
        return value->get();
    };

    commands.name = text("name", true);
    for (const Key& key : kKeys) {
        std::string templ = text(key.name, key.required);
        if (auto why = malformed_placeholder(templ))
            throw InputError(where, line_of(*top.get(key.name)),
                             "expected {placeholder} in " + std::string(key.name) + ", got " + *why);
        for (const auto& unknown : unknown_placeholders(templ, key.operation))
            throw InputError(where, line_of(*top.get(key.name)),
                             "expected only the placeholders " + std::string(key.name) +
                                 " knows in " + std::string(key.name) + ", got {" + unknown + "}");
        commands.*key.field = std::move(templ);
    }

    // An hour bounds a window (it is waited out in every cell that stays down); a poll
    // interval runs from 1 ms to a minute.
    auto milliseconds = [&](std::string_view key, long long low, long long high)
        -> std::optional<std::chrono::milliseconds> {
        const toml::node* node = top.get(key);
        if (!node) return std::nullopt;
        const auto* ms = node->as_integer();
        if (!ms || ms->get() < low || ms->get() > high)
            throw InputError(where, line_of(*node),
                             fmt::format("expected {} to be a number of milliseconds from {} to "
                                         "{}, got {}",
                                         key, low, high, shown(*node)));
        return std::chrono::milliseconds(ms->get());
    };
    commands.restart_window = milliseconds("restart_window_ms", 0, 3600 * 1000);
    commands.poll_interval = milliseconds("poll_interval_ms", 1, 60 * 1000);

    if (const toml::node* node = top.get("states")) commands.states = state_table(*node, where);

    if (const toml::node* node = top.get("not_supported")) {
        const auto* table = node->as_table();
        if (!table)
            throw InputError(where, line_of(*node),
                             "expected a table [not_supported] of cause-id = \"reason\", got " +
                                 shown(*node));
        std::vector<ExitCause> causes;
        if (const auto known = scenarios / "causes.toml"; std::filesystem::exists(known))
            causes = load_exit_causes(known);
        for (auto&& [key, value] : *table) {
            const int line = static_cast<int>(key.source().begin.line);
            const std::string id(key.str());
            // A cause id, a Restart= value, or one cell: "no/restart-force".
            auto known_cause = [&causes](std::string_view cause) {
                return causes.empty() ||
                       std::any_of(causes.begin(), causes.end(),
                                   [&](const ExitCause& c) { return c.id == cause; });
            };
            const size_t slash = id.find('/');
            const bool known =
                slash == std::string::npos
                    ? known_cause(id) || parse_restart_value(id)
                    : parse_restart_value(id.substr(0, slash)) && known_cause(id.substr(slash + 1));
            if (!known)
                throw InputError(where, line,
                                 "expected a cause id of causes.toml, a Restart= value or "
                                 "\"restart/cause\" in [not_supported], got '" +
                                     id + "'");
            const auto* reason = value.as_string();
            if (!reason || reason->get().empty())
                throw InputError(where, line,
                                 "expected a reason (a non-empty string) for " + id + ", got " +
                                     shown(value));
            commands.not_supported[id] = reason->get();
        }
    }
    return commands;
}

DriverInfo exec_driver() {
    return {.name = "exec",
            .usage = "exec:FILE (a TOML file of command templates, see scenarios/supervisors/)",
            .takes_argument = true,
            .make = [](const DriverContext& context) -> std::unique_ptr<Supervisor> {
                return make_command_driver(load_exec_commands(context.argument, context.scenarios),
                                           context);
            }};
}

} // namespace crashloop
