#include "exit_cause.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <climits>
#include <csignal>
#include <cstdint>
#include <initializer_list>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "errors.hpp"
#include "plan.hpp"
#include "toml_input.hpp"

namespace crashloop {

namespace {

// Words select_causes() gives a meaning of their own; no cause may be called so.
constexpr std::array<std::string_view, 4> selector_words = {"table", "modifier", "story", "all"};





// --- the fixture's plan (fixtures/README.md, "The plan") ----------------------

// What the checks below need to know about one incarnation's plan.
struct PlanSummary {
    bool ready = false;
    bool pings_stopped = false;       // no-pings or stop-pings
    std::optional<int> exit_code;     // exit:N
    std::optional<int> signal;        // die:SIG
    std::string on_reload = "reload"; // reload | hang | die:SIG
    std::optional<int> reload_signal; // on-reload:die:SIG
};

// Summarises one incarnation's steps, parsed by the fixture's own grammar (fixtures/plan.hpp);
// throws plan::PlanError (without file:line).
PlanSummary check_plan_part(std::string_view part) {
    PlanSummary plan;
    for (const plan::Step& step : plan::parse_part(part)) {
        switch (step.act) {
        case plan::Act::ready: plan.ready = true; break;
        case plan::Act::no_pings:
        case plan::Act::stop_pings: plan.pings_stopped = true; break;
        case plan::Act::exit: plan.exit_code = step.number; break;
        case plan::Act::die: plan.signal = step.number; break;
        case plan::Act::on_reload:
            plan.reload_signal.reset();
            if (step.chance) plan.on_reload = "chance";
            else if (step.reload == plan::Reload::hang) plan.on_reload = "hang";
            else if (step.reload == plan::Reload::die) {
                plan.on_reload = "die:" + signal_name(step.number);
                plan.reload_signal = step.number;
            } else plan.on_reload = "reload";
            break;
        case plan::Act::daemonize:
        case plan::Act::wait_go:
        case plan::Act::serve: break;
        }
    }
    return plan;
}

// --- exit status lists ---------------------------------------------------------

// Signals whose default action dumps core (signal(7)). systemd's is_clean_exit()
// only ever looks at CLD_EXITED and CLD_KILLED, so SuccessExitStatus= cannot
// make one of these clean once a core is written (CLD_DUMPED).
bool dumps_core(int signo) {
    switch (signo) {
    case SIGABRT:
    case SIGBUS:
    case SIGFPE:
    case SIGILL:
    case SIGQUIT:
    case SIGSEGV:
    case SIGSYS:
    case SIGTRAP:
    case SIGXCPU:
    case SIGXFSZ:
        return true;
    default:
        return false;
    }
}

ExitStatusSet parse_status_set(const toml::node& node, std::string_view key,
                               const std::string& file) {
    const auto* array = node.as_array();
    if (array == nullptr)
        throw InputError(file, line_of(node),
                         "expected '" + std::string(key) +
                             "' to be an array of exit codes and signal names, got " + shown(node));
    ExitStatusSet set;
    for (const toml::node& entry : *array) {
        bool added = false;
        if (const auto* number = entry.as_integer()) {
            if (number->get() < 0 || number->get() > 255)
                throw InputError(file, line_of(entry),
                                 "expected an exit code in 0..255, got " + shown(entry));
            added = set.codes.insert(static_cast<int>(number->get())).second;
        } else if (const auto* text = entry.as_string()) {
            std::optional<int> signo = parse_signal(text->get());
            if (!signo)
                throw InputError(file, line_of(entry),
                                 "expected a signal name such as 'SIGUSR2', got " + shown(entry));
            if (key == "success_exit_status" && dumps_core(*signo))
                throw InputError(file, line_of(entry),
                                 "expected a signal that does not dump core (SuccessExitStatus= "
                                 "never makes a core dump clean), got " +
                                     shown(entry));
            added = set.signals.insert(*signo).second;
        } else {
            throw InputError(file, line_of(entry),
                             "expected an exit code or a signal name, got " + shown(entry));
        }
        if (!added)
            throw InputError(file, line_of(entry),
                             "expected each status once in '" + std::string(key) + "', got " +
                                 shown(entry) + " again");
    }
    return set;
}

// --- one [[cause]] -------------------------------------------------------------

const toml::node& require(const toml::table& table, std::string_view key, const std::string& file) {
    const toml::node* node = table.get(key);
    if (node == nullptr)
        throw InputError(file, line_of(table),
                         "expected '" + std::string(key) + "' in [[cause]], got none");
    return *node;
}

std::string require_string(const toml::table& table, std::string_view key,
                           const std::string& file) {
    const toml::node& node = require(table, key, file);
    const auto* text = node.as_string();
    if (text == nullptr || text->get().empty())
        throw InputError(file, line_of(node),
                         "expected '" + std::string(key) + "' to be a non-empty string, got " +
                             shown(node));
    return text->get();
}

bool valid_id(std::string_view id) {
    return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
}

Outcome parse_outcome(const toml::node& node, std::string& timeout_of, const std::string& file) {
    constexpr std::string_view expected_kinds =
        "exactly one of { exit_code = N }, { signal = \"SIGX\" }, { timeout = \"start\" | "
        "\"reload\" }, { watchdog = true }, { stop = true }";
    const auto* table = node.as_table();
    if (table == nullptr || table->size() != 1)
        throw InputError(file, line_of(node),
                         "expected 'outcome' to be " + std::string(expected_kinds) + ", got " +
                             (table ? std::to_string(table->size()) + " keys" : shown(node)));
    // Keep the iterator alive: toml++ hands out a proxy that lives inside it.
    const auto first = table->begin();
    const auto& key = first->first;
    const auto& value = first->second;
    const int line = line_of(value);
    Outcome outcome;
    if (key == "exit_code") {
        const auto* number = value.as_integer();
        if (number == nullptr || number->get() < 0 || number->get() > 255)
            throw InputError(file, line, "expected exit_code in 0..255, got " + shown(value));
        outcome.kind = Outcome::Kind::exited;
        outcome.exit_code = static_cast<int>(number->get());
    } else if (key == "signal") {
        const auto* text = value.as_string();
        std::optional<int> signo = text ? parse_signal(text->get()) : std::nullopt;
        if (!signo)
            throw InputError(file, line,
                             "expected a signal name such as 'SIGABRT', got " + shown(value));
        outcome.kind = Outcome::Kind::killed;
        outcome.signal = *signo;
    } else if (key == "timeout") {
        // The harness can set TimeoutStartSec= (which systemd also uses for
        // ExecReload=), so these are the timeouts a cause can provoke.
        const auto* text = value.as_string();
        if (text == nullptr || (text->get() != "start" && text->get() != "reload"))
            throw InputError(file, line,
                             "expected timeout = 'start' or 'reload', got " + shown(value));
        outcome.kind = Outcome::Kind::timeout;
        timeout_of = text->get();
    } else if (key == "watchdog" || key == "stop") {
        const auto* flag = value.as_boolean();
        if (flag == nullptr || !flag->get())
            throw InputError(file, line,
                             "expected " + std::string(key.str()) + " = true, got " + shown(value));
        outcome.kind = key == "watchdog" ? Outcome::Kind::watchdog : Outcome::Kind::supervisor_stop;
    } else {
        throw InputError(file, static_cast<int>(key.source().begin.line),
                         "expected 'outcome' to be " + std::string(expected_kinds) + ", got '" +
                             std::string(key.str()) + "'");
    }
    return outcome;
}

std::optional<unsigned> parse_milliseconds(const toml::table& table, std::string_view key,
                                           const std::string& file) {
    const toml::node* node = table.get(key);
    if (node == nullptr) return std::nullopt;
    const auto* number = node->as_integer();
    if (number == nullptr || number->get() <= 0 || number->get() > UINT_MAX)
        throw InputError(file, line_of(*node),
                         "expected '" + std::string(key) + "' to be a positive number of ms, got " +
                             shown(*node));
    return static_cast<unsigned>(number->get());
}

// A cause's plan, trigger and outcome must tell one story: checked wherever
// the plan alone decides how the first incarnation ends.
void check_agreement(const ExitCause& cause, const PlanSummary& plan,
                     const std::string& timeout_of) {
    auto fail = [&](const std::string& what) { throw InputError(cause.file, cause.line, what); };
    const std::string got = ", got outcome " + describe(cause.outcome);

    std::optional<Outcome> planned; // how the plan alone ends the process
    std::string because;
    if (plan.exit_code) {
        planned = Outcome{Outcome::Kind::exited, *plan.exit_code, 0};
        because = "exit:" + std::to_string(*plan.exit_code);
    } else if (plan.signal) {
        planned = Outcome{Outcome::Kind::killed, 0, *plan.signal};
        because = "die:" + signal_name(*plan.signal);
    } else if (cause.trigger == Trigger::reload && plan.reload_signal) {
        planned = Outcome{Outcome::Kind::killed, 0, *plan.reload_signal};
        because = "on-reload:die:" + signal_name(*plan.reload_signal) + " and trigger = 'reload'";
    } else if (cause.trigger == Trigger::kill) {
        planned = Outcome{Outcome::Kind::killed, 0, cause.kill_signal};
        because = "trigger = 'kill:" + signal_name(cause.kill_signal) + "'";
    }
    if (planned && cause.outcome != *planned)
        fail("expected outcome " + describe(*planned) + " (the plan's " + because + ")" + got);

    switch (cause.outcome.kind) {
    case Outcome::Kind::exited:
    case Outcome::Kind::killed:
        if (!planned)
            fail("expected a plan that ends in exit:N or die:SIG for this outcome, got plan '" +
                 cause.plan + "'");
        break;
    case Outcome::Kind::timeout:
        if (!cause.start_timeout_ms)
            fail("expected start_timeout_ms (TimeoutStartSec=, also the reload timeout) for a "
                 "timeout outcome, got none");
        if (timeout_of == "start" && plan.ready)
            fail("expected a plan that never becomes ready (no 'ready' step) for timeout = "
                 "'start', got plan '" +
                 cause.plan + "'");
        if (timeout_of == "reload" &&
            (cause.trigger != Trigger::reload || plan.on_reload != "hang"))
            fail("expected trigger = 'reload' and 'on-reload:hang' in the plan for timeout = "
                 "'reload', got plan '" +
                 cause.plan + "' and trigger '" + std::string(to_string(cause.trigger)) + "'");
        break;
    case Outcome::Kind::watchdog:
        if (!cause.watchdog_ms)
            fail("expected watchdog_ms (WatchdogSec=) for a watchdog outcome, got none");
        // systemd arms the watchdog only once READY=1 has arrived.
        if (!plan.ready || !plan.pings_stopped)
            fail("expected a plan with 'ready' and 'stop-pings' (or 'no-pings') for a watchdog "
                 "outcome, got plan '" +
                 cause.plan + "'");
        break;
    case Outcome::Kind::supervisor_stop:
        if (cause.trigger != Trigger::stop)
            fail("expected trigger = 'stop' for outcome { stop = true }, got trigger '" +
                 std::string(to_string(cause.trigger)) + "'");
        break;
    }
    if (cause.trigger == Trigger::stop && cause.outcome.kind != Outcome::Kind::supervisor_stop)
        fail("expected outcome { stop = true } for trigger = 'stop'" + got);
}

ExitCause parse_cause(const toml::table& table, const std::string& file) {
    reject_unknown_keys(table,
                        {"id", "group", "summary", "plan", "outcome", "trigger", "every_incarnation",
                         "start_timeout_ms",
                         "watchdog_ms", "success_exit_status", "restart_prevent_exit_status",
                         "restart_force_exit_status"},
                        file, "[[cause]]");
    ExitCause cause;
    cause.file = file;
    cause.line = line_of(table);

    cause.id = require_string(table, "id", file);
    if (!valid_id(cause.id) ||
        std::find(selector_words.begin(), selector_words.end(), cause.id) != selector_words.end())
        throw InputError(file, line_of(require(table, "id", file)),
                         "expected an id of [a-z0-9-]+ other than table, modifier, story and all, got '" +
                             cause.id + "'");

    cause.group = require_string(table, "group", file);
    if (cause.group != "table" && cause.group != "modifier" && cause.group != "story")
        throw InputError(file, line_of(require(table, "group", file)),
                         "expected group 'table', 'modifier' or 'story', got '" + cause.group + "'");

    cause.summary = require_string(table, "summary", file);

    cause.plan = require_string(table, "plan", file);
    const int plan_line = line_of(require(table, "plan", file));
    if (cause.plan.find('|') != std::string::npos)
        throw InputError(file, plan_line,
                         "expected the first incarnation's plan only (no '|'), got '" + cause.plan +
                             "'");
    PlanSummary plan;
    try {
        plan = check_plan_part(cause.plan);
    } catch (const std::invalid_argument& err) {
        throw InputError(file, plan_line, err.what());
    }

    if (const toml::node* trigger = table.get("trigger")) {
        const auto* text = trigger->as_string();
        if (text != nullptr && text->get() == "stop") {
            cause.trigger = Trigger::stop;
        } else if (text != nullptr && text->get() == "reload") {
            cause.trigger = Trigger::reload;
        } else if (auto signo = text != nullptr && text->get().starts_with("kill:")
                                    ? parse_signal(std::string_view(text->get()).substr(5))
                                    : std::nullopt) {
            cause.trigger = Trigger::kill;
            cause.kill_signal = *signo;
        } else {
            throw InputError(file, line_of(*trigger),
                             "expected trigger 'stop', 'reload' or 'kill:SIG', got " + shown(*trigger));
        }
    }
    if (const toml::node* every = table.get("every_incarnation")) {
        const auto* flag = every->as_boolean();
        if (flag == nullptr)
            throw InputError(file, line_of(*every),
                             "expected every_incarnation = true or false, got " + shown(*every));
        cause.every_incarnation = flag->get();
    }

    std::string timeout_of;
    cause.outcome = parse_outcome(require(table, "outcome", file), timeout_of, file);
    cause.start_timeout_ms = parse_milliseconds(table, "start_timeout_ms", file);
    cause.watchdog_ms = parse_milliseconds(table, "watchdog_ms", file);

    if (const toml::node* node = table.get("success_exit_status"))
        cause.rules.success_exit_status = parse_status_set(*node, "success_exit_status", file);
    if (const toml::node* node = table.get("restart_prevent_exit_status"))
        cause.rules.restart_prevent_exit_status =
            parse_status_set(*node, "restart_prevent_exit_status", file);
    if (const toml::node* node = table.get("restart_force_exit_status"))
        cause.rules.restart_force_exit_status =
            parse_status_set(*node, "restart_force_exit_status", file);

    check_agreement(cause, plan, timeout_of);
    return cause;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && text.front() == ' ')
        text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ')
        text.remove_suffix(1);
    return text;
}

} // namespace

std::string_view to_string(Trigger trigger) {
    switch (trigger) {
    case Trigger::none:
        return "none";
    case Trigger::stop:
        return "stop";
    case Trigger::reload:
        return "reload";
    case Trigger::kill:
        return "kill";
    }
    return "none";
}

std::vector<ExitCause> load_exit_causes(const std::filesystem::path& file) {
    const std::string name = file.string();
    const toml::table doc = parse_toml(file);
    reject_unknown_keys(doc, {"cause"}, name, "the causes file");

    const toml::node* list = doc.get("cause");
    const auto* array = list ? list->as_array() : nullptr;
    if (array == nullptr || array->empty())
        throw InputError(name, list ? line_of(*list) : 0,
                         "expected at least one [[cause]], got " +
                             (list ? shown(*list) : std::string("none")));

    std::vector<ExitCause> causes;
    std::set<std::string> ids;
    for (const toml::node& entry : *array) {
        const auto* table = entry.as_table();
        if (table == nullptr)
            throw InputError(name, line_of(entry),
                             "expected a [[cause]] table, got " + shown(entry));
        ExitCause cause = parse_cause(*table, name);
        if (!ids.insert(cause.id).second)
            throw InputError(name, line_of(*table->get("id")),
                             "expected a unique id, got '" + cause.id + "' again");
        causes.push_back(std::move(cause));
    }
    return causes;
}

std::vector<ExitCause> select_causes(const std::vector<ExitCause>& causes,
                                     const std::string& list) {
    std::set<std::string> wanted;
    for (std::string_view token : plan::split(list, ',')) {
        token = trim(token);
        if (token.empty()) continue;
        bool known = false;
        for (const ExitCause& cause : causes) {
            if (token == "all" || token == cause.group || token == cause.id) {
                wanted.insert(cause.id);
                known = true;
            }
        }
        // A group with no member in this file still names something real.
        if (known ||
            std::find(selector_words.begin(), selector_words.end(), token) != selector_words.end())
            continue;
        std::string expected;
        for (const ExitCause& cause : causes)
            expected += cause.id + ", ";
        expected += "table, modifier, story, all";
        throw InputError("--cause", 0,
                         "unknown exit cause '" + std::string(token) +
                             "'; expected one of: " + expected);
    }

    std::vector<ExitCause> selected;
    for (const ExitCause& cause : causes)
        if (wanted.contains(cause.id)) selected.push_back(cause);
    if (selected.empty())
        throw InputError("--cause", 0,
                         "expected at least one exit cause, got none from '" + list + "'");
    return selected;
}

} // namespace crashloop
