// Unit files and drop-ins read as systemd reads them (sections, comments,
// continuation lines, later drop-ins winning, empty assignments resetting,
// specifiers), every bad line refused naming its file and line, and the
// restart settings of the story's shipped units: httpd.service alone does not
// restart, its override.conf makes it Restart=on-failure.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "errors.hpp"
#include "restart_table.hpp"
#include "service_settings.hpp"
#include "unit_file.hpp"
#include "temp_dir.hpp"

namespace crashloop {
namespace {

namespace fs = std::filesystem;
using std::chrono::microseconds;
using namespace std::chrono_literals;

const fs::path units_dir = fs::path(CRASHLOOP_SCENARIOS_DIR) / "units";

std::vector<std::string> values_of(const std::vector<Assignment>& assignments) {
    std::vector<std::string> values;
    values.reserve(assignments.size());
    for (const Assignment& assignment : assignments)
        values.push_back(assignment.value);
    return values;
}

std::string value_of(const UnitFile& unit, std::string_view section, std::string_view key) {
    auto assignment = unit.last(section, key);
    return assignment ? assignment->value : "<unset>";
}

// --- reading one file ------------------------------------------------------------

TEST(UnitFile, continuation_lines_join_with_a_space_and_skip_comments) {
    TempDir dir;
    const fs::path unit = dir.write("web.service", "[Service]\n"
                                                   "ExecStart=/usr/sbin/httpd \\\n"
                                                   "# a comment inside the continuation\n"
                                                   "  -DFOREGROUND \\\n"
                                                   "; another one\n"
                                                   "  -k start\n"
                                                   "Description=ends in a literal \\\\\n"
                                                   "Type=notify\n");
    const UnitFile file = UnitFile::load(unit, {});
    auto exec_start = file.last("Service", "ExecStart");
    ASSERT_TRUE(exec_start);
    EXPECT_EQ(exec_start->value, "/usr/sbin/httpd    -DFOREGROUND    -k start");
    EXPECT_EQ(exec_start->line, 2) << "expected the line the key is on";
    EXPECT_EQ(value_of(file, "Service", "Description"), "ends in a literal \\\\");
    EXPECT_EQ(value_of(file, "Service", "Type"), "notify");
}

TEST(UnitFile, a_continuation_at_the_end_of_the_file_still_counts) {
    TempDir dir;
    const fs::path unit = dir.write("web.service", "[Service]\nExecStart=/bin/true \\");
    EXPECT_EQ(value_of(UnitFile::load(unit, {}), "Service", "ExecStart"), "/bin/true");
}

TEST(UnitFile, comments_and_blank_lines_are_skipped_and_values_trimmed) {
    TempDir dir;
    const fs::path unit = dir.write("web.service", "\xEF\xBB\xBF# a comment\n"
                                                   "; another comment\n"
                                                   "\n"
                                                   "   [Unit]   \n"
                                                   "  # an indented comment\n"
                                                   "\tDescription  =  The Apache HTTP Server  \n"
                                                   "[Service]\n"
                                                   "Environment=A=1 # not a comment\n"
                                                   "ExecStart=/bin/true\r\n");
    const UnitFile file = UnitFile::load(unit, {});
    EXPECT_EQ(value_of(file, "Unit", "Description"), "The Apache HTTP Server");
    EXPECT_EQ(value_of(file, "Service", "Environment"), "A=1 # not a comment");
    EXPECT_EQ(value_of(file, "Service", "ExecStart"), "/bin/true");
    EXPECT_EQ(file.last("Unit", "Description")->line, 6);
    EXPECT_TRUE(file.warnings().empty()) << file.warnings().front();
}

// --- drop-ins --------------------------------------------------------------------

TEST(UnitFile, later_dropins_win) {
    TempDir dir;
    const fs::path unit = dir.write("web.service", "[Service]\nRestart=no\nRestartSec=1s\n");
    const fs::path first = dir.write("web.service.d/10-always.conf", "[Service]\nRestart=always\n");
    const fs::path second =
        dir.write("web.service.d/20-on-failure.conf", "[Service]\n\nRestart=on-failure\n");
    const UnitFile file = UnitFile::load(unit, {first, second});

    auto restart = file.last("Service", "Restart");
    ASSERT_TRUE(restart);
    EXPECT_EQ(restart->value, "on-failure");
    EXPECT_EQ(where(*restart), second.string() + ":3");
    EXPECT_EQ(value_of(file, "Service", "RestartSec"), "1s") << "untouched by the drop-ins";
    EXPECT_EQ(values_of(file.all("Service", "Restart")),
              (std::vector<std::string>{"no", "always", "on-failure"}));
    EXPECT_EQ(file.files(),
              (std::vector<std::string>{unit.string(), first.string(), second.string()}));
}

TEST(UnitFile, dropins_in_lists_conf_files_by_name) {
    TempDir dir;
    const fs::path unit = dir.write("web.service", "[Service]\nExecStart=/bin/true\n");
    dir.write("web.service.d/20-b.conf", "");
    dir.write("web.service.d/10-a.conf", "");
    dir.write("web.service.d/README", "");
    dir.write("web.service.d/30-c.conf.disabled", "");
    const std::vector<fs::path> found = dropins_in(unit);
    ASSERT_EQ(found.size(), 2u);
    EXPECT_EQ(found[0].filename(), "10-a.conf");
    EXPECT_EQ(found[1].filename(), "20-b.conf");
    EXPECT_TRUE(dropins_in(dir.write("other.service", "")).empty());
}

TEST(UnitFile, an_empty_assignment_resets_a_list) {
    TempDir dir;
    const fs::path unit = dir.write("web.service", "[Unit]\n"
                                                   "After=network.target\n"
                                                   "[Service]\n"
                                                   "ExecStartPre=/bin/a\n"
                                                   "ExecStartPre=/bin/b\n"
                                                   "SuccessExitStatus=42\n"
                                                   "Environment=A=1\n");
    const fs::path dropin = dir.write("override.conf", "[Unit]\n"
                                                       "After=\n"
                                                       "After=remote-fs.target\n"
                                                       "[Service]\n"
                                                       "ExecStartPre=\n"
                                                       "ExecStartPre=/bin/c\n"
                                                       "SuccessExitStatus=\n"
                                                       "Environment=B=2\n");
    const UnitFile file = UnitFile::load(unit, {dropin});
    EXPECT_EQ(values_of(file.list("Service", "ExecStartPre")), std::vector<std::string>{"/bin/c"});
    EXPECT_TRUE(file.list("Service", "SuccessExitStatus").empty());
    EXPECT_FALSE(file.last("Service", "SuccessExitStatus"));
    EXPECT_EQ(values_of(file.list("Service", "Environment")),
              (std::vector<std::string>{"A=1", "B=2"}));
    // Dependencies only add up: systemd ignores an empty After=.
    EXPECT_EQ(values_of(file.list("Unit", "After")),
              (std::vector<std::string>{"network.target", "remote-fs.target"}));
}

TEST(UnitFile, an_empty_assignment_resets_a_single_value_to_its_default) {
    TempDir dir;
    const fs::path unit = dir.write("web.service", "[Service]\nRestart=always\nType=notify\n");
    const fs::path dropin = dir.write("override.conf", "[Service]\nRestart=\n");
    const UnitFile file = UnitFile::load(unit, {dropin});
    EXPECT_FALSE(file.last("Service", "Restart"));
    EXPECT_EQ(file.all("Service", "Restart").size(), 2u);
    EXPECT_EQ(value_of(file, "Service", "Type"), "notify");
}

TEST(UnitFile, an_empty_condition_resets_every_condition) {
    TempDir dir;
    const fs::path unit = dir.write("web.service", "[Unit]\n"
                                                   "ConditionPathExists=/etc/httpd\n"
                                                   "ConditionUser=root\n"
                                                   "ConditionHost=\n"
                                                   "ConditionUser=apache\n");
    const UnitFile file = UnitFile::load(unit, {});
    EXPECT_TRUE(file.list("Unit", "ConditionPathExists").empty());
    EXPECT_EQ(values_of(file.list("Unit", "ConditionUser")), std::vector<std::string>{"apache"});
}

// --- what systemd ignores, and what crashloop refuses ---------------------------

TEST(UnitFile, unknown_keys_are_kept_and_warned_about_with_file_and_line) {
    TempDir dir;
    const fs::path unit = dir.write("web.service", "[Service]\n"
                                                   "ExecStart=/bin/true\n"
                                                   "Restrat=on-failure\n"
                                                   "X-Ours=kept quietly\n"
                                                   "[Fancy]\n"
                                                   "Anything=goes\n"
                                                   "[X-Extension]\n"
                                                   "Also=quiet\n");
    const UnitFile file = UnitFile::load(unit, {});
    const std::vector<std::string> expected = {
        unit.string() + ":3: unknown key 'Restrat' in [Service], ignored",
        unit.string() + ":5: unknown section [Fancy], ignored",
    };
    EXPECT_EQ(file.warnings(), expected);
    EXPECT_EQ(value_of(file, "Service", "Restrat"), "on-failure");
    EXPECT_EQ(value_of(file, "Fancy", "Anything"), "goes");
    EXPECT_EQ(value_of(file, "X-Extension", "Also"), "quiet");
}

struct MalformedCase {
    std::string name;
    std::string text;
    int line;
    std::string got;
};

[[maybe_unused]] void PrintTo(const MalformedCase& c, std::ostream* out) {
    *out << c.name;
}

class MalformedLine : public testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedLine, is_an_error_naming_file_and_line) {
    const MalformedCase& c = GetParam();
    TempDir dir;
    const fs::path unit = dir.write("web.service", "[Service]\nExecStart=/bin/true\n");
    const fs::path dropin = dir.write("override.conf", c.text);
    try {
        UnitFile::load(unit, {dropin});
        FAIL() << "expected an InputError for " << c.text;
    } catch (const InputError& err) {
        EXPECT_EQ(err.file(), dropin.string());
        EXPECT_EQ(err.line(), c.line);
        EXPECT_EQ(std::string(err.what()),
                  dropin.string() + ":" + std::to_string(c.line) +
                      ": expected 'Key=Value' or '[Section]', got '" + c.got + "'" +
                      (c.name == "key_before_section" ? " before any [Section]" : ""));
    }
}

INSTANTIATE_TEST_SUITE_P(
    unit_file, MalformedLine,
    testing::Values(MalformedCase{"no_equals", "[Service]\n# comment\nRestart on-failure\n", 3,
                                  "Restart on-failure"},
                    MalformedCase{"no_key", "[Service]\n=on-failure\n", 2, "=on-failure"},
                    MalformedCase{"unterminated_section", "[Service\nRestart=on-failure\n", 1,
                                  "[Service"},
                    MalformedCase{"text_after_section", "[Service] # the override\n", 1,
                                  "[Service] # the override"},
                    MalformedCase{"key_before_section", "\nRestart=on-failure\n[Service]\n", 2,
                                  "Restart=on-failure"}),
    [](const auto& info) { return info.param.name; });

TEST(UnitFile, a_missing_file_is_an_error_naming_it) {
    TempDir dir;
    const fs::path unit = dir.write("web.service", "[Service]\nExecStart=/bin/true\n");
    try {
        UnitFile::load(unit, {unit.parent_path() / "nowhere.conf"});
        FAIL() << "expected an InputError";
    } catch (const InputError& err) {
        EXPECT_EQ(err.file(), (unit.parent_path() / "nowhere.conf").string());
    }
}

// --- specifiers ------------------------------------------------------------------

TEST(UnitFile, specifiers_naming_the_unit_are_expanded) {
    TempDir dir;
    const fs::path unit =
        dir.write("web@blue.service", "[Unit]\n"
                                      "Description=%n %N %p %i 100%% 50%\n"
                                      "[Service]\n"
                                      "ExecStart=/usr/sbin/httpd -f %h/%i.conf -d %h -D %E\n");
    const UnitFile file = UnitFile::load(unit, {});
    EXPECT_EQ(file.name(), "web@blue.service");
    EXPECT_EQ(value_of(file, "Unit", "Description"), "web@blue.service web@blue web blue 100% 50%");
    EXPECT_EQ(value_of(file, "Service", "ExecStart"),
              "/usr/sbin/httpd -f %h/blue.conf -d %h -D %E");
    // Once per specifier, %h used twice.
    const std::vector<std::string> expected = {
        unit.string() +
            ":4: specifier '%h' left as written (crashloop expands only %n %N %p %i %%)",
        unit.string() +
            ":4: specifier '%E' left as written (crashloop expands only %n %N %p %i %%)",
    };
    EXPECT_EQ(file.warnings(), expected);
}

TEST(UnitFile, specifiers_of_a_plain_unit) {
    TempDir dir;
    const fs::path unit = dir.write("httpd.service", "[Unit]\nDescription=%n|%N|%p|%i|%z\n");
    const UnitFile file = UnitFile::load(unit, {});
    EXPECT_EQ(value_of(file, "Unit", "Description"), "httpd.service|httpd|httpd||%z");
    ASSERT_EQ(file.warnings().size(), 1u);
    EXPECT_NE(file.warnings()[0].find("systemd knows no such specifier"), std::string::npos)
        << file.warnings()[0];
}

// --- time spans, as systemd's parse_sec() ---------------------------------------

struct TimespanCase {
    std::string name;
    std::string text;
    std::optional<microseconds> expected;
};

[[maybe_unused]] void PrintTo(const TimespanCase& c, std::ostream* out) {
    *out << "'" << c.text << "'";
}

class Timespan : public testing::TestWithParam<TimespanCase> {};

TEST_P(Timespan, reads_as_systemd_reads_it) {
    const TimespanCase& c = GetParam();
    const std::optional<microseconds> parsed = parse_timespan(c.text);
    if (c.expected)
        EXPECT_EQ(parsed, c.expected) << "'" << c.text << "'";
    else
        EXPECT_FALSE(parsed) << "'" << c.text << "' read as " << parsed->count() << " us";
}

// Every expected value was checked against `systemd-analyze timespan` (252).
INSTANTIATE_TEST_SUITE_P(
    time, Timespan,
    testing::Values(
        TimespanCase{"ms", "100ms", 100ms}, TimespanCase{"msec", "20msec", 20ms},
        TimespanCase{"s", "5s", 5s}, TimespanCase{"bare_number", "5", 5s},
        TimespanCase{"zero", "0", 0s}, TimespanCase{"sec", "3sec", 3s},
        TimespanCase{"seconds_spaced", "3 seconds", 3s}, TimespanCase{"min_s", "1min 30s", 90s},
        TimespanCase{"min_s_joined", "1min30s", 90s}, TimespanCase{"m_is_minutes", "2m", 2min},
        TimespanCase{"minutes", "2minutes", 2min}, TimespanCase{"h", "2h", 2h},
        TimespanCase{"hr", "1hr", 1h}, TimespanCase{"hours", "3 hours", 3h},
        TimespanCase{"h_m", "1h30m", 90min}, TimespanCase{"d", "1d", 24h},
        TimespanCase{"days", "2days", 48h}, TimespanCase{"w", "1w", 168h},
        TimespanCase{"us", "500us", 500us}, TimespanCase{"usec", "10usec", 10us},
        TimespanCase{"micro_sign", "3\xC2\xB5s", 3us}, TimespanCase{"fraction", "1.5s", 1500ms},
        TimespanCase{"bare_fraction", "0.5", 500ms}, TimespanCase{"two_bare_numbers", "5 5", 10s},
        TimespanCase{"padded", "  7s  ", 7s},
        TimespanCase{"fraction_after_unit", "12.34s.56", 12900ms},
        TimespanCase{"infinity", "infinity", infinite_time},
        TimespanCase{"empty", "", std::nullopt}, TimespanCase{"blank", "   ", std::nullopt},
        TimespanCase{"word", "abc", std::nullopt}, TimespanCase{"negative", "-5s", std::nullopt},
        TimespanCase{"unknown_unit", "5x", std::nullopt},
        TimespanCase{"dangling_dot", "1.s", std::nullopt},
        TimespanCase{"two_dots", "1.5.5", std::nullopt},
        TimespanCase{"infinity_and_more", "infinity 5s", std::nullopt},
        TimespanCase{"too_large", "999999999999y", std::nullopt}),
    [](const auto& info) { return info.param.name; });

// --- the restart settings ------------------------------------------------------

ServiceSettings settings_of(const std::string& unit_text, const std::string& dropin_text = "") {
    TempDir dir;
    const fs::path unit = dir.write("web.service", unit_text);
    std::vector<fs::path> dropins;
    if (!dropin_text.empty()) dropins.push_back(dir.write("override.conf", dropin_text));
    return service_settings(UnitFile::load(unit, dropins));
}

TEST(ShippedUnits, httpd_with_the_override_restarts_on_failure) {
    const fs::path unit = units_dir / "httpd.service";
    const std::vector<fs::path> dropins = dropins_in(unit);
    ASSERT_EQ(dropins.size(), 1u);
    EXPECT_EQ(dropins[0], units_dir / "httpd.service.d" / "override.conf");

    const UnitFile file = UnitFile::load(unit, dropins);
    EXPECT_TRUE(file.warnings().empty()) << file.warnings().front();
    const ServiceSettings settings = service_settings(file);
    EXPECT_EQ(settings.unit_name, "httpd.service");
    EXPECT_EQ(settings.restart, RestartValue::on_failure);
    const Assignment restart = *file.last("Service", "Restart");
    EXPECT_EQ(restart.file, dropins[0].string());
    EXPECT_EQ(settings.sources.at("Restart"), where(restart));
    EXPECT_EQ(settings.type, "notify");
    EXPECT_EQ(settings.kill_signal, SIGWINCH);
    EXPECT_EQ(settings.sources.at("KillSignal").rfind(unit.string() + ":", 0), 0u);
    EXPECT_EQ(settings.kill_mode, "mixed");
    EXPECT_TRUE(settings.has_exec_reload);
    EXPECT_FALSE(settings.has_exec_stop);
    EXPECT_EQ(settings.exec_start,
              (std::vector<std::string>{"/usr/sbin/httpd", "$OPTIONS", "-DFOREGROUND"}));
    EXPECT_EQ(settings.restart_sec, 100ms);
    EXPECT_FALSE(settings.timeout_start);
    EXPECT_FALSE(settings.watchdog);
    EXPECT_FALSE(settings.start_limit_interval);
    EXPECT_FALSE(settings.start_limit_burst);
    EXPECT_TRUE(settings.rules.success_exit_status.empty());
}

TEST(ShippedUnits, httpd_without_the_override_does_not_restart) {
    const ServiceSettings settings =
        service_settings(UnitFile::load(units_dir / "httpd.service", {}));
    EXPECT_EQ(settings.restart, RestartValue::no);
    EXPECT_FALSE(settings.sources.contains("Restart"));
    EXPECT_EQ(settings.type, "notify");
}

TEST(ShippedUnits, debian_apache2_forks_and_restarts_on_abort) {
    const fs::path unit = units_dir / "apache2.service";
    const UnitFile file = UnitFile::load(unit, dropins_in(unit));
    EXPECT_TRUE(file.warnings().empty()) << file.warnings().front();
    const ServiceSettings settings = service_settings(file);
    EXPECT_EQ(settings.type, "forking");
    EXPECT_EQ(settings.restart, RestartValue::on_abort);
    EXPECT_TRUE(settings.has_exec_stop);
    EXPECT_TRUE(settings.has_exec_reload);
    EXPECT_EQ(settings.kill_mode, "mixed");
    EXPECT_EQ(settings.kill_signal, SIGTERM);
    EXPECT_EQ(settings.pid_file, "") << "Debian's unit sets no PIDFile=";
    EXPECT_EQ(settings.exec_start, (std::vector<std::string>{"/usr/sbin/apachectl", "start"}));
    EXPECT_EQ(settings.exec_reload,
              (std::vector<std::vector<std::string>>{{"/usr/sbin/apachectl", "graceful"}}));
    EXPECT_EQ(settings.exec_stop,
              (std::vector<std::vector<std::string>>{{"/usr/sbin/apachectl", "graceful-stop"}}));
    EXPECT_EQ(settings.environment, std::vector<std::string>{"APACHE_STARTED_BY_SYSTEMD=true"});
}

TEST(ServiceSettings, defaults_without_any_setting) {
    const ServiceSettings settings = settings_of("[Service]\nExecStart=/bin/true\n");
    EXPECT_EQ(settings.type, "simple");
    EXPECT_EQ(settings.restart, RestartValue::no);
    EXPECT_EQ(settings.restart_sec, 100ms);
    EXPECT_EQ(settings.kill_signal, SIGTERM);
    EXPECT_EQ(settings.kill_mode, "control-group");
    EXPECT_EQ(settings.sources.size(), 1u) << "only ExecStart";
}

TEST(ServiceSettings, timeout_sec_sets_both_until_a_later_specific_one) {
    ServiceSettings settings =
        settings_of("[Service]\nExecStart=/bin/true\n"
                    "TimeoutStartSec=10s\nTimeoutSec=5s\nTimeoutStopSec=20s\n");
    EXPECT_EQ(settings.timeout_start, 5s);
    EXPECT_EQ(settings.timeout_stop, 20s);
    EXPECT_EQ(settings.sources.at("TimeoutStartSec")
                  .substr(settings.sources.at("TimeoutStartSec").rfind(':')),
              ":4");

    settings = settings_of("[Service]\nExecStart=/bin/true\nTimeoutSec=5s\n",
                           "[Service]\nTimeoutStartSec=1min\n");
    EXPECT_EQ(settings.timeout_start, 1min);
    EXPECT_EQ(settings.timeout_stop, 5s);

    settings =
        settings_of("[Service]\nExecStart=/bin/true\nTimeoutSec=0\nTimeoutStopSec=infinity\n");
    EXPECT_EQ(settings.timeout_start, infinite_time) << "0 turns a timeout off";
    EXPECT_EQ(settings.timeout_stop, infinite_time);

    settings =
        settings_of("[Service]\nExecStart=/bin/true\nTimeoutSec=5s\n", "[Service]\nTimeoutSec=\n");
    EXPECT_FALSE(settings.timeout_start);
    EXPECT_FALSE(settings.timeout_stop);
    EXPECT_FALSE(settings.sources.contains("TimeoutStartSec"));
}

TEST(ServiceSettings, start_limit_in_unit_or_the_old_service_spelling) {
    ServiceSettings settings = settings_of("[Unit]\nStartLimitIntervalSec=30s\nStartLimitBurst=3\n"
                                           "[Service]\nExecStart=/bin/true\n");
    EXPECT_EQ(settings.start_limit_interval, 30s);
    EXPECT_EQ(settings.start_limit_burst, 3u);

    settings = settings_of("[Unit]\nStartLimitIntervalSec=30s\n[Service]\nExecStart=/bin/true\n",
                           "[Service]\nStartLimitInterval=1min\nStartLimitBurst=10\n");
    EXPECT_EQ(settings.start_limit_interval, 1min) << "the later assignment wins";
    EXPECT_EQ(settings.start_limit_burst, 10u);
    EXPECT_NE(settings.sources.at("StartLimitIntervalSec").find("override.conf:2"),
              std::string::npos);
}

TEST(ServiceSettings, watchdog_restart_sec_and_pid_file) {
    ServiceSettings settings =
        settings_of("[Service]\nType=notify\nExecStart=/bin/true\n"
                    "WatchdogSec=2s\nRestartSec=250ms\nPIDFile=/run/web.pid\n");
    EXPECT_EQ(settings.watchdog, 2s);
    EXPECT_EQ(settings.restart_sec, 250ms);
    EXPECT_EQ(settings.pid_file, "/run/web.pid");

    settings = settings_of("[Service]\nExecStart=/bin/true\nWatchdogSec=0\n");
    EXPECT_FALSE(settings.watchdog) << "0 turns the watchdog off";
}

TEST(ServiceSettings, kill_signal_by_name_short_name_or_number) {
    using Case = std::pair<std::string, int>;
    for (const auto& [text, signo] : {Case{"SIGWINCH", SIGWINCH}, Case{"WINCH", SIGWINCH},
                                      Case{"9", SIGKILL}, Case{"SIGRTMIN+1", SIGRTMIN + 1}}) {
        const ServiceSettings settings =
            settings_of("[Service]\nExecStart=/bin/true\nKillSignal=" + text + "\n");
        EXPECT_EQ(settings.kill_signal, signo) << text;
    }
}

TEST(ServiceSettings, exit_status_lists_add_up_and_reset) {
    const ServiceSettings settings =
        settings_of("[Service]\nExecStart=/bin/true\n"
                    "SuccessExitStatus=1 2 SIGUSR1\nSuccessExitStatus=TEMPFAIL TERM\n"
                    "RestartPreventExitStatus=255\n"
                    "RestartForceExitStatus=3 SIGABRT\n",
                    "[Service]\nRestartForceExitStatus=\nRestartForceExitStatus=SIGSEGV\n");
    EXPECT_EQ(settings.rules.success_exit_status.codes, (std::set<int>{1, 2, 75}));
    EXPECT_EQ(settings.rules.success_exit_status.signals, (std::set<int>{SIGUSR1, SIGTERM}));
    EXPECT_EQ(settings.rules.restart_prevent_exit_status.codes, std::set<int>{255});
    EXPECT_TRUE(settings.rules.restart_force_exit_status.codes.empty());
    EXPECT_EQ(settings.rules.restart_force_exit_status.signals, std::set<int>{SIGSEGV});
}

TEST(ServiceSettings, exec_start_is_unquoted_and_loses_its_prefixes) {
    ServiceSettings settings = settings_of("[Service]\nExecStart=-@/usr/sbin/httpd httpd-main -f "
                                           "\"/etc/my httpd.conf\" 'a b' x\\sy ; /bin/next\n");
    EXPECT_EQ(settings.exec_start, (std::vector<std::string>{"/usr/sbin/httpd", "-f",
                                                             "/etc/my httpd.conf", "a b", "x y"}));
    settings = settings_of("[Service]\nExecStart=!!/usr/bin/true\n");
    EXPECT_EQ(settings.exec_start, std::vector<std::string>{"/usr/bin/true"});
    settings = settings_of("[Service]\nExecStart=/bin/old\n",
                           "[Service]\nExecStart=\nExecStart=+/bin/new\n");
    EXPECT_EQ(settings.exec_start, std::vector<std::string>{"/bin/new"});
}

TEST(ServiceSettings, exec_reload_and_exec_stop_keep_every_command_in_order) {
    ServiceSettings settings =
        settings_of("[Service]\nExecStart=/bin/true\n"
                    "ExecReload=-/usr/sbin/apachectl graceful\n"
                    "ExecReload=/bin/kill -HUP $MAINPID ; /bin/echo \"reloaded it\"\n"
                    "ExecStop=/usr/sbin/apachectl graceful-stop\n");
    EXPECT_TRUE(settings.has_exec_reload);
    EXPECT_EQ(settings.exec_reload,
              (std::vector<std::vector<std::string>>{{"/usr/sbin/apachectl", "graceful"},
                                                     {"/bin/kill", "-HUP", "$MAINPID"},
                                                     {"/bin/echo", "reloaded it"}}));
    EXPECT_EQ(settings.exec_stop,
              (std::vector<std::vector<std::string>>{{"/usr/sbin/apachectl", "graceful-stop"}}));

    settings = settings_of("[Service]\nExecStart=/bin/true\nExecReload=/bin/old\n",
                           "[Service]\nExecReload=\nExecReload=/bin/new\nExecStop=\n");
    EXPECT_EQ(settings.exec_reload, (std::vector<std::vector<std::string>>{{"/bin/new"}}))
        << "an empty ExecReload= drops those before it";
    EXPECT_TRUE(settings.exec_stop.empty());
    EXPECT_FALSE(settings.has_exec_stop);

    settings = settings_of("[Service]\nExecStart=/bin/true\n");
    EXPECT_TRUE(settings.exec_reload.empty());
    EXPECT_TRUE(settings.exec_stop.empty());
}

TEST(ServiceSettings, environment_is_unquoted_in_order_and_resets) {
    ServiceSettings settings =
        settings_of("[Service]\nExecStart=/bin/true\n"
                    "Environment=APACHE_STARTED_BY_SYSTEMD=true\n"
                    "Environment=\"A=one two\" B=x\\sy 'C=it''s'\n",
                    "[Service]\nEnvironment=A=three\n");
    EXPECT_EQ(settings.environment,
              (std::vector<std::string>{"APACHE_STARTED_BY_SYSTEMD=true", "A=one two", "B=x y",
                                        "C=its", "A=three"}));
    EXPECT_NE(settings.sources.at("Environment").find("override.conf:2"), std::string::npos);

    settings = settings_of("[Service]\nExecStart=/bin/true\nEnvironment=A=1\n",
                           "[Service]\nEnvironment=\nEnvironment=B=2\n");
    EXPECT_EQ(settings.environment, std::vector<std::string>{"B=2"});

    EXPECT_TRUE(settings_of("[Service]\nExecStart=/bin/true\n").environment.empty());
}

TEST(ServiceSettings, environment_files_keep_their_optional_mark) {
    const ServiceSettings settings =
        settings_of("[Service]\nExecStart=/bin/true\nEnvironmentFile=/etc/default/web\n"
                    "EnvironmentFile=-/etc/sysconfig/web\n");
    ASSERT_EQ(settings.environment_files.size(), 2u);
    EXPECT_EQ(settings.environment_files[0].path, "/etc/default/web");
    EXPECT_FALSE(settings.environment_files[0].may_be_missing);
    EXPECT_EQ(settings.environment_files[1].path, "/etc/sysconfig/web");
    EXPECT_TRUE(settings.environment_files[1].may_be_missing);
    EXPECT_EQ(settings.environment_files[1].source.substr(
                  settings.environment_files[1].source.rfind(':')),
              ":4");
}

TEST(ServiceSettings, type_is_inferred_as_systemd_does) {
    EXPECT_EQ(settings_of("[Service]\nExecStart=/bin/true\n").type, "simple");
    EXPECT_EQ(settings_of("[Service]\nExecStart=/bin/true\nBusName=org.example.Web\n").type,
              "dbus");
    EXPECT_EQ(settings_of("[Service]\nExecStop=/bin/true\nRemainAfterExit=yes\n").type, "oneshot");
}

struct BadValueCase {
    std::string name;
    std::string dropin;
    int line;
    std::string message; // what follows "file:line: "
};

[[maybe_unused]] void PrintTo(const BadValueCase& c, std::ostream* out) {
    *out << c.name;
}

class BadValue : public testing::TestWithParam<BadValueCase> {};

TEST_P(BadValue, is_an_error_naming_the_assignment) {
    const BadValueCase& c = GetParam();
    TempDir dir;
    const fs::path unit = dir.write("web.service", "[Service]\nExecStart=/bin/true\n");
    const fs::path dropin = dir.write("override.conf", c.dropin);
    try {
        service_settings(UnitFile::load(unit, {dropin}));
        FAIL() << "expected an InputError for " << c.dropin;
    } catch (const InputError& err) {
        EXPECT_EQ(std::string(err.what()),
                  dropin.string() + ":" + std::to_string(c.line) + ": " + c.message);
    }
}

INSTANTIATE_TEST_SUITE_P(
    service, BadValue,
    testing::Values(
        BadValueCase{"restart", "[Service]\n# typo\nRestart=on-falure\n", 3,
                     "expected a Restart= value (no, always, on-success, on-failure, on-abnormal, "
                     "on-abort, on-watchdog), got 'on-falure'"},
        BadValueCase{"restart_sec", "[Service]\nRestartSec=5 parsecs\n", 2,
                     "expected a time span such as '100ms', '5s' or '1min 30s' in RestartSec=, "
                     "got '5 parsecs'"},
        BadValueCase{"timeout", "[Service]\nTimeoutSec=soon\n", 2,
                     "expected a time span such as '100ms', '5s' or '1min 30s' in TimeoutSec=, "
                     "got 'soon'"},
        BadValueCase{"type", "[Service]\nType=notify-reload\n", 2,
                     "expected a Type= of systemd 252 (simple, exec, forking, oneshot, dbus, "
                     "notify, idle), got 'notify-reload'"},
        BadValueCase{"kill_signal", "[Service]\nKillSignal=SIGWINCHES\n", 2,
                     "expected a signal name such as SIGTERM or a number in KillSignal=, got "
                     "'SIGWINCHES'"},
        BadValueCase{"kill_mode", "[Service]\nKillMode=all\n", 2,
                     "expected a KillMode= (control-group, mixed, process, none), got 'all'"},
        BadValueCase{"start_limit_burst", "[Unit]\nStartLimitBurst=-1\n", 2,
                     "expected a number of starts in StartLimitBurst=, got '-1'"},
        BadValueCase{"exit_status", "[Service]\nSuccessExitStatus=42 256\n", 2,
                     "expected exit codes (0-255, or names such as TEMPFAIL) and signal names "
                     "(such as SIGTERM) in SuccessExitStatus=, got '256'"},
        BadValueCase{"second_exec_start", "[Service]\nExecStart=/bin/second\n", 2,
                     "expected one ExecStart= only (systemd refuses more than one unless "
                     "Type=oneshot; an empty ExecStart= first clears the list), got '/bin/second'"},
        BadValueCase{"environment", "[Service]\nEnvironment=A=1 just-a-word\n", 2,
                     "expected NAME=value assignments in Environment=, got 'just-a-word'"},
        BadValueCase{"environment_quote", "[Service]\nEnvironment=\"A=1\n", 2,
                     "expected an Environment= value with its quotes closed, got '\"A=1'"},
        BadValueCase{"environment_file", "[Service]\nEnvironmentFile=-relative/env\n", 2,
                     "expected an absolute path (with an optional leading '-') in "
                     "EnvironmentFile=, got '-relative/env'"},
        BadValueCase{"exec_reload_prefixes_only", "[Service]\nExecReload=-@\n", 2,
                     "expected a program after the ExecReload= prefixes (- @ : + ! !!), got '-@'"},
        BadValueCase{"oneshot_always", "[Service]\nType=oneshot\nRestart=always\n", 3,
                     "expected a Restart= other than always or on-success on a Type=oneshot "
                     "service (systemd refuses it), got 'always'"}),
    [](const auto& info) { return info.param.name; });

TEST(ServiceSettings, a_service_without_exec_start_is_refused) {
    TempDir dir;
    const fs::path unit = dir.write("web.service", "[Service]\nType=simple\n");
    try {
        service_settings(UnitFile::load(unit, {}));
        FAIL() << "expected an InputError";
    } catch (const InputError& err) {
        EXPECT_EQ(err.file(), unit.string());
        EXPECT_NE(std::string(err.what()).find("expected an ExecStart= in [Service]"),
                  std::string::npos)
            << err.what();
    }
}

} // namespace
} // namespace crashloop
