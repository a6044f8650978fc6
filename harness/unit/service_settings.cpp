#include "service_settings.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <utility>

#include "errors.hpp"
#include "unit_file.hpp"

namespace crashloop {

namespace {

using std::chrono::microseconds;

constexpr std::string_view whitespace = " \t\n\r";

// The vocabulary of systemd 252 (service_type_table, kill_mode_table).
constexpr std::array<std::string_view, 7> service_types = {"simple", "exec",   "forking", "oneshot",
                                                           "dbus",   "notify", "idle"};
constexpr std::array<std::string_view, 4> kill_modes = {"control-group", "mixed", "process",
                                                        "none"};

// The exit status names systemd accepts in SuccessExitStatus= and friends, as
// `systemd-analyze exit-status` lists them (src/basic/exit-status.c).
constexpr std::array<std::pair<std::string_view, int>, 66> exit_status_names = {{
    {"SUCCESS", 0},
    {"FAILURE", 1},
    {"INVALIDARGUMENT", 2},
    {"NOTIMPLEMENTED", 3},
    {"NOPERMISSION", 4},
    {"NOTINSTALLED", 5},
    {"NOTCONFIGURED", 6},
    {"NOTRUNNING", 7},
    {"USAGE", 64},
    {"DATAERR", 65},
    {"NOINPUT", 66},
    {"NOUSER", 67},
    {"NOHOST", 68},
    {"UNAVAILABLE", 69},
    {"SOFTWARE", 70},
    {"OSERR", 71},
    {"OSFILE", 72},
    {"CANTCREAT", 73},
    {"IOERR", 74},
    {"TEMPFAIL", 75},
    {"PROTOCOL", 76},
    {"NOPERM", 77},
    {"CONFIG", 78},
    {"CHDIR", 200},
    {"NICE", 201},
    {"FDS", 202},
    {"EXEC", 203},
    {"MEMORY", 204},
    {"LIMITS", 205},
    {"OOM_ADJUST", 206},
    {"SIGNAL_MASK", 207},
    {"STDIN", 208},
    {"STDOUT", 209},
    {"CHROOT", 210},
    {"IOPRIO", 211},
    {"TIMERSLACK", 212},
    {"SECUREBITS", 213},
    {"SETSCHEDULER", 214},
    {"CPUAFFINITY", 215},
    {"GROUP", 216},
    {"USER", 217},
    {"CAPABILITIES", 218},
    {"CGROUP", 219},
    {"SETSID", 220},
    {"CONFIRM", 221},
    {"STDERR", 222},
    {"PAM", 224},
    {"NETWORK", 225},
    {"NAMESPACE", 226},
    {"NO_NEW_PRIVILEGES", 227},
    {"SECCOMP", 228},
    {"SELINUX_CONTEXT", 229},
    {"PERSONALITY", 230},
    {"APPARMOR", 231},
    {"ADDRESS_FAMILIES", 232},
    {"RUNTIME_DIRECTORY", 233},
    {"CHOWN", 235},
    {"SMACK_PROCESS_LABEL", 236},
    {"KEYRING", 237},
    {"STATE_DIRECTORY", 238},
    {"CACHE_DIRECTORY", 239},
    {"LOGS_DIRECTORY", 240},
    {"CONFIGURATION_DIRECTORY", 241},
    {"NUMA_POLICY", 242},
    {"CREDENTIALS", 243},
    {"BPF", 244},
}};

// parse_time()'s unit table, in its order: the first prefix that matches wins,
// so "ms" is read before "m" and "min" before "months".
constexpr std::uint64_t usec_per_sec = 1000000;
constexpr std::array<std::pair<std::string_view, std::uint64_t>, 30> time_units = {{
    {"seconds", usec_per_sec},
    {"second", usec_per_sec},
    {"sec", usec_per_sec},
    {"s", usec_per_sec},
    {"minutes", 60 * usec_per_sec},
    {"minute", 60 * usec_per_sec},
    {"min", 60 * usec_per_sec},
    {"months", 2629800 * usec_per_sec},
    {"month", 2629800 * usec_per_sec},
    {"M", 2629800 * usec_per_sec},
    {"msec", 1000},
    {"ms", 1000},
    {"m", 60 * usec_per_sec},
    {"hours", 3600 * usec_per_sec},
    {"hour", 3600 * usec_per_sec},
    {"hr", 3600 * usec_per_sec},
    {"h", 3600 * usec_per_sec},
    {"days", 86400 * usec_per_sec},
    {"day", 86400 * usec_per_sec},
    {"d", 86400 * usec_per_sec},
    {"weeks", 604800 * usec_per_sec},
    {"week", 604800 * usec_per_sec},
    {"w", 604800 * usec_per_sec},
    {"years", 31557600 * usec_per_sec},
    {"year", 31557600 * usec_per_sec},
    {"y", 31557600 * usec_per_sec},
    {"usec", 1},
    {"us", 1},
    {"\xCE\xBCs", 1}, // μs, Greek mu
    {"\xC2\xB5s", 1}, // µs, micro sign
}};

constexpr std::string_view timespan_expected = "a time span such as '100ms', '5s' or '1min 30s'";

std::string joined(auto const& names) {
    std::string out;
    for (std::string_view name : names)
        out += (out.empty() ? "" : ", ") + std::string(name);
    return out;
}

[[noreturn]] void refuse(const Assignment& assignment, const std::string& expected) {
    throw InputError(assignment.file, assignment.line,
                     "expected " + expected + ", got '" + assignment.value + "'");
}

std::optional<std::uint64_t> parse_digits(std::string_view text) {
    std::uint64_t value = 0;
    if (text.empty() ||
        !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

// systemd's signal_from_string(): a number, a name with or without "SIG", or
// RTMIN+n / RTMAX-n.
std::optional<int> parse_any_signal(std::string_view text) {
    if (auto number = parse_digits(text)) {
        if (*number >= 1 && *number < static_cast<std::uint64_t>(SIGRTMAX) + 1)
            return static_cast<int>(*number);
        return std::nullopt;
    }
    if (auto signo = parse_signal(text)) return signo;
    if (text.starts_with("SIG")) text.remove_prefix(3);
    using Base = std::pair<std::string_view, int>;
    for (auto [base, sign] : {Base{"RTMIN", 1}, Base{"RTMAX", -1}}) {
        if (!text.starts_with(base)) continue;
        std::string_view rest = text.substr(base.size());
        if (rest.empty()) return sign > 0 ? SIGRTMIN : SIGRTMAX;
        if (rest.front() != (sign > 0 ? '+' : '-')) return std::nullopt;
        auto offset = parse_digits(rest.substr(1));
        if (!offset || *offset > static_cast<std::uint64_t>(SIGRTMAX - SIGRTMIN))
            return std::nullopt;
        return (sign > 0 ? SIGRTMIN : SIGRTMAX) + sign * static_cast<int>(*offset);
    }
    return std::nullopt;
}

// config_parse_set_status(): each word is an exit status (a name or 0-255)
// first, a signal otherwise.
void add_exit_statuses(ExitStatusSet& set, const Assignment& assignment, std::string_view key) {
    std::string_view rest = assignment.value;
    while (true) {
        const auto start = rest.find_first_not_of(whitespace);
        if (start == std::string_view::npos) break;
        rest.remove_prefix(start);
        const std::string_view word = rest.substr(0, rest.find_first_of(whitespace));
        rest.remove_prefix(word.size());

        const auto* named = std::find_if(exit_status_names.begin(), exit_status_names.end(),
                                         [&](const auto& entry) { return entry.first == word; });
        if (named != exit_status_names.end()) {
            set.codes.insert(named->second);
        } else if (auto code = parse_digits(word); code && *code <= 255) {
            set.codes.insert(static_cast<int>(*code));
        } else if (auto signo = parse_any_signal(word); signo && !code) {
            set.signals.insert(*signo);
        } else {
            throw InputError(assignment.file, assignment.line,
                             "expected exit codes (0-255, or names such as TEMPFAIL) and signal "
                             "names (such as SIGTERM) in " +
                                 std::string(key) + "=, got '" + std::string(word) + "'");
        }
    }
}

// The C escapes of systemd.syntax(7), "Quoting".
std::optional<char> unescape(std::string_view text, std::size_t& i) {
    if (i >= text.size()) return std::nullopt;
    const char c = text[i++];
    switch (c) {
    case 'a':
        return '\a';
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    case 'v':
        return '\v';
    case 's':
        return ' ';
    case 'x': {
        unsigned value = 0;
        auto [end, ec] =
            std::from_chars(text.data() + i, text.data() + std::min(i + 2, text.size()), value, 16);
        if (ec != std::errc{} || end != text.data() + i + 2) return std::nullopt;
        i += 2;
        return static_cast<char>(value);
    }
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7': {
        unsigned value = 0;
        auto [end, ec] = std::from_chars(text.data() + i - 1,
                                         text.data() + std::min(i + 2, text.size()), value, 8);
        if (ec != std::errc{} || end != text.data() + i + 2 || value > 255) return std::nullopt;
        i += 2;
        return static_cast<char>(value);
    }
    default:
        return c; // \\ \" \' \; and the like
    }
}

// The words of a value, as systemd's extract_first_word() with
// EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE splits them: at whitespace, quotes and C
// escapes removed. `separators` marks each word that was a lone, unquoted ';'.
std::vector<std::string> split_words(const Assignment& assignment, std::string_view what,
                                     std::vector<bool>* separators) {
    const std::string_view text = assignment.value;
    std::vector<std::string> words;
    std::size_t start = 0;
    while ((start = text.find_first_not_of(whitespace, start)) != std::string_view::npos) {
        std::string word;
        char quote = 0;
        std::size_t end = start;
        while (end < text.size()) {
            const char c = text[end];
            if (quote == 0 && whitespace.find(c) != std::string_view::npos) break;
            ++end;
            if (c == '\\') {
                auto escaped = unescape(text, end);
                if (!escaped) refuse(assignment, std::string(what) + " with valid escapes");
                word += *escaped;
            } else if (quote != 0 && c == quote) {
                quote = 0;
            } else if (quote == 0 && (c == '"' || c == '\'')) {
                quote = c;
            } else {
                word += c;
            }
        }
        if (quote != 0) refuse(assignment, std::string(what) + " with its quotes closed");
        if (separators)
            separators->push_back(text.substr(start, end - start) == ";"); // "\\;" is a literal ';'
        words.push_back(std::move(word));
        start = end;
    }
    return words;
}

// The command lines of an ExecStart=, ExecReload= or ExecStop= (config_parse_exec()):
// split at each lone ';', every program losing its prefixes.
std::vector<std::vector<std::string>> split_commands(const Assignment& assignment,
                                                     std::string_view key) {
    std::vector<bool> separators;
    std::vector<std::string> words = split_words(assignment, "a command line", &separators);
    std::vector<std::vector<std::string>> commands(1);
    for (std::size_t i = 0; i < words.size(); ++i) {
        if (separators[i]) {
            if (!commands.back().empty()) commands.emplace_back();
            continue;
        }
        commands.back().push_back(std::move(words[i]));
    }
    if (commands.back().empty()) commands.pop_back();

    for (std::vector<std::string>& command : commands) {
        std::string& program = command.front();
        const std::size_t prefixes = program.find_first_not_of("-@:+!");
        const bool own_argv0 = program.substr(0, prefixes).find('@') != std::string::npos;
        program.erase(0, std::min(prefixes, program.size()));
        if (program.empty())
            refuse(assignment,
                   "a program after the " + std::string(key) + "= prefixes (- @ : + ! !!)");
        if (own_argv0) {
            if (command.size() < 2)
                refuse(assignment, "an argv[0] after the program of an '@' command");
            command.erase(command.begin() + 1);
        }
    }
    return commands;
}

// The first command line of an ExecStart=.
std::vector<std::string> split_command(const Assignment& assignment) {
    auto commands = split_commands(assignment, "ExecStart");
    return commands.empty() ? std::vector<std::string>{} : std::move(commands.front());
}

// config_parse_environ(): "NAME=value" words; systemd drops a word without a
// name and '=' with a warning, which would run the daemon without it, so here it is refused.
void add_environment(std::vector<std::string>& environment, const Assignment& assignment) {
    for (std::string& word : split_words(assignment, "an Environment= value", nullptr)) {
        const std::size_t equals = word.find('=');
        if (equals == std::string::npos || equals == 0)
            throw InputError(assignment.file, assignment.line,
                             "expected NAME=value assignments in Environment=, got '" + word + "'");
        environment.push_back(std::move(word));
    }
}

bool parse_boolean(const Assignment& assignment, std::string_view key) {
    std::string value = assignment.value;
    std::transform(value.begin(), value.end(), value.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (std::string_view yes : {"1", "yes", "y", "true", "t", "on"})
        if (value == yes) return true;
    for (std::string_view no : {"0", "no", "n", "false", "f", "off"})
        if (value == no) return false;
    refuse(assignment,
           "a boolean (yes, no, true, false, on, off, 1, 0) in " + std::string(key) + "=");
}

microseconds timespan(const Assignment& assignment, std::string_view key) {
    auto value = parse_timespan(assignment.value);
    if (!value)
        refuse(assignment, std::string(timespan_expected) + " in " + std::string(key) + "=");
    return *value;
}

// parse_sec_fix_0(): for the start and stop timeouts, 0 has always meant "off".
microseconds timeout(const Assignment& assignment, std::string_view key) {
    const microseconds value = timespan(assignment, key);
    return value == microseconds::zero() ? infinite_time : value;
}

// Applies, in the order systemd reads them, every assignment of any of the
// given keys: for settings that several keys (or sections) write.
template <class Apply>
void in_order(const UnitFile& unit,
              std::initializer_list<std::pair<std::string_view, std::string_view>> keys,
              Apply apply) {
    for (const UnitFile::Entry& entry : unit.entries())
        for (auto [section, key] : keys)
            if (entry.section == section && entry.key == key) apply(entry);
}

} // namespace

// systemd's parse_sec() (src/basic/time-util.c, parse_time()).
std::optional<microseconds> parse_timespan(std::string_view text) {
    constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    auto skip_space = [](std::string_view s) {
        const auto first = s.find_first_not_of(whitespace);
        return first == std::string_view::npos ? std::string_view{} : s.substr(first);
    };
    std::string_view p = skip_space(text);
    if (p.starts_with("infinity")) {
        if (!skip_space(p.substr(8)).empty()) return std::nullopt;
        return infinite_time;
    }

    std::uint64_t total = 0;
    bool something = false;
    while (true) {
        p = skip_space(p);
        if (p.empty()) break;
        if (p.front() == '-') return std::nullopt;
        if (p.front() == '+') p.remove_prefix(1);

        const std::size_t digits = std::min(p.find_first_not_of("0123456789"), p.size());
        const std::string_view whole = p.substr(0, digits);
        p.remove_prefix(digits);
        std::string_view fraction;
        const bool has_fraction = !p.empty() && p.front() == '.';
        if (has_fraction) {
            p.remove_prefix(1);
            fraction = p.substr(0, std::min(p.find_first_not_of("0123456789"), p.size()));
            p.remove_prefix(fraction.size());
            if (fraction.empty()) return std::nullopt; // "3.", "3.s"
        } else if (whole.empty()) {
            return std::nullopt;
        }

        std::uint64_t multiplier = usec_per_sec; // a bare number is seconds
        const std::string_view unit_text = skip_space(p);
        bool found_unit = false;
        for (auto [suffix, usec] : time_units) {
            if (unit_text.starts_with(suffix)) {
                multiplier = usec;
                p = unit_text.substr(suffix.size());
                found_unit = true;
                break;
            }
        }
        // "5x" and "1.5.5" are refused; "5 5" is two spans, added up.
        if (!found_unit && !p.empty() && unit_text.size() == p.size()) return std::nullopt;

        std::uint64_t count = 0;
        if (!whole.empty()) {
            auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), count);
            if (ec != std::errc{}) return std::nullopt;
        }
        if (count != 0 && count > (max - total) / multiplier) return std::nullopt;
        total += count * multiplier;
        std::uint64_t scale = multiplier / 10;
        for (char digit : fraction) {
            total += static_cast<std::uint64_t>(digit - '0') * scale;
            scale /= 10;
        }
        if (total > max) return std::nullopt;
        something = true;
    }
    if (!something) return std::nullopt;
    return microseconds(static_cast<std::int64_t>(total));
}

namespace {

void note(ServiceSettings& settings, const std::string& key, const Assignment& assignment) {
    settings.sources[key] = where(assignment);
}

// Type=, or what systemd infers without one (service_add_extras()).
void read_type(const UnitFile& unit, ServiceSettings& settings) {
    const bool has_exec_start = !unit.list("Service", "ExecStart").empty();
    if (auto type = unit.last("Service", "Type")) {
        if (std::find(service_types.begin(), service_types.end(), type->value) ==
            service_types.end())
            refuse(*type, "a Type= of systemd 252 (" + joined(service_types) + ")");
        settings.type = type->value;
        note(settings, "Type", *type);
    } else if (unit.last("Service", "BusName")) {
        settings.type = "dbus"; // service_add_extras(): no Type= and a BusName= is dbus
    } else if (!has_exec_start) {
        settings.type = "oneshot"; // … and no ExecStart= either is oneshot
    }
}

void read_restart(const UnitFile& unit, ServiceSettings& settings) {
    if (auto restart = unit.last("Service", "Restart")) {
        auto value = parse_restart_value(restart->value);
        if (!value) {
            std::vector<std::string_view> names;
            names.reserve(all_restart_values.size());
            for (RestartValue known : all_restart_values)
                names.push_back(to_string(known));
            refuse(*restart, "a Restart= value (" + joined(names) + ")");
        }
        settings.restart = *value;
        note(settings, "Restart", *restart);
    }

    if (auto restart_sec = unit.last("Service", "RestartSec")) {
        settings.restart_sec = timespan(*restart_sec, "RestartSec");
        note(settings, "RestartSec", *restart_sec);
    }
}

void read_timeouts(const UnitFile& unit, ServiceSettings& settings) {
    // TimeoutSec= writes both timeouts, so whichever of the three comes last wins.
    in_order(
        unit,
        {{"Service", "TimeoutSec"}, {"Service", "TimeoutStartSec"}, {"Service", "TimeoutStopSec"}},
        [&](const UnitFile::Entry& entry) {
            std::optional<microseconds> value; // an empty assignment: the manager's default
            if (!entry.assignment.value.empty()) value = timeout(entry.assignment, entry.key);
            auto set = [&](std::optional<microseconds>& target, const std::string& name) {
                target = value;
                if (value)
                    note(settings, name, entry.assignment);
                else
                    settings.sources.erase(name);
            };
            if (entry.key != "TimeoutStopSec") set(settings.timeout_start, "TimeoutStartSec");
            if (entry.key != "TimeoutStartSec") set(settings.timeout_stop, "TimeoutStopSec");
        });

    if (auto watchdog = unit.last("Service", "WatchdogSec")) {
        const microseconds value = timespan(*watchdog, "WatchdogSec");
        if (value != microseconds::zero()) settings.watchdog = value; // 0 turns it off
        note(settings, "WatchdogSec", *watchdog);
    }
}

void read_start_limit(const UnitFile& unit, ServiceSettings& settings) {
    // The rate limit lives in [Unit]; [Service] StartLimitInterval= and
    // StartLimitBurst= are its older spellings, still read by systemd 252.
    in_order(unit,
             {{"Unit", "StartLimitIntervalSec"},
              {"Unit", "StartLimitInterval"},
              {"Service", "StartLimitInterval"}},
             [&](const UnitFile::Entry& entry) {
                 if (entry.assignment.value.empty()) {
                     settings.start_limit_interval.reset();
                     settings.sources.erase("StartLimitIntervalSec");
                     return;
                 }
                 settings.start_limit_interval = timespan(entry.assignment, entry.key);
                 note(settings, "StartLimitIntervalSec", entry.assignment);
             });
    in_order(unit, {{"Unit", "StartLimitBurst"}, {"Service", "StartLimitBurst"}},
             [&](const UnitFile::Entry& entry) {
                 if (entry.assignment.value.empty()) {
                     settings.start_limit_burst.reset();
                     settings.sources.erase("StartLimitBurst");
                     return;
                 }
                 auto burst = parse_digits(entry.assignment.value);
                 if (!burst || *burst > std::numeric_limits<unsigned>::max())
                     refuse(entry.assignment, "a number of starts in StartLimitBurst=");
                 settings.start_limit_burst = static_cast<unsigned>(*burst);
                 note(settings, "StartLimitBurst", entry.assignment);
             });
}

void read_kill(const UnitFile& unit, ServiceSettings& settings) {
    if (auto kill_signal = unit.last("Service", "KillSignal")) {
        auto signo = parse_any_signal(kill_signal->value);
        if (!signo)
            refuse(*kill_signal, "a signal name such as SIGTERM or a number in KillSignal=");
        settings.kill_signal = *signo;
        note(settings, "KillSignal", *kill_signal);
    }

    if (auto kill_mode = unit.last("Service", "KillMode")) {
        if (std::find(kill_modes.begin(), kill_modes.end(), kill_mode->value) == kill_modes.end())
            refuse(*kill_mode, "a KillMode= (" + joined(kill_modes) + ")");
        settings.kill_mode = kill_mode->value;
        note(settings, "KillMode", *kill_mode);
    }
}

// ExecStart=, ExecReload=, ExecStop= and PIDFile=.
void read_commands(const UnitFile& unit, ServiceSettings& settings) {
    for (const Assignment& reload : unit.list("Service", "ExecReload"))
        for (auto& command : split_commands(reload, "ExecReload"))
            settings.exec_reload.push_back(std::move(command));
    if (auto reload = unit.last("Service", "ExecReload")) {
        settings.has_exec_reload = true;
        note(settings, "ExecReload", *reload);
    }
    for (const Assignment& stop : unit.list("Service", "ExecStop"))
        for (auto& command : split_commands(stop, "ExecStop"))
            settings.exec_stop.push_back(std::move(command));
    if (auto exec_stop = unit.last("Service", "ExecStop")) {
        settings.has_exec_stop = true;
        note(settings, "ExecStop", *exec_stop);
    }

    if (const auto exec_start = unit.list("Service", "ExecStart"); !exec_start.empty()) {
        settings.exec_start = split_command(exec_start.front());
        note(settings, "ExecStart", exec_start.front());
    }
    if (auto pid_file = unit.last("Service", "PIDFile")) {
        settings.pid_file = pid_file->value;
        note(settings, "PIDFile", *pid_file);
    }
}

void read_environment(const UnitFile& unit, ServiceSettings& settings) {
    for (const Assignment& assignment : unit.list("Service", "Environment")) {
        add_environment(settings.environment, assignment);
        note(settings, "Environment", assignment);
    }
    for (const Assignment& assignment : unit.list("Service", "EnvironmentFile")) {
        ServiceSettings::EnvironmentFile file;
        file.may_be_missing = assignment.value.starts_with('-');
        file.path = assignment.value.substr(file.may_be_missing ? 1 : 0);
        if (file.path.empty() || file.path.front() != '/')
            refuse(assignment,
                   "an absolute path (with an optional leading '-') in EnvironmentFile=");
        file.source = where(assignment);
        settings.environment_files.push_back(std::move(file));
        note(settings, "EnvironmentFile", assignment);
    }
}

void read_exit_status_rules(const UnitFile& unit, ServiceSettings& settings) {
    using StatusKey = std::pair<std::string_view, ExitStatusSet*>;
    for (auto [key, set] :
         {StatusKey{"SuccessExitStatus", &settings.rules.success_exit_status},
          StatusKey{"RestartPreventExitStatus", &settings.rules.restart_prevent_exit_status},
          StatusKey{"RestartForceExitStatus", &settings.rules.restart_force_exit_status}}) {
        for (const Assignment& assignment : unit.list("Service", key)) {
            add_exit_statuses(*set, assignment, key);
            note(settings, std::string(key), assignment);
        }
    }
}

void verify_loadable(const UnitFile& unit, const ServiceSettings& settings) {
    // What service_verify() refuses to load (src/core/service.c, systemd 252).
    const std::optional<Assignment> success_action = unit.last("Unit", "SuccessAction");
    const bool has_success_action = success_action && success_action->value != "none";
    const std::string& unit_path = unit.files().front();
    const std::vector<Assignment> exec_start = unit.list("Service", "ExecStart");
    const std::optional<Assignment> exec_stop = unit.last("Service", "ExecStop");
    if (exec_start.empty()) {
        if (settings.type != "oneshot")
            throw InputError(unit_path, 0,
                             "expected an ExecStart= in [Service] (systemd refuses a Type=" +
                                 settings.type + " service without one), got none");
        const std::optional<Assignment> remain = unit.last("Service", "RemainAfterExit");
        const bool remains = remain && parse_boolean(*remain, "RemainAfterExit");
        if (!has_success_action && (!exec_stop || !remains))
            throw InputError(unit_path, 0,
                             "expected an ExecStart= in [Service], or ExecStop= with "
                             "RemainAfterExit=yes, or SuccessAction= (systemd refuses the "
                             "service otherwise), got none");
    }
    if (exec_start.size() > 1 && settings.type != "oneshot")
        refuse(exec_start[1], "one ExecStart= only (systemd refuses more than one unless "
                              "Type=oneshot; an empty ExecStart= first clears the list)");
    if (settings.type == "oneshot" &&
        (settings.restart == RestartValue::always || settings.restart == RestartValue::on_success))
        refuse(*unit.last("Service", "Restart"),
               "a Restart= other than always or on-success on a Type=oneshot service (systemd "
               "refuses it)");
    if (settings.type == "dbus" && !unit.last("Service", "BusName"))
        refuse(*unit.last("Service", "Type"),
               "a BusName= with Type=dbus (systemd refuses the service without one)");
}

} // namespace

ServiceSettings service_settings(const UnitFile& unit) {
    ServiceSettings settings;
    settings.unit_name = unit.name();
    read_type(unit, settings);
    read_restart(unit, settings);
    read_timeouts(unit, settings);
    read_start_limit(unit, settings);
    read_kill(unit, settings);
    read_commands(unit, settings);
    read_environment(unit, settings);
    read_exit_status_rules(unit, settings);
    verify_loadable(unit, settings);
    return settings;
}

std::string span_in_words(std::chrono::microseconds span) {
    if (span == infinite_time) return "infinity";
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(span).count();
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
    return std::to_string(ms) + " ms";
}

} // namespace crashloop
