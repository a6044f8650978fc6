// Table 2 of systemd.service(5) and the rules around it: the shipped
// scenarios/table.toml against the manual written out by hand below, every
// classification rule, and every modifier (SuccessExitStatus=,
// RestartPreventExitStatus=, RestartForceExitStatus=, a stop by the
// supervisor) under every Restart= value. Test names read like the table:
// on_failure/Table2.restarts_as_the_manual_says/unclean_signal.
#include <gtest/gtest.h>

#include <csignal>
#include <string>
#include <tuple>
#include <vector>

#include "restart_table.hpp"

namespace crashloop {

// gtest prints a failing test's parameter: in the manual's words.
[[maybe_unused]] static void PrintTo(RestartValue value, std::ostream* out) {
    *out << to_string(value);
}
[[maybe_unused]] static void PrintTo(ExitClass row, std::ostream* out) {
    *out << "'" << to_string(row) << "'";
}

namespace {

// "Table 2. Exit causes and the effect of the Restart= settings", copied from
// the manual of systemd 252, so the data file is checked against the manual
// rather than against itself.
constexpr bool X = true;
constexpr bool _ = false;
// clang-format off
constexpr bool manual_table2[5][7] = {
    //                              no always on-success on-failure on-abnormal on-abort on-watchdog
    /* clean exit code or signal */ {_, X,     X,         _,         _,          _,       _},
    /* unclean exit code         */ {_, X,     _,         X,         _,          _,       _},
    /* unclean signal            */ {_, X,     _,         X,         X,          X,       _},
    /* timeout                   */ {_, X,     _,         X,         X,          _,       _},
    /* watchdog                  */ {_, X,     _,         X,         X,          _,       X},
};
// clang-format on

bool manual_says(ExitClass row, RestartValue value) {
    return manual_table2[static_cast<int>(row)][static_cast<int>(value)];
}

const RestartTable& shipped_table() {
    static const RestartTable table =
        RestartTable::load(std::filesystem::path(CRASHLOOP_SCENARIOS_DIR) / "table.toml");
    return table;
}

// "on-failure" → "on_failure", "unclean signal" → "unclean_signal".
std::string test_name(std::string_view text) {
    std::string name(text);
    for (char& c : name)
        if (c == '-' || c == ' ') c = '_';
    return name;
}

std::string restarted_word(bool restarted) {
    return restarted ? "restarted" : "not restarted";
}

Outcome exited(int code) {
    return {Outcome::Kind::exited, code, 0};
}
Outcome killed(int signo) {
    return {Outcome::Kind::killed, 0, signo};
}
Outcome of_kind(Outcome::Kind kind) {
    return {kind, 0, 0};
}

// One outcome that falls in each row without any modifier.
Outcome typical_outcome(ExitClass row) {
    switch (row) {
    case ExitClass::clean:
        return exited(0);
    case ExitClass::unclean_exit_code:
        return exited(1);
    case ExitClass::unclean_signal:
        return killed(SIGABRT);
    case ExitClass::timeout:
        return of_kind(Outcome::Kind::timeout);
    case ExitClass::watchdog:
        return of_kind(Outcome::Kind::watchdog);
    }
    return exited(0);
}

// --- the 35 cells ------------------------------------------------------------

class Table2 : public testing::TestWithParam<std::tuple<RestartValue, ExitClass>> {};

TEST_P(Table2, restarts_as_the_manual_says) {
    const auto [value, row] = GetParam();
    const bool expected = manual_says(row, value);

    const bool in_file = shipped_table().row_restarts(row, value);
    EXPECT_EQ(in_file, expected) << "Restart=" << to_string(value) << ", row '" << to_string(row)
                                 << "': expected " << restarted_word(expected)
                                 << " (Table 2), observed " << restarted_word(in_file)
                                 << " in scenarios/table.toml";

    const Outcome outcome = typical_outcome(row);
    const bool decided = shipped_table().shall_restart(value, outcome, {});
    EXPECT_EQ(decided, expected) << "Restart=" << to_string(value) << " after " << describe(outcome)
                                 << ": expected " << restarted_word(expected) << " (Table 2, row '"
                                 << to_string(row) << "'), observed " << restarted_word(decided)
                                 << " from shall_restart()";
}

std::string row_name(const testing::TestParamInfo<std::tuple<RestartValue, ExitClass>>& info) {
    return test_name(to_string(std::get<1>(info.param)));
}

// One instantiation per column, so the names read on_failure/…/unclean_signal.
#define TABLE2_COLUMN(value)                                                                       \
    INSTANTIATE_TEST_SUITE_P(value, Table2,                                                        \
                             testing::Combine(testing::Values(RestartValue::value),                \
                                              testing::ValuesIn(all_exit_classes)),                \
                             row_name)
TABLE2_COLUMN(no);
TABLE2_COLUMN(always);
TABLE2_COLUMN(on_success);
TABLE2_COLUMN(on_failure);
TABLE2_COLUMN(on_abnormal);
TABLE2_COLUMN(on_abort);
TABLE2_COLUMN(on_watchdog);
#undef TABLE2_COLUMN

TEST(Table2File, clean_signals_are_the_manuals_four) {
    const std::set<int> expected = {SIGHUP, SIGINT, SIGTERM, SIGPIPE};
    EXPECT_EQ(shipped_table().clean_signals(), expected)
        << "expected SIGHUP, SIGINT, SIGTERM, SIGPIPE (systemd.service(5) under Restart=)";
}

// --- which row an outcome falls in ----------------------------------------------

struct Classification {
    std::string name;
    Outcome outcome;
    ExitStatusSet success_exit_status;
    ExitClass expected;
};

void PrintTo(const Classification& param, std::ostream* out) {
    *out << param.name;
}

class Classify : public testing::TestWithParam<Classification> {};

TEST_P(Classify, falls_in_the_manuals_row) {
    const Classification& param = GetParam();
    const ExitClass observed = shipped_table().classify(param.outcome, param.success_exit_status);
    EXPECT_EQ(observed, param.expected)
        << describe(param.outcome) << ": expected row '" << to_string(param.expected)
        << "', observed '" << to_string(observed) << "'";
}

ExitStatusSet codes(std::set<int> values) {
    return {std::move(values), {}};
}
ExitStatusSet signals(std::set<int> values) {
    return {{}, std::move(values)};
}

INSTANTIATE_TEST_SUITE_P(
    outcome, Classify,
    testing::Values(
        Classification{"exit_0", exited(0), {}, ExitClass::clean},
        Classification{"exit_1", exited(1), {}, ExitClass::unclean_exit_code},
        Classification{"exit_255", exited(255), {}, ExitClass::unclean_exit_code},
        Classification{"sighup", killed(SIGHUP), {}, ExitClass::clean},
        Classification{"sigint", killed(SIGINT), {}, ExitClass::clean},
        Classification{"sigterm", killed(SIGTERM), {}, ExitClass::clean},
        Classification{"sigpipe", killed(SIGPIPE), {}, ExitClass::clean},
        Classification{"sigabrt", killed(SIGABRT), {}, ExitClass::unclean_signal},
        Classification{"sigsegv", killed(SIGSEGV), {}, ExitClass::unclean_signal},
        Classification{"sigkill", killed(SIGKILL), {}, ExitClass::unclean_signal},
        Classification{"sigquit", killed(SIGQUIT), {}, ExitClass::unclean_signal},
        Classification{"sigbus", killed(SIGBUS), {}, ExitClass::unclean_signal},
        Classification{"sigusr2", killed(SIGUSR2), {}, ExitClass::unclean_signal},
        Classification{"timeout", of_kind(Outcome::Kind::timeout), {}, ExitClass::timeout},
        Classification{"watchdog", of_kind(Outcome::Kind::watchdog), {}, ExitClass::watchdog},
        Classification{
            "supervisor_stop", of_kind(Outcome::Kind::supervisor_stop), {}, ExitClass::clean},
        Classification{"exit_42_in_success_exit_status", exited(42), codes({42}), ExitClass::clean},
        Classification{"exit_43_not_in_success_exit_status", exited(43), codes({42}),
                       ExitClass::unclean_exit_code},
        Classification{"sigusr2_in_success_exit_status", killed(SIGUSR2), signals({SIGUSR2}),
                       ExitClass::clean},
        // A code and a signal with the same number (SIGUSR2 is 12) are different statuses.
        Classification{"sigusr2_listed_does_not_clean_exit_12", exited(12), signals({SIGUSR2}),
                       ExitClass::unclean_exit_code},
        Classification{"exit_12_listed_does_not_clean_sigusr2", killed(SIGUSR2), codes({12}),
                       ExitClass::unclean_signal}),
    [](const auto& info) { return info.param.name; });

// --- the rules around the table, under every Restart= value ----------------------

struct ModifierCase {
    Outcome outcome;
    RestartRules rules;
    // nullopt: the table decides (row given); else the rule's fixed answer.
    std::optional<bool> fixed;
    ExitClass row = ExitClass::clean;
};

void PrintTo(const ModifierCase& rule, std::ostream* out) {
    *out << describe(rule.outcome);
}

class ModifierRule : public testing::TestWithParam<std::tuple<ModifierCase, RestartValue>> {};

TEST_P(ModifierRule, shall_restart) {
    const auto& [rule, value] = GetParam();
    const bool expected = rule.fixed.value_or(manual_says(rule.row, value));
    const bool observed = shipped_table().shall_restart(value, rule.outcome, rule.rules);
    EXPECT_EQ(observed, expected) << "Restart=" << to_string(value) << " after "
                                  << describe(rule.outcome) << ": expected "
                                  << restarted_word(expected)
                                  << (rule.fixed ? " (the rule, whatever Restart= says)"
                                                 : " (Table 2, row '" +
                                                       std::string(to_string(rule.row)) + "')")
                                  << ", observed " << restarted_word(observed);
}

std::string value_name(const testing::TestParamInfo<std::tuple<ModifierCase, RestartValue>>& info) {
    return test_name(to_string(std::get<1>(info.param)));
}

RestartRules prevent(ExitStatusSet set) {
    return {{}, std::move(set), {}};
}
RestartRules force(ExitStatusSet set) {
    return {{}, {}, std::move(set)};
}
RestartRules success(ExitStatusSet set) {
    return {std::move(set), {}, {}};
}

#define MODIFIER_RULE(name, ...)                                                                   \
    INSTANTIATE_TEST_SUITE_P(name, ModifierRule,                                                   \
                             testing::Combine(testing::Values(ModifierCase __VA_ARGS__),           \
                                              testing::ValuesIn(all_restart_values)),              \
                             value_name)

// "will be considered successful termination": the clean row.
MODIFIER_RULE(success_exit_status,
              {exited(42), success(codes({42})), std::nullopt, ExitClass::clean});
MODIFIER_RULE(success_exit_signal,
              {killed(SIGUSR2), success(signals({SIGUSR2})), std::nullopt, ExitClass::clean});
// "will prevent automatic service restarts, regardless of the restart setting".
MODIFIER_RULE(restart_prevent, {exited(1), prevent(codes({1})), false});
MODIFIER_RULE(restart_prevent_signal, {killed(SIGABRT), prevent(signals({SIGABRT})), false});
// "will force automatic service restarts, regardless of the restart setting".
MODIFIER_RULE(restart_force, {exited(3), force(codes({3})), true});
MODIFIER_RULE(restart_force_signal, {killed(SIGTERM), force(signals({SIGTERM})), true});
// service_shall_restart() looks at RestartPreventExitStatus= first.
MODIFIER_RULE(restart_prevent_over_force,
              {exited(5), RestartRules{{}, codes({5}), codes({5})}, false});
// A status not listed leaves the decision to the table.
MODIFIER_RULE(restart_force_other_code,
              {exited(1), force(codes({3})), std::nullopt, ExitClass::unclean_exit_code});
MODIFIER_RULE(restart_prevent_other_code,
              {exited(1), prevent(codes({2})), std::nullopt, ExitClass::unclean_exit_code});
// A timeout or watchdog carries no exit status of its own to match.
MODIFIER_RULE(restart_prevent_ignores_timeout,
              {of_kind(Outcome::Kind::timeout), prevent(codes({0, 1})), std::nullopt,
               ExitClass::timeout});
// "When the death of the process is a result of systemd operation (e.g.
// service stop or restart), the service will not be restarted."
MODIFIER_RULE(supervisor_stop, {of_kind(Outcome::Kind::supervisor_stop), force(codes({0})), false});
#undef MODIFIER_RULE

// --- the vocabulary ------------------------------------------------------------

TEST(Vocabulary, restart_values_round_trip) {
    for (RestartValue value : all_restart_values) {
        EXPECT_EQ(parse_restart_value(to_string(value)), value) << to_string(value);
    }
    EXPECT_EQ(to_string(RestartValue::on_failure), "on-failure");
    EXPECT_EQ(parse_restart_value("on_failure"), std::nullopt);
    EXPECT_EQ(parse_restart_value("On-Failure"), std::nullopt);
    EXPECT_EQ(parse_restart_value(""), std::nullopt);
}

TEST(Vocabulary, exit_classes_use_the_manuals_row_names) {
    EXPECT_EQ(to_string(ExitClass::clean), "clean exit code or signal");
    EXPECT_EQ(to_string(ExitClass::unclean_exit_code), "unclean exit code");
    EXPECT_EQ(to_string(ExitClass::unclean_signal), "unclean signal");
    EXPECT_EQ(to_string(ExitClass::timeout), "timeout");
    EXPECT_EQ(to_string(ExitClass::watchdog), "watchdog");
    for (ExitClass row : all_exit_classes)
        EXPECT_EQ(parse_exit_class(to_string(row)), row);
    EXPECT_EQ(parse_exit_class("clean"), std::nullopt);
}

TEST(Vocabulary, signal_names_as_systemd_writes_them) {
    EXPECT_EQ(signal_name(SIGABRT), "SIGABRT");
    EXPECT_EQ(signal_name(SIGSEGV), "SIGSEGV");
    EXPECT_EQ(signal_name(SIGUSR2), "SIGUSR2");
    EXPECT_EQ(signal_name(SIGSYS), "SIGSYS");
    EXPECT_EQ(signal_name(0), "0");
    EXPECT_EQ(signal_name(40), "40");
    for (int signo = 1; signo <= 31; ++signo) {
        EXPECT_EQ(parse_signal(signal_name(signo)), signo) << signal_name(signo);
    }
}

TEST(Vocabulary, parse_signal_takes_upper_case_with_or_without_sig) {
    EXPECT_EQ(parse_signal("SIGABRT"), SIGABRT);
    EXPECT_EQ(parse_signal("ABRT"), SIGABRT);
    EXPECT_EQ(parse_signal("SIGTERM"), SIGTERM);
    EXPECT_EQ(parse_signal("sigabrt"), std::nullopt);
    EXPECT_EQ(parse_signal("Abrt"), std::nullopt);
    EXPECT_EQ(parse_signal("SIG"), std::nullopt);
    EXPECT_EQ(parse_signal(""), std::nullopt);
    EXPECT_EQ(parse_signal("SIGFOO"), std::nullopt);
    EXPECT_EQ(parse_signal("6"), std::nullopt);
    EXPECT_EQ(parse_signal("SIGSIGABRT"), std::nullopt);
}

TEST(Vocabulary, describe_outcomes) {
    EXPECT_EQ(describe(exited(1)), "exit code 1");
    EXPECT_EQ(describe(killed(SIGABRT)), "signal SIGABRT");
    EXPECT_EQ(describe(of_kind(Outcome::Kind::timeout)), "timeout");
    EXPECT_EQ(describe(of_kind(Outcome::Kind::watchdog)), "watchdog");
    EXPECT_EQ(describe(of_kind(Outcome::Kind::supervisor_stop)), "stopped by the supervisor");
}

TEST(Vocabulary, exit_status_set_matches_codes_and_signals_apart) {
    const ExitStatusSet set{{1, 6}, {SIGABRT}};
    EXPECT_TRUE(set.contains(exited(1)));
    EXPECT_TRUE(set.contains(exited(6)));
    EXPECT_TRUE(set.contains(killed(SIGABRT)));
    EXPECT_FALSE(set.contains(exited(2)));
    EXPECT_FALSE(set.contains(killed(1))); // SIGHUP is 1, but 1 is listed as a code
    EXPECT_FALSE(set.contains(of_kind(Outcome::Kind::timeout)));
    EXPECT_FALSE(set.contains(of_kind(Outcome::Kind::watchdog)));
    EXPECT_FALSE(set.contains(of_kind(Outcome::Kind::supervisor_stop)));
    EXPECT_TRUE(ExitStatusSet{}.empty());
    EXPECT_FALSE(set.empty());
}

} // namespace
} // namespace crashloop
