// The shipped scenarios (scenarios/table.toml, causes.toml, expectations/)
// load and tell one story; every malformed input is refused naming its file,
// its line and what was expected there; --cause selection; the choice of an
// expectations file by supervisor and version.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "exit_cause.hpp"
#include "expectations.hpp"
#include "errors.hpp"
#include "restart_table.hpp"
#include "temp_dir.hpp"

namespace crashloop {

// gtest prints a failing test's parameter; a cause by its id.
[[maybe_unused]] static void PrintTo(const ExitCause& cause, std::ostream* out) {
    *out << cause.id;
}

namespace {

namespace fs = std::filesystem;

const fs::path scenarios_dir = CRASHLOOP_SCENARIOS_DIR;

std::string test_name(std::string_view text) {
    std::string name(text);
    std::replace(name.begin(), name.end(), '-', '_');
    return name;
}

std::vector<std::string> ids_of(const std::vector<ExitCause>& causes) {
    std::vector<std::string> ids;
    for (const ExitCause& cause : causes)
        ids.push_back(cause.id);
    return ids;
}

// Empty when the file does not load; ShippedScenarios.causes_load says why.
const std::vector<ExitCause>& shipped_causes() {
    static const std::vector<ExitCause> causes = [] {
        try {
            return load_exit_causes(scenarios_dir / "causes.toml");
        } catch (const InputError&) {
            return std::vector<ExitCause>{};
        }
    }();
    return causes;
}

// --- the shipped files ---------------------------------------------------------

TEST(ShippedScenarios, table_loads) {
    try {
        const RestartTable table = RestartTable::load(scenarios_dir / "table.toml");
        EXPECT_EQ(table.clean_signals().size(), 4u);
    } catch (const InputError& err) {
        FAIL() << "expected scenarios/table.toml to load, got: " << err.what();
    }
}

TEST(ShippedScenarios, causes_load_in_the_documented_order) {
    std::vector<ExitCause> causes;
    try {
        causes = load_exit_causes(scenarios_dir / "causes.toml");
    } catch (const InputError& err) {
        FAIL() << "expected scenarios/causes.toml to load, got: " << err.what();
    }
    const std::vector<std::string> expected = {"exit-0",
                                               "sighup",
                                               "sigint",
                                               "sigterm",
                                               "sigpipe",
                                               "exit-1",
                                               "sigabrt",
                                               "sigsegv",
                                               "sigkill",
                                               "sigquit",
                                               "sigbus",
                                               "start-timeout",
                                               "watchdog",
                                               "reload-timeout",
                                               "stop",
                                               "success-exit-status",
                                               "success-exit-signal",
                                               "restart-prevent",
                                               "restart-force",
                                               "restart-force-signal",
                                               "restart-prevent-over-force",
                                               "reload-sigabrt",
                                               "kill-sigabrt",
                                               "kill-sigterm",
                                               "crash-loop"};
    EXPECT_EQ(ids_of(causes), expected);
}

TEST(ShippedScenarios, expectations_load) {
    try {
        Expectations::load(scenarios_dir / "expectations" / "systemd-252.toml");
    } catch (const InputError& err) {
        FAIL() << "expected scenarios/expectations/systemd-252.toml to load, got: " << err.what();
    }
}

// Each shipped cause, read against the table: its plan ends the way its
// outcome says, its summary names the row the table puts it in, and tight
// timeouts appear only where the timeout is the fault.
class ShippedCause : public testing::TestWithParam<ExitCause> {};

TEST_P(ShippedCause, tells_one_story) {
    const ExitCause& cause = GetParam();
    const RestartTable table = RestartTable::load(scenarios_dir / "table.toml");

    const std::string ending = cause.plan.substr(cause.plan.rfind(',') + 1); // the last step
    switch (cause.outcome.kind) {
    case Outcome::Kind::exited:
        EXPECT_EQ(ending, "exit:" + std::to_string(cause.outcome.exit_code)) << cause.plan;
        break;
    case Outcome::Kind::killed:
        if (cause.trigger == Trigger::kill) {
            // Killed from outside: the service runs until the signal comes.
            EXPECT_EQ(ending, "serve") << cause.plan;
            EXPECT_EQ(cause.kill_signal, cause.outcome.signal)
                << "expected the kill's signal to be the outcome's";
        } else if (cause.trigger == Trigger::reload) {
            // Killed by its own reload: the plan says how, then serves.
            EXPECT_EQ(ending, "serve") << cause.plan;
            EXPECT_NE(cause.plan.find("on-reload:die:" + signal_name(cause.outcome.signal)),
                      std::string::npos)
                << cause.plan;
        } else {
            EXPECT_EQ(ending, "die:" + signal_name(cause.outcome.signal)) << cause.plan;
        }
        break;
    default:
        EXPECT_EQ(ending, "serve") << cause.plan;
        break;
    }
    EXPECT_EQ(cause.kill_signal != 0, cause.trigger == Trigger::kill)
        << "expected a kill signal exactly with trigger 'kill:SIG'";
    // The operator's own checks (kill from outside, the crash loop) are the story's.
    if (cause.trigger == Trigger::kill || cause.every_incarnation) {
        EXPECT_EQ(cause.group, "story");
    }

    if (cause.group == "table" && cause.outcome.kind != Outcome::Kind::supervisor_stop) {
        const std::string row(
            to_string(table.classify(cause.outcome, cause.rules.success_exit_status)));
        EXPECT_TRUE(cause.summary.starts_with(row + ":"))
            << "expected the summary to start with the row '" << row << ":', got '" << cause.summary
            << "'";
    }

    const bool has_rules = !cause.rules.success_exit_status.empty() ||
                           !cause.rules.restart_prevent_exit_status.empty() ||
                           !cause.rules.restart_force_exit_status.empty();
    EXPECT_EQ(has_rules, cause.group == "modifier")
        << "expected exit status rules on modifier causes only; group '" << cause.group << "'";

    EXPECT_EQ(cause.start_timeout_ms.has_value(), cause.outcome.kind == Outcome::Kind::timeout)
        << "expected start_timeout_ms exactly on timeout causes";
    EXPECT_EQ(cause.watchdog_ms.has_value(), cause.outcome.kind == Outcome::Kind::watchdog)
        << "expected watchdog_ms exactly on the watchdog cause";
    EXPECT_GT(cause.line, 0);
    EXPECT_EQ(fs::path(cause.file), scenarios_dir / "causes.toml");
}

INSTANTIATE_TEST_SUITE_P(cause, ShippedCause, testing::ValuesIn(shipped_causes()),
                         [](const auto& info) { return test_name(info.param.id); });

TEST(ShippedScenarios, modifier_causes_carry_their_settings) {
    std::map<std::string, ExitCause> by_id;
    for (const ExitCause& cause : shipped_causes())
        by_id[cause.id] = cause;
    ASSERT_EQ(by_id.size(), 25u);

    EXPECT_EQ(by_id["success-exit-status"].rules.success_exit_status.codes, std::set<int>{42});
    EXPECT_EQ(by_id["success-exit-signal"].rules.success_exit_status.signals,
              std::set<int>{SIGUSR2});
    EXPECT_EQ(by_id["restart-prevent"].rules.restart_prevent_exit_status.codes, std::set<int>{1});
    EXPECT_EQ(by_id["restart-force"].rules.restart_force_exit_status.codes, std::set<int>{3});
    EXPECT_EQ(by_id["restart-force-signal"].rules.restart_force_exit_status.signals,
              std::set<int>{SIGTERM});
    EXPECT_EQ(by_id["restart-prevent-over-force"].rules.restart_prevent_exit_status.codes,
              std::set<int>{5});
    EXPECT_EQ(by_id["restart-prevent-over-force"].rules.restart_force_exit_status.codes,
              std::set<int>{5});

    EXPECT_EQ(by_id["reload-timeout"].trigger, Trigger::reload);
    EXPECT_EQ(by_id["stop"].trigger, Trigger::stop);
    EXPECT_EQ(by_id["sigabrt"].outcome, (Outcome{Outcome::Kind::killed, 0, SIGABRT}));
    EXPECT_EQ(by_id["start-timeout"].start_timeout_ms, 500u);
    EXPECT_EQ(by_id["watchdog"].watchdog_ms, 500u);
}

TEST(ShippedScenarios, story_causes_carry_their_settings) {
    std::map<std::string, ExitCause> by_id;
    for (const ExitCause& cause : shipped_causes())
        by_id[cause.id] = cause;
    ASSERT_EQ(by_id.size(), 25u);

    for (const std::string id : {"reload-sigabrt", "kill-sigabrt", "kill-sigterm", "crash-loop"})
        EXPECT_EQ(by_id[id].group, "story") << id;

    // The logrotate crash: SIGABRT during a graceful reload.
    EXPECT_EQ(by_id["reload-sigabrt"].trigger, Trigger::reload);
    EXPECT_EQ(by_id["reload-sigabrt"].plan, "ready,on-reload:die:SIGABRT,serve");
    EXPECT_EQ(by_id["reload-sigabrt"].outcome, (Outcome{Outcome::Kind::killed, 0, SIGABRT}));

    // kill -s SIGABRT <MainPID> and a plain kill <MainPID>.
    EXPECT_EQ(by_id["kill-sigabrt"].trigger, Trigger::kill);
    EXPECT_EQ(by_id["kill-sigabrt"].kill_signal, SIGABRT);
    EXPECT_EQ(by_id["kill-sigabrt"].outcome, (Outcome{Outcome::Kind::killed, 0, SIGABRT}));
    EXPECT_EQ(by_id["kill-sigterm"].trigger, Trigger::kill);
    EXPECT_EQ(by_id["kill-sigterm"].kill_signal, SIGTERM);
    EXPECT_EQ(by_id["kill-sigterm"].outcome, (Outcome{Outcome::Kind::killed, 0, SIGTERM}));

    // The crash loop: the plan is every incarnation's, and no other cause's is.
    EXPECT_TRUE(by_id["crash-loop"].every_incarnation);
    EXPECT_EQ(by_id["crash-loop"].trigger, Trigger::none);
    EXPECT_EQ(by_id["crash-loop"].outcome, (Outcome{Outcome::Kind::killed, 0, SIGABRT}));
    for (const auto& [id, cause] : by_id) {
        if (id != "crash-loop") {
            EXPECT_FALSE(cause.every_incarnation) << id;
        }
    }
}

// --- malformed input: file, line, what was expected -------------------------------

enum class Loader { table, causes, expectations };

// Valid files; each bad case changes one thing in one of them.
const std::string valid_table = R"(clean_signals = ["SIGHUP", "SIGINT", "SIGTERM", "SIGPIPE"]

[[row]]
name = "clean exit code or signal"
restarted_by = ["always", "on-success"]

[[row]]
name = "unclean exit code"
restarted_by = ["always", "on-failure"]

[[row]]
name = "unclean signal"
restarted_by = ["always", "on-failure", "on-abnormal", "on-abort"]

[[row]]
name = "timeout"
restarted_by = ["always", "on-failure", "on-abnormal"]

[[row]]
name = "watchdog"
restarted_by = ["always", "on-failure", "on-abnormal", "on-watchdog"]
)";

const std::string valid_causes = R"([[cause]]
id = "sigabrt"
group = "table"
summary = "unclean signal: SIGABRT"
plan = "ready,die:SIGABRT"
outcome = { signal = "SIGABRT" }

[[cause]]
id = "restart-force"
group = "modifier"
summary = "RestartForceExitStatus=3"
plan = "ready,exit:3"
restart_force_exit_status = [3, "SIGUSR1"]
outcome = { exit_code = 3 }

[[cause]]
id = "reload-timeout"
group = "table"
summary = "timeout: reload"
plan = "ready,on-reload:hang,serve"
trigger = "reload"
start_timeout_ms = 500
outcome = { timeout = "reload" }

[[cause]]
id = "watchdog"
group = "table"
summary = "watchdog"
plan = "ready,stop-pings,serve"
watchdog_ms = 500
outcome = { watchdog = true }

[[cause]]
id = "kill-sigterm"
group = "story"
summary = "clean signal: kill from outside"
plan = "daemonize,ready,on-reload:chance:1/30:42:die:SIGABRT,serve"
trigger = "kill:SIGTERM"
every_incarnation = false
outcome = { signal = "SIGTERM" }
)";

const std::string valid_expectations = R"(# systemd 252
[[deviation]]
cause = "reload-timeout"
restart = "*"
restarted = false
reason = "kills the reload process"

[[deviation]]
cause = "sigabrt"
restart = ["on-abort", "always"]
restarted = true
reason = "because"
)";

struct BadInput {
    std::string name;
    Loader loader;
    std::string from; // replaced, once, in the valid file
    std::string to;
    int line;
    std::string expected; // part of the message
};

void PrintTo(const BadInput& bad, std::ostream* out) {
    *out << bad.name;
}

class Malformed : public testing::TestWithParam<BadInput> {};

TEST_P(Malformed, names_file_line_and_what_was_expected) {
    const BadInput& bad = GetParam();
    std::string text = bad.loader == Loader::table    ? valid_table
                       : bad.loader == Loader::causes ? valid_causes
                                                      : valid_expectations;
    const auto at = text.find(bad.from);
    ASSERT_NE(at, std::string::npos) << "test case: '" << bad.from << "' not in the valid file";
    text.replace(at, bad.from.size(), bad.to);

    TempDir dir;
    const fs::path file = dir.write(bad.name + ".toml", text);
    try {
        switch (bad.loader) {
        case Loader::table:
            RestartTable::load(file);
            break;
        case Loader::causes:
            load_exit_causes(file);
            break;
        case Loader::expectations:
            Expectations::load(file);
            break;
        }
        FAIL() << "expected InputError at line " << bad.line << " (" << bad.expected
               << "), observed that the file loaded:\n"
               << text;
    } catch (const InputError& err) {
        const std::string message = err.what();
        EXPECT_EQ(err.file(), file.string()) << message;
        EXPECT_EQ(err.line(), bad.line) << "expected line " << bad.line << ", observed " << message;
        const std::string where =
            bad.line > 0 ? file.string() + ":" + std::to_string(bad.line) : file.string();
        EXPECT_TRUE(message.starts_with(where + ": ")) << message;
        EXPECT_NE(message.find("expected"), std::string::npos) << message;
        EXPECT_NE(message.find(bad.expected), std::string::npos)
            << "expected the message to contain '" << bad.expected << "', observed " << message;
    }
}

INSTANTIATE_TEST_SUITE_P(
    table, Malformed,
    testing::Values(
        BadInput{"toml_syntax", Loader::table, R"("on-success"])", R"("on-success")", 7,
                 "expected valid TOML"},
        BadInput{"unknown_row_name", Loader::table, R"(name = "timeout")", R"(name = "time out")",
                 16, "expected a row name of Table 2"},
        BadInput{"duplicate_row", Loader::table, R"(name = "watchdog")", R"(name = "timeout")", 20,
                 "expected each row once, got 'timeout' again"},
        BadInput{"missing_row", Loader::table,
                 "[[row]]\nname = \"watchdog\"\nrestarted_by = [\"always\", \"on-failure\", "
                 "\"on-abnormal\", \"on-watchdog\"]\n",
                 "", 3, "expected a [[row]] named 'watchdog'"},
        BadInput{"unknown_restart_value", Loader::table, R"("on-abort"])", R"("on-abrt"])", 13,
                 "expected a Restart= value (no, always, on-success, on-failure, on-abnormal, "
                 "on-abort, on-watchdog), got 'on-abrt'"},
        BadInput{"duplicate_restart_value", Loader::table, R"(["always", "on-success"])",
                 R"(["always", "on-success", "always"])", 5,
                 "expected each Restart= value once per row"},
        BadInput{"unknown_clean_signal", Loader::table, R"("SIGPIPE"])", R"("SIGPIPED"])", 1,
                 "expected a signal name such as 'SIGTERM' in clean_signals, got 'SIGPIPED'"},
        BadInput{"duplicate_clean_signal", Loader::table, R"("SIGPIPE"])",
                 R"("SIGPIPE", "SIGHUP"])", 1, "expected each clean signal once"},
        BadInput{"clean_signal_number", Loader::table, R"("SIGPIPE"])", R"(13])", 1, "got 13"},
        BadInput{"unknown_row_key", Loader::table, R"(name = "watchdog")",
                 "name = \"watchdog\"\nrestarted = true", 21, "expected a key of [[row]]"},
        BadInput{"restarted_by_not_an_array", Loader::table,
                 R"(restarted_by = ["always", "on-failure"])", R"(restarted_by = "always")", 9,
                 "expected 'restarted_by' to be an array"},
        BadInput{"missing_restarted_by", Loader::table,
                 "restarted_by = [\"always\", \"on-failure\"]\n", "", 7,
                 "expected 'restarted_by' in [[row]]"}),
    [](const auto& info) { return info.param.name; });

INSTANTIATE_TEST_SUITE_P(
    causes, Malformed,
    testing::Values(
        BadInput{"toml_syntax", Loader::causes, R"(outcome = { signal = "SIGABRT" })",
                 R"(outcome = { signal = "SIGABRT" )", 6, "expected valid TOML"},
        BadInput{"duplicate_id", Loader::causes, R"(id = "restart-force")", R"(id = "sigabrt")", 9,
                 "expected a unique id, got 'sigabrt' again"},
        BadInput{"id_with_capitals", Loader::causes, R"(id = "sigabrt")", R"(id = "SigAbrt")", 2,
                 "[a-z0-9-]+"},
        BadInput{"id_is_a_selector_word", Loader::causes, R"(id = "sigabrt")", R"(id = "all")", 2,
                 "other than table, modifier, story and all, got 'all'"},
        BadInput{"id_is_the_story_group", Loader::causes, R"(id = "sigabrt")", R"(id = "story")", 2,
                 "other than table, modifier, story and all, got 'story'"},
        BadInput{"unknown_group", Loader::causes, R"(group = "modifier")", R"(group = "rule")", 10,
                 "expected group 'table', 'modifier' or 'story', got 'rule'"},
        BadInput{"story_group_misspelt", Loader::causes, R"(group = "story")",
                 R"(group = "stories")", 35,
                 "expected group 'table', 'modifier' or 'story', got 'stories'"},
        BadInput{"missing_summary", Loader::causes, "summary = \"unclean signal: SIGABRT\"\n", "",
                 1, "expected 'summary' in [[cause]]"},
        BadInput{"unknown_key", Loader::causes, R"(summary = "watchdog")", R"(sumary = "watchdog")",
                 28, "expected a key of [[cause]]"},
        BadInput{"unknown_plan_step", Loader::causes, R"(plan = "ready,die:SIGABRT")",
                 R"(plan = "ready,crash")", 5, "expected a plan step"},
        BadInput{"exit_code_over_255", Loader::causes, R"(plan = "ready,exit:3")",
                 R"(plan = "ready,exit:256")", 12, "'exit:N' with N in 0..255, got 'exit:256'"},
        BadInput{"exit_code_not_a_number", Loader::causes, R"(plan = "ready,exit:3")",
                 R"(plan = "ready,exit:three")", 12, "'exit:N' with N in 0..255"},
        BadInput{"unknown_signal_in_plan", Loader::causes, R"(plan = "ready,die:SIGABRT")",
                 R"(plan = "ready,die:SIGABORT")", 5, "'die:SIG' with a signal name"},
        BadInput{"lower_case_signal_in_plan", Loader::causes, R"(plan = "ready,die:SIGABRT")",
                 R"(plan = "ready,die:sigabrt")", 5, "'die:SIG' with a signal name"},
        BadInput{"unknown_reload_action", Loader::causes, "on-reload:hang", "on-reload:explode", 20,
                 "expected 'on-reload:reload', 'on-reload:hang' or 'on-reload:die:SIG'"},
        BadInput{"empty_plan_step", Loader::causes, R"(plan = "ready,die:SIGABRT")",
                 R"(plan = "ready,,die:SIGABRT")", 5, "expected a plan step"},
        BadInput{"space_in_plan", Loader::causes, R"(plan = "ready,die:SIGABRT")",
                 R"(plan = "ready, die:SIGABRT")", 5, "got ' die:SIGABRT'"},
        BadInput{"step_after_exit", Loader::causes, R"(plan = "ready,exit:3")",
                 R"(plan = "ready,exit:3,serve")", 12, "expected nothing after 'exit:3'"},
        BadInput{"no_pings_after_ready", Loader::causes, "ready,stop-pings,serve",
                 "ready,no-pings,serve", 29, "expected 'no-pings' before 'ready'"},
        BadInput{"later_incarnations", Loader::causes, R"(plan = "ready,die:SIGABRT")",
                 R"(plan = "ready,die:SIGABRT|ready,serve")", 5,
                 "expected the first incarnation's plan only"},
        BadInput{"outcome_with_two_keys", Loader::causes, R"(outcome = { signal = "SIGABRT" })",
                 R"(outcome = { signal = "SIGABRT", exit_code = 1 })", 6,
                 "expected 'outcome' to be exactly one of"},
        BadInput{"outcome_unknown_kind", Loader::causes, R"(outcome = { signal = "SIGABRT" })",
                 R"(outcome = { crash = true })", 6, "got 'crash'"},
        BadInput{"outcome_not_a_table", Loader::causes, R"(outcome = { signal = "SIGABRT" })",
                 R"(outcome = "SIGABRT")", 6, "expected 'outcome' to be exactly one of"},
        BadInput{"outcome_exit_code_over_255", Loader::causes, R"(outcome = { exit_code = 3 })",
                 R"(outcome = { exit_code = 300 })", 14, "expected exit_code in 0..255"},
        BadInput{"outcome_unknown_signal", Loader::causes, R"(outcome = { signal = "SIGABRT" })",
                 R"(outcome = { signal = "SIGOOPS" })", 6, "got 'SIGOOPS'"},
        BadInput{"outcome_watchdog_false", Loader::causes, R"(outcome = { watchdog = true })",
                 R"(outcome = { watchdog = false })", 31, "expected watchdog = true"},
        BadInput{"outcome_runtime_timeout", Loader::causes, R"(outcome = { timeout = "reload" })",
                 R"(outcome = { timeout = "runtime" })", 23,
                 "expected timeout = 'start' or 'reload'"},
        BadInput{"unknown_trigger", Loader::causes, R"(trigger = "reload")",
                 R"(trigger = "restart")", 21,
                 "expected trigger 'stop', 'reload' or 'kill:SIG', got 'restart'"},
        BadInput{"trigger_not_a_string", Loader::causes, R"(trigger = "kill:SIGTERM")",
                 "trigger = 15", 38, "expected trigger 'stop', 'reload' or 'kill:SIG', got 15"},
        BadInput{"kill_without_signal", Loader::causes, R"(trigger = "kill:SIGTERM")",
                 R"(trigger = "kill")", 38,
                 "expected trigger 'stop', 'reload' or 'kill:SIG', got 'kill'"},
        BadInput{"kill_with_empty_signal", Loader::causes, R"(trigger = "kill:SIGTERM")",
                 R"(trigger = "kill:")", 38,
                 "expected trigger 'stop', 'reload' or 'kill:SIG', got 'kill:'"},
        BadInput{"kill_unknown_signal", Loader::causes, R"(trigger = "kill:SIGTERM")",
                 R"(trigger = "kill:SIGTERMINATE")", 38, "got 'kill:SIGTERMINATE'"},
        BadInput{"kill_lower_case_signal", Loader::causes, R"(trigger = "kill:SIGTERM")",
                 R"(trigger = "kill:sigterm")", 38, "got 'kill:sigterm'"},
        BadInput{"kill_disagrees_with_outcome", Loader::causes,
                 R"(outcome = { signal = "SIGTERM" })", R"(outcome = { signal = "SIGABRT" })", 33,
                 "expected outcome signal SIGTERM (the plan's trigger = 'kill:SIGTERM'), got "
                 "outcome signal SIGABRT"},
        BadInput{"kill_with_exit_outcome", Loader::causes, R"(outcome = { signal = "SIGTERM" })",
                 R"(outcome = { exit_code = 0 })", 33,
                 "expected outcome signal SIGTERM (the plan's trigger = 'kill:SIGTERM'), got "
                 "outcome exit code 0"},
        BadInput{"kill_with_stop_outcome", Loader::causes, R"(outcome = { signal = "SIGTERM" })",
                 "outcome = { stop = true }", 33, "expected outcome signal SIGTERM"},
        BadInput{"every_incarnation_a_string", Loader::causes, "every_incarnation = false",
                 R"(every_incarnation = "yes")", 39,
                 "expected every_incarnation = true or false, got 'yes'"},
        BadInput{"every_incarnation_a_number", Loader::causes, "every_incarnation = false",
                 "every_incarnation = 1", 39, "expected every_incarnation = true or false, got 1"},
        BadInput{"daemonize_not_first", Loader::causes, R"(plan = "daemonize,ready,)",
                 R"(plan = "ready,daemonize,)", 37,
                 "expected 'daemonize' as the first step, got it later"},
        BadInput{"daemonize_twice", Loader::causes, R"(plan = "daemonize,ready,)",
                 R"(plan = "daemonize,daemonize,ready,)", 37,
                 "expected 'daemonize' as the first step, got it later"},
        BadInput{"daemonize_before_the_end", Loader::causes, R"(plan = "ready,die:SIGABRT")",
                 R"(plan = "ready,daemonize,die:SIGABRT")", 5,
                 "expected 'daemonize' as the first step"},
        BadInput{"chance_p_over_1", Loader::causes, "chance:1/30:", "chance:1.5:", 37,
                 "with P in [0, 1] (0.0333 or 1/30) and SEED an unsigned 64-bit number, got "
                 "'on-reload:chance:1.5:42:die:SIGABRT'"},
        BadInput{"chance_fraction_over_1", Loader::causes, "chance:1/30:", "chance:31/30:", 37,
                 "got 'on-reload:chance:31/30:42:die:SIGABRT'"},
        BadInput{"chance_fraction_over_0", Loader::causes, "chance:1/30:", "chance:1/0:", 37,
                 "got 'on-reload:chance:1/0:42:die:SIGABRT'"},
        BadInput{"chance_p_negative", Loader::causes, "chance:1/30:", "chance:-0.5:", 37,
                 "got 'on-reload:chance:-0.5:42:die:SIGABRT'"},
        BadInput{"chance_p_a_word", Loader::causes, "chance:1/30:", "chance:often:", 37,
                 "got 'on-reload:chance:often:42:die:SIGABRT'"},
        BadInput{"chance_p_a_percentage", Loader::causes, "chance:1/30:", "chance:3%:", 37,
                 "got 'on-reload:chance:3%:42:die:SIGABRT'"},
        BadInput{"chance_p_empty", Loader::causes, "chance:1/30:", "chance::", 37,
                 "got 'on-reload:chance::42:die:SIGABRT'"},
        BadInput{"chance_seed_not_a_number", Loader::causes, ":1/30:42:", ":1/30:x42:", 37,
                 "got 'on-reload:chance:1/30:x42:die:SIGABRT'"},
        BadInput{"chance_seed_negative", Loader::causes, ":1/30:42:", ":1/30:-42:", 37,
                 "got 'on-reload:chance:1/30:-42:die:SIGABRT'"},
        BadInput{"chance_seed_over_64_bits", Loader::causes,
                 ":1/30:42:", ":1/30:18446744073709551616:", 37,
                 "got 'on-reload:chance:1/30:18446744073709551616:die:SIGABRT'"},
        BadInput{"chance_seed_empty", Loader::causes, ":1/30:42:", ":1/30::", 37,
                 "got 'on-reload:chance:1/30::die:SIGABRT'"},
        BadInput{"chance_without_action", Loader::causes, ":1/30:42:die:SIGABRT", ":1/30:42", 37,
                 "expected 'on-reload:chance:P:SEED:die:SIG' or 'on-reload:chance:P:SEED:hang'"},
        BadInput{"chance_alone", Loader::causes, "on-reload:chance:1/30:42:die:SIGABRT",
                 "on-reload:chance", 37,
                 "expected 'on-reload:reload', 'on-reload:hang' or 'on-reload:die:SIG', got "
                 "'on-reload:chance'"},
        BadInput{"chance_unknown_action", Loader::causes, ":42:die:SIGABRT", ":42:explode", 37,
                 "expected the chance's action to be die:SIG or hang, got "
                 "'on-reload:chance:1/30:42:explode'"},
        BadInput{"chance_action_reload", Loader::causes, ":42:die:SIGABRT", ":42:reload", 37,
                 "expected the chance's action to be die:SIG or hang"},
        BadInput{"chance_hang_with_more", Loader::causes, ":42:die:SIGABRT", ":42:hang:5", 37,
                 "expected the chance's action to be die:SIG or hang"},
        BadInput{"chance_unknown_signal", Loader::causes, ":42:die:SIGABRT", ":42:die:SIGOOPS", 37,
                 "expected a signal name after 'die:', got "
                 "'on-reload:chance:1/30:42:die:SIGOOPS'"},
        BadInput{"zero_timeout", Loader::causes, "start_timeout_ms = 500", "start_timeout_ms = 0",
                 22, "positive number of ms"},
        BadInput{"negative_watchdog", Loader::causes, "watchdog_ms = 500", "watchdog_ms = -5", 30,
                 "positive number of ms"},
        BadInput{"die_disagrees_with_outcome", Loader::causes,
                 R"(outcome = { signal = "SIGABRT" })", R"(outcome = { signal = "SIGSEGV" })", 1,
                 "expected outcome signal SIGABRT (the plan's die:SIGABRT), got outcome signal "
                 "SIGSEGV"},
        BadInput{"exit_disagrees_with_outcome", Loader::causes, R"(outcome = { exit_code = 3 })",
                 R"(outcome = { exit_code = 4 })", 8,
                 "expected outcome exit code 3 (the plan's exit:3)"},
        BadInput{"die_with_exit_outcome", Loader::causes, R"(outcome = { signal = "SIGABRT" })",
                 R"(outcome = { exit_code = 134 })", 1, "expected outcome signal SIGABRT"},
        BadInput{"exit_outcome_without_exit_step", Loader::causes, R"(plan = "ready,die:SIGABRT")",
                 R"(plan = "ready,serve")", 1, "expected a plan that ends in exit:N or die:SIG"},
        BadInput{"watchdog_without_watchdog_ms", Loader::causes, "watchdog_ms = 500\n", "", 25,
                 "expected watchdog_ms"},
        BadInput{"watchdog_plan_keeps_pinging", Loader::causes, "ready,stop-pings,serve",
                 "ready,serve", 25, "expected a plan with 'ready' and 'stop-pings'"},
        BadInput{"reload_timeout_without_trigger", Loader::causes, "trigger = \"reload\"\n", "", 16,
                 "expected trigger = 'reload' and 'on-reload:hang'"},
        BadInput{"reload_timeout_that_reloads", Loader::causes, "on-reload:hang",
                 "on-reload:reload", 16, "expected trigger = 'reload' and 'on-reload:hang'"},
        BadInput{"reload_timeout_without_timeout", Loader::causes, "start_timeout_ms = 500\n", "",
                 16, "expected start_timeout_ms"},
        BadInput{"stop_trigger_with_other_outcome", Loader::causes, R"(plan = "ready,die:SIGABRT")",
                 "plan = \"ready,die:SIGABRT\"\ntrigger = \"stop\"", 1,
                 "expected outcome { stop = true } for trigger = 'stop'"},
        BadInput{"success_exit_status_core_dump", Loader::causes,
                 R"(restart_force_exit_status = [3, "SIGUSR1"])",
                 R"(success_exit_status = ["SIGABRT"])", 13,
                 "SuccessExitStatus= never makes a core dump clean"},
        BadInput{"status_over_255", Loader::causes, R"([3, "SIGUSR1"])", R"([3, 256])", 13,
                 "expected an exit code in 0..255, got 256"},
        BadInput{"status_unknown_signal", Loader::causes, R"([3, "SIGUSR1"])", R"([3, "SIGUSR9"])",
                 13, "got 'SIGUSR9'"},
        BadInput{"status_twice", Loader::causes, R"([3, "SIGUSR1"])", R"([3, "SIGUSR1", 3])", 13,
                 "expected each status once in 'restart_force_exit_status', got 3 again"},
        BadInput{"status_not_an_array", Loader::causes, R"([3, "SIGUSR1"])", "3", 13,
                 "to be an array of exit codes and signal names"},
        BadInput{"no_causes", Loader::causes, valid_causes, "# nothing here\n", 0,
                 "expected at least one [[cause]]"}),
    [](const auto& info) { return info.param.name; });

INSTANTIATE_TEST_SUITE_P(
    expectations, Malformed,
    testing::Values(
        BadInput{"toml_syntax", Loader::expectations, R"(reason = "because")",
                 R"(reason = "because)", 12, "expected valid TOML"},
        BadInput{"unknown_restart_value", Loader::expectations, R"(restart = "*")",
                 R"(restart = "on-falure")", 4,
                 "expected a Restart= value (no, always, on-success, on-failure, on-abnormal, "
                 "on-abort, on-watchdog) or \"*\", got 'on-falure'"},
        BadInput{"unknown_restart_value_in_array", Loader::expectations, R"("on-abort", "always")",
                 R"("on-abort", "alway")", 10, "got 'alway'"},
        BadInput{"empty_restart_array", Loader::expectations, R"(["on-abort", "always"])", "[]", 10,
                 "got an empty array"},
        BadInput{"restart_value_twice", Loader::expectations, R"(["on-abort", "always"])",
                 R"(["on-abort", "on-abort"])", 10, "expected each Restart= value once"},
        BadInput{"restart_a_number", Loader::expectations, R"(restart = "*")", "restart = 7", 4,
                 "got 7"},
        BadInput{"restarted_not_a_bool", Loader::expectations, "restarted = false",
                 R"(restarted = "no")", 5, "expected restarted = true or false, got 'no'"},
        BadInput{"empty_reason", Loader::expectations, R"(reason = "because")", R"(reason = "")",
                 12, "expected a reason"},
        BadInput{"blank_reason", Loader::expectations, R"(reason = "because")", R"(reason = "   ")",
                 12, "expected a reason"},
        BadInput{"missing_reason", Loader::expectations, "reason = \"because\"\n", "", 8,
                 "expected 'reason' in [[deviation]]"},
        BadInput{"cause_not_an_id", Loader::expectations, R"(cause = "sigabrt")",
                 R"(cause = "SIGABRT")", 9, "expected cause to be an exit cause id"},
        BadInput{"cell_listed_twice", Loader::expectations, R"(cause = "sigabrt")",
                 R"(cause = "reload-timeout")", 8,
                 "expected each cell at most once, got reload-timeout × on-abort again"},
        BadInput{"unknown_key", Loader::expectations, "restarted = true", "restarts = true", 11,
                 "expected a key of [[deviation]]"}),
    [](const auto& info) { return info.param.name; });

TEST(MissingFile, is_named_with_line_0) {
    TempDir dir;
    const fs::path absent = dir.path() / "absent.toml";
    const std::vector<std::function<void()>> loaders = {
        [&] { RestartTable::load(absent); },
        [&] { load_exit_causes(absent); },
        [&] { Expectations::load(absent); },
    };
    for (const auto& load : loaders) {
        try {
            load();
            ADD_FAILURE() << "expected InputError for a missing file, observed none";
        } catch (const InputError& err) {
            EXPECT_EQ(err.file(), absent.string());
            EXPECT_EQ(err.line(), 0);
            EXPECT_NE(std::string(err.what()).find("expected a readable TOML file"),
                      std::string::npos)
                << err.what();
        }
    }
}

// Plans the loader must accept, besides the shipped ones.
TEST(Plans, every_step_of_the_grammar_is_accepted) {
    TempDir dir;
    const fs::path file = dir.write("causes.toml", R"([[cause]]
id = "reload-crash"
group = "table"
summary = "unclean signal: SIGSEGV during a graceful reload"
plan = "no-pings,ready,on-reload:reload,on-reload:die:SEGV,serve"
trigger = "reload"
outcome = { signal = "SIGSEGV" }

[[cause]]
id = "exit-255"
group = "table"
summary = "unclean exit code: 255"
plan = "ready,stop-pings,on-reload:hang,exit:255"
outcome = { exit_code = 255 }

[[cause]]
id = "early-abort"
group = "modifier"
summary = "RestartPreventExitStatus=SIGABRT 6"
plan = "die:ABRT"
restart_prevent_exit_status = ["SIGABRT", 6, "USR1"]
outcome = { signal = "SIGABRT" }
)");
    try {
        const std::vector<ExitCause> causes = load_exit_causes(file);
        ASSERT_EQ(causes.size(), 3u);
        EXPECT_EQ(causes[0].outcome, (Outcome{Outcome::Kind::killed, 0, SIGSEGV}));
        EXPECT_EQ(causes[0].line, 1);
        EXPECT_EQ(causes[1].line, 9);
        EXPECT_EQ(causes[2].rules.restart_prevent_exit_status.signals,
                  (std::set<int>{SIGABRT, SIGUSR1}));
        EXPECT_EQ(causes[2].rules.restart_prevent_exit_status.codes, std::set<int>{6});
    } catch (const InputError& err) {
        FAIL() << "expected every plan step to be accepted, got: " << err.what();
    }
}

// The story's steps and keys: daemonize, the seeded reload crash, kill:SIG, every_incarnation.
TEST(Plans, story_steps_and_keys_are_accepted) {
    TempDir dir;
    const fs::path file = dir.write("causes.toml", R"([[cause]]
id = "forking-kill"
group = "story"
summary = "unclean signal: kill -s SIGABRT a daemon"
plan = "daemonize,ready,on-reload:chance:0.0333:42:die:SIGABRT,serve"
trigger = "kill:SIGABRT"
outcome = { signal = "SIGABRT" }

[[cause]]
id = "short-kill"
group = "story"
summary = "clean signal: kill -s TERM"
plan = "ready,on-reload:chance:1/30:18446744073709551615:hang,serve"
trigger = "kill:TERM"
every_incarnation = false
outcome = { signal = "SIGTERM" }

[[cause]]
id = "loop"
group = "story"
summary = "unclean signal every time"
plan = "daemonize,on-reload:chance:0:0:hang,on-reload:chance:1:7:die:SIGSEGV,ready,die:SIGSEGV"
every_incarnation = true
outcome = { signal = "SIGSEGV" }

[[cause]]
id = "kill-after-reload-crash-plan"
group = "story"
summary = "unclean signal: SIGKILL, the reload never comes"
plan = "ready,on-reload:die:SIGABRT,serve"
trigger = "kill:SIGKILL"
outcome = { signal = "SIGKILL" }
)");
    try {
        const std::vector<ExitCause> causes = load_exit_causes(file);
        ASSERT_EQ(causes.size(), 4u);
        EXPECT_EQ(causes[0].trigger, Trigger::kill);
        EXPECT_EQ(causes[0].kill_signal, SIGABRT);
        EXPECT_FALSE(causes[0].every_incarnation); // absent: only the first incarnation
        EXPECT_EQ(causes[0].plan, "daemonize,ready,on-reload:chance:0.0333:42:die:SIGABRT,serve");
        EXPECT_EQ(causes[1].trigger, Trigger::kill);
        EXPECT_EQ(causes[1].kill_signal, SIGTERM); // "TERM" as "SIGTERM", as in die:
        EXPECT_FALSE(causes[1].every_incarnation);
        EXPECT_EQ(causes[2].trigger, Trigger::none);
        EXPECT_EQ(causes[2].kill_signal, 0);
        EXPECT_TRUE(causes[2].every_incarnation);
        EXPECT_EQ(causes[2].line, 18);
        EXPECT_EQ(causes[3].kill_signal, SIGKILL);
        EXPECT_EQ(causes[3].outcome, (Outcome{Outcome::Kind::killed, 0, SIGKILL}));
    } catch (const InputError& err) {
        FAIL() << "expected the story's steps and keys to be accepted, got: " << err.what();
    }
}

TEST(Plans, trigger_names) {
    EXPECT_EQ(to_string(Trigger::none), "none");
    EXPECT_EQ(to_string(Trigger::stop), "stop");
    EXPECT_EQ(to_string(Trigger::reload), "reload");
    EXPECT_EQ(to_string(Trigger::kill), "kill");
}

// --- --cause ---------------------------------------------------------------------

TEST(SelectCauses, ids_come_back_in_file_order) {
    const auto selected = select_causes(shipped_causes(), "sigabrt,exit-1");
    EXPECT_EQ(ids_of(selected), (std::vector<std::string>{"exit-1", "sigabrt"}));
}

TEST(SelectCauses, groups_and_all) {
    const auto& causes = shipped_causes();
    ASSERT_EQ(causes.size(), 25u);
    EXPECT_EQ(select_causes(causes, "table").size(), 15u);
    EXPECT_EQ(select_causes(causes, "modifier").size(), 6u);
    EXPECT_EQ(select_causes(causes, "story").size(), 4u);
    EXPECT_EQ(select_causes(causes, "all").size(), 25u);
    EXPECT_EQ(ids_of(select_causes(causes, "modifier")).front(), "success-exit-status");
    EXPECT_EQ(
        ids_of(select_causes(causes, "story")),
        (std::vector<std::string>{"reload-sigabrt", "kill-sigabrt", "kill-sigterm", "crash-loop"}));
    // Groups come back in file order whatever order they are named in.
    const auto story_and_modifier = ids_of(select_causes(causes, "story,modifier"));
    ASSERT_EQ(story_and_modifier.size(), 10u);
    EXPECT_EQ(story_and_modifier.front(), "success-exit-status");
    EXPECT_EQ(story_and_modifier.back(), "crash-loop");
    EXPECT_EQ(select_causes(causes, "table,modifier,story").size(), 25u);
    EXPECT_EQ(select_causes(causes, "story,kill-sigterm,all").size(), 25u);
    // Groups and ids mix; a cause named twice comes once.
    EXPECT_EQ(select_causes(causes, "table,restart-force,sigabrt").size(), 16u);
    EXPECT_EQ(ids_of(select_causes(causes, " stop , stop ")), (std::vector<std::string>{"stop"}));
}

TEST(SelectCauses, unknown_id_names_it_and_the_choices) {
    try {
        select_causes(shipped_causes(), "sigabrt,sigabort");
        FAIL() << "expected InputError for 'sigabort', observed none";
    } catch (const InputError& err) {
        EXPECT_EQ(err.file(), "--cause");
        EXPECT_EQ(err.line(), 0);
        const std::string message = err.what();
        EXPECT_TRUE(message.starts_with(
            "--cause: unknown exit cause 'sigabort'; expected one of: exit-0, sighup, "))
            << message;
        EXPECT_TRUE(message.ends_with("restart-prevent-over-force, reload-sigabrt, kill-sigabrt, "
                                      "kill-sigterm, crash-loop, table, modifier, story, all"))
            << message;
    }
}

// "story" is a selector word even in a file with no story cause: it selects
// nothing there, and is no unknown id.
TEST(SelectCauses, story_without_story_causes_selects_nothing) {
    std::vector<ExitCause> causes;
    for (const ExitCause& cause : shipped_causes())
        if (cause.group != "story") causes.push_back(cause);
    ASSERT_EQ(causes.size(), 21u);
    EXPECT_EQ(ids_of(select_causes(causes, "story,sigabrt")),
              (std::vector<std::string>{"sigabrt"}));
    try {
        select_causes(causes, "story");
        FAIL() << "expected InputError for nothing selected, observed none";
    } catch (const InputError& err) {
        EXPECT_EQ(err.file(), "--cause");
        EXPECT_NE(std::string(err.what())
                      .find("expected at least one exit cause, got none from "
                            "'story'"),
                  std::string::npos)
            << err.what();
    }
}

TEST(SelectCauses, nothing_selected_is_an_error) {
    for (const std::string list : {"", " , ", ","}) {
        EXPECT_THROW(select_causes(shipped_causes(), list), InputError) << "'" << list << "'";
    }
}

// --- expectations by supervisor and version ------------------------------------------

// What systemd 252 is expected to do after a reload timeout, per Restart=
// value: the manual's "timeout" row, corrected by the known deviation wherever
// one is listed. The file may list the deviation under "*" or only under the
// values whose answer it changes; either way nothing restarts.
TEST(ExpectationsFor, systemd_252_restarts_nothing_after_a_reload_timeout) {
    const Expectations expectations =
        Expectations::for_supervisor(scenarios_dir, "systemd", "252.38-1~deb12u1");
    EXPECT_EQ(fs::path(expectations.source()), scenarios_dir / "expectations" / "systemd-252.toml");
    const RestartTable table = RestartTable::load(scenarios_dir / "table.toml");
    for (RestartValue value : all_restart_values) {
        const bool manual = table.row_restarts(ExitClass::timeout, value);
        const KnownDeviation* known = expectations.find("reload-timeout", value);
        if (manual) {
            ASSERT_NE(known, nullptr)
                << "Restart=" << to_string(value) << ": expected a known deviation for "
                << "reload-timeout (the manual says restarted), observed none in "
                << expectations.source();
        }
        const bool expected_on_252 = known ? known->restarted : manual;
        EXPECT_FALSE(expected_on_252) << "Restart=" << to_string(value)
                                      << ": expected not restarted on systemd 252, observed "
                                         "restarted from the table and "
                                      << expectations.source();
        if (known) {
            EXPECT_NE(known->reason.find("ExecReload="), std::string::npos) << known->reason;
            EXPECT_GT(known->line, 0);
        }
    }
    EXPECT_EQ(expectations.find("sigabrt", RestartValue::on_failure), nullptr);
}

// "*" stands for every Restart= value.
TEST(ExpectationsFor, star_covers_every_restart_value) {
    TempDir dir;
    const fs::path file = dir.write("systemd-252.toml", R"([[deviation]]
cause = "reload-timeout"
restart = "*"
restarted = false
reason = "systemd 252 kills the hung ExecReload= process and keeps the service running"
)");
    const Expectations expectations = Expectations::load(file);
    EXPECT_EQ(expectations.source(), file.string());
    for (RestartValue value : all_restart_values) {
        const KnownDeviation* known = expectations.find("reload-timeout", value);
        ASSERT_NE(known, nullptr) << "expected a known deviation for reload-timeout under Restart="
                                  << to_string(value) << ", observed none";
        EXPECT_FALSE(known->restarted);
        EXPECT_EQ(known->line, 1);
    }
}

TEST(ExpectationsFor, falls_back_to_the_unversioned_file_then_to_none) {
    TempDir dir;
    const std::string deviation = R"([[deviation]]
cause = "sigterm"
restart = "on-success"
restarted = false
reason = "why"
)";
    dir.write("expectations/minisd-3.toml", deviation);
    dir.write("expectations/minisd.toml", "# keeps to the manual\n");

    const fs::path expectations_dir = dir.path() / "expectations";
    const Expectations three = Expectations::for_supervisor(dir.path(), "minisd", "3.1.4");
    EXPECT_EQ(fs::path(three.source()), expectations_dir / "minisd-3.toml");
    ASSERT_NE(three.find("sigterm", RestartValue::on_success), nullptr);
    EXPECT_EQ(three.find("sigterm", RestartValue::always), nullptr);

    const Expectations four = Expectations::for_supervisor(dir.path(), "minisd", "4");
    EXPECT_EQ(fs::path(four.source()), expectations_dir / "minisd.toml");
    EXPECT_EQ(four.find("sigterm", RestartValue::on_success), nullptr);

    const Expectations unversioned = Expectations::for_supervisor(dir.path(), "minisd", "git");
    EXPECT_EQ(fs::path(unversioned.source()), expectations_dir / "minisd.toml");

    const Expectations none = Expectations::for_supervisor(dir.path(), "other", "3");
    EXPECT_EQ(none.source(), "");
    EXPECT_EQ(none.find("sigterm", RestartValue::on_success), nullptr);
}

TEST(ExpectationsFor, a_bad_file_is_not_skipped) {
    TempDir dir;
    dir.write("expectations/minisd-3.toml", "[[deviation]]\ncause = 1\n");
    EXPECT_THROW(Expectations::for_supervisor(dir.path(), "minisd", "3"), InputError);
}

// A dangling link, a loop or a directory where the file should be is named, never skipped.
TEST(ExpectationsFor, a_broken_file_is_named_not_skipped) {
    for (const std::string kind : {"dangling", "loop", "directory"}) {
        TempDir dir;
        const fs::path file = dir.path() / "expectations" / "minisd-3.toml";
        fs::create_directories(file.parent_path());
        if (kind == "dangling") fs::create_symlink(dir.path() / "nowhere.toml", file);
        if (kind == "loop") fs::create_symlink(file, file);
        if (kind == "directory") fs::create_directory(file);
        try {
            Expectations::for_supervisor(dir.path(), "minisd", "3");
            ADD_FAILURE() << kind << ": loaded as if there were no file";
        } catch (const InputError& e) {
            EXPECT_EQ(e.file(), file.string()) << kind << ": " << e.what();
        }
    }
}

TEST(ExpectationsFor, a_deviation_for_an_unknown_cause_is_refused_on_its_line) {
    TempDir dir;
    dir.write("expectations/minisd.toml", "# one deviation\n[[deviation]]\ncause = \"sigabtr\"\n"
                                          "restart = \"always\"\nrestarted = false\nreason = \"typo\"\n");
    const Expectations e = Expectations::for_supervisor(dir.path(), "minisd", "1");
    const auto causes = load_exit_causes(scenarios_dir / "causes.toml");
    try {
        e.check_causes(causes);
        ADD_FAILURE() << "a deviation for cause 'sigabtr' was accepted";
    } catch (const InputError& error) {
        EXPECT_EQ(error.line(), 2) << error.what();
        EXPECT_NE(std::string(error.what()).find("sigabtr"), std::string::npos) << error.what();
    }
    EXPECT_NO_THROW(Expectations::for_supervisor(scenarios_dir, "systemd", "252").check_causes(causes));
    EXPECT_NO_THROW(Expectations::for_supervisor(scenarios_dir, "supervisord", "4.2").check_causes(causes));
}

} // namespace
} // namespace crashloop
