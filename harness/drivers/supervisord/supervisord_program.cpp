#include "supervisord_program.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>

#include "shell_words.hpp"

namespace crashloop {

// How supervisord 4.2 decides a restart (supervisor/process.py), which the
// mapping below has to fit into:
// - finish() records an exit as "expected" when its status is in exitcodes=.
//   options.py decode_wait_status() makes a signal death status -1, and
//   datatypes.list_of_exitcodes() accepts only 0..255: a signal death is never
//   expected.
// - transition() respawns an EXITED process when autorestart=true, or when
//   autorestart=unexpected and the exit was not expected; never when false.
// - startsecs= makes an exit within that many seconds a failed start, retried
//   (startretries=) whatever autorestart says. startsecs=0 turns that off, so
//   autorestart alone decides, as Restart= alone does in systemd.
// So exit codes map exactly (exitcodes= is the complement of the codes that
// restart), but signal deaths are all-or-nothing: every one restarts under
// autorestart=unexpected or true, none under false. Where systemd restarts
// only some signals (on-failure, on-abnormal, on-abort: the unclean ones;
// on-success: the clean ones), the other signals are known deviations
// (scenarios/expectations/supervisord-4.toml).

std::string_view to_string(AutoRestart value) {
    switch (value) {
    case AutoRestart::never:
        return "false";
    case AutoRestart::unexpected:
        return "unexpected";
    case AutoRestart::always:
        return "true";
    }
    return "false";
}

bool supervisord_restarts(AutoRestart autorestart, bool exit_expected) {
    switch (autorestart) {
    case AutoRestart::never:
        return false;
    case AutoRestart::unexpected:
        return !exit_expected;
    case AutoRestart::always:
        return true;
    }
    return false;
}

std::string supervisord_program_name(const std::string& service) {
    std::string name = service;
    if (name.ends_with(".service")) name.resize(name.size() - std::string(".service").size());
    for (char& c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
        if (!ok) c = '_';
    }
    if (name.empty()) name = "_";
    return name;
}

namespace {

// Every value goes through configparser (inline comments start at " ;" or
// " #"; one line per value) and then supervisord's %(name)s expansion.
std::string config_value(const std::string& value, const std::string& what) {
    if (value.find('\n') != std::string::npos || value.find('\r') != std::string::npos)
        throw ProgramError(what +
                           " holds a newline, which a supervisord config value cannot: " + value);
    for (const char* comment : {" ;", " #", "\t;", "\t#"})
        if (value.find(comment) != std::string::npos)
            throw ProgramError(what + " holds '" + std::string(comment).substr(1) +
                               "' after a blank, which supervisord reads as a comment: " + value);
    std::string out;
    for (char c : value) {
        if (c == '%')
            out += "%%";
        else
            out += c;
    }
    return out;
}

// environment= is read by datatypes.dict_of_key_value_pairs(): a non-POSIX
// shlex that keeps quotes in the token and strips them after; no escapes.
std::string environment_value(const std::vector<std::string>& environment) {
    std::string out;
    for (const auto& entry : environment) {
        const auto eq = entry.find('=');
        if (eq == std::string::npos || eq == 0)
            throw ProgramError("Environment= entry is not NAME=value: " + entry);
        const std::string key = entry.substr(0, eq);
        const std::string value = entry.substr(eq + 1);
        if (!std::all_of(key.begin(), key.end(), [](char c) {
                return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '_';
            }))
            throw ProgramError("Environment= name supervisord cannot carry: " + key);
        char quote = '"';
        if (value.find('"') != std::string::npos) quote = '\'';
        if (value.find(quote) != std::string::npos)
            throw ProgramError(
                "Environment= value holds both quote characters, which supervisord cannot carry: " +
                entry);
        out += (out.empty() ? "" : ",") + key + "=" + quote + value + quote;
    }
    return out;
}

std::string codes_text(const std::set<int>& codes) {
    std::string out;
    for (int code : codes)
        out += (out.empty() ? "" : ",") + std::to_string(code);
    return out;
}

std::set<int> all_codes() {
    std::set<int> all;
    for (int code = 0; code <= 255; ++code)
        all.insert(code);
    return all;
}

std::set<int> valid_codes(const std::set<int>& codes) {
    std::set<int> out;
    for (int code : codes)
        if (code >= 0 && code <= 255) out.insert(code);
    return out;
}

// The exit codes systemd restarts for this Restart= value (Table 2, exit codes
// only), after RestartForceExitStatus= (added) and RestartPreventExitStatus=
// (removed: prevention wins, as in service_shall_restart()).
std::set<int> restarting_codes(RestartValue value, const RestartRules& rules) {
    std::set<int> success = valid_codes(rules.success_exit_status.codes);
    success.insert(0);
    std::set<int> codes;
    switch (value) {
    case RestartValue::always:
        codes = all_codes();
        break;
    case RestartValue::on_success:
        codes = success;
        break;
    case RestartValue::on_failure:
        for (int code : all_codes())
            if (!success.contains(code)) codes.insert(code);
        break;
    case RestartValue::no:
    case RestartValue::on_abnormal: // exit codes never restart these three:
    case RestartValue::on_abort:    // only signals (and timeouts, watchdog)
    case RestartValue::on_watchdog:
        break;
    }
    for (int code : valid_codes(rules.restart_force_exit_status.codes))
        codes.insert(code);
    for (int code : rules.restart_prevent_exit_status.codes)
        codes.erase(code);
    return codes;
}

} // namespace

SupervisordProgram supervisord_program(const ServiceSpec& spec,
                                       const std::filesystem::path& output_log) {
    if (spec.exec_start.empty()) throw ProgramError(spec.name + ": no ExecStart=");
    SupervisordProgram program;
    program.name = supervisord_program_name(spec.name);

    std::set<int> success = valid_codes(spec.rules.success_exit_status.codes);
    success.insert(0);
    const std::set<int> restarting = restarting_codes(spec.restart, spec.rules);
    // Does systemd restart any signal death here? Only then may signals
    // restart in supervisord, and then all of them do.
    const bool some_signal_restarts =
        spec.restart != RestartValue::no && spec.restart != RestartValue::on_watchdog;
    const bool forced_signal = !spec.rules.restart_force_exit_status.signals.empty();

    if (restarting.size() == 256) {
        // Restart=always (no RestartPreventExitStatus= codes): everything restarts.
        program.autorestart = AutoRestart::always;
        program.exitcodes = success; // only says "expected" (inactive) or not (failed)
    } else if (restarting.empty() && !some_signal_restarts && !forced_signal) {
        // Restart=no and on-watchdog (supervisord has no watchdog): nothing
        // restarts unless RestartForceExitStatus= says so.
        program.autorestart = AutoRestart::never;
        program.exitcodes = success;
    } else {
        // The rest: the exit codes that restart are exactly the unexpected
        // ones. on-abnormal and on-abort get every code as expected, so only
        // signal deaths restart them; Restart=no with RestartForceExitStatus=
        // signals restarts every signal death (the nearest supervisord has).
        program.autorestart = AutoRestart::unexpected;
        for (int code : all_codes())
            if (!restarting.contains(code)) program.exitcodes.insert(code);
    }

    std::string command;
    for (const auto& word : spec.exec_start)
        command += (command.empty() ? "" : " ") + shell_quote(word);

    const int stop_signal = spec.kill_signal != 0 ? spec.kill_signal : SIGTERM;
    const std::string stop_signal_name = signal_name(stop_signal);
    if (stop_signal_name.empty())
        throw ProgramError(spec.name + ": KillSignal=" + std::to_string(stop_signal) +
                           " has no name supervisord knows");
    // stopwaitsecs= is whole seconds; round TimeoutStopSec= up.
    const auto stop_seconds =
        std::max<long long>(1, std::chrono::ceil<std::chrono::seconds>(spec.timeout_stop).count());
    // KillMode=control-group (the default) and mixed kill the whole process
    // group on the final SIGKILL; only control-group stops it as a group too.
    const bool stop_as_group = spec.kill_mode.empty() || spec.kill_mode == "control-group";
    const bool kill_as_group = stop_as_group || spec.kill_mode == "mixed";

    std::string description = spec.description;
    std::replace(description.begin(), description.end(), '\n', ' ');
    std::replace(description.begin(), description.end(), '\r', ' ');

    std::string& s = program.section;
    s += "; " + spec.name + ": " + description + "\n";
    s += "; Restart=" + std::string(to_string(spec.restart)) + "\n";
    s += "[program:" + program.name + "]\n";
    s += "command=" + config_value(command, "ExecStart=") + "\n";
    s += "autostart=true\n";
    s += "autorestart=" + std::string(to_string(program.autorestart)) + "\n";
    s += "exitcodes=" + codes_text(program.exitcodes) + "\n";
    // Any exit is judged by autorestart alone (see above), not as a failed start.
    s += "startsecs=0\n";
    // With startsecs=0 only a spawn error (exec failing) is a failed start;
    // StartLimitBurst= is the nearest systemd has to how often to retry it.
    s += "startretries=" + std::to_string(spec.start_limit_burst.value_or(5)) + "\n";
    s += "stopsignal=" + stop_signal_name.substr(3) + "\n";
    s += "stopwaitsecs=" + std::to_string(stop_seconds) + "\n";
    s += std::string("stopasgroup=") + (stop_as_group ? "true" : "false") + "\n";
    s += std::string("killasgroup=") + (kill_as_group ? "true" : "false") + "\n";
    s += "redirect_stderr=true\n";
    s += "stdout_logfile=" + config_value(output_log.string(), "the output log") + "\n";
    s += "stdout_logfile_maxbytes=0\n";
    s += "stdout_logfile_backups=0\n";
    if (!spec.environment.empty())
        s += "environment=" + config_value(environment_value(spec.environment), "Environment=") +
             "\n";
    return program;
}

std::string supervisord_words(const std::string& statename, const std::string& spawnerr,
                              const std::string& description) {
    // Only a process supervisord could not keep up has a reason: its
    // description is then the spawn error (rpcinterface.py
    // _interpretProcessInfo); other descriptions are an uptime or a date.
    if (statename != "FATAL" && statename != "BACKOFF") return statename;
    const std::string& why = !spawnerr.empty() ? spawnerr : description;
    return why.empty() ? statename : statename + ": " + why;
}

} // namespace crashloop
