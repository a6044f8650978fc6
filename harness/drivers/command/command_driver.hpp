#pragma once
// The engine behind every supervisor driven by command lines: `systemctl:PATH`
// (systemctl_driver.cpp: its templates) and `exec:FILE` (exec_driver.cpp: the
// templates read from a TOML file). A driver here is a CommandSet: one
// /bin/sh -c template per operation, with placeholders that are substituted
// shell-quoted:
//
//   {name}        the service's name               crashloop-on-failure-sigabrt.service
//   {unit_file}   its unit file, written by us     <unit_dir>/<name>
//   {unit_dir}    the folder of unit files         (also exported as $SYSTEMD_UNIT_PATH)
//   {events_dir}  where the fake httpd logs         the services' --events folder
//   {signal}      kill only: the signal's name      SIGABRT
//   {names}       state: every name asked; up: every service the run may make; as separate words
//   {run_dir}     a private folder for the supervisor's own files, removed with the run
//
// and, for a supervisor that does not read unit files, the service's settings
// (install, start, stop, reload, kill; as given to its last start):
//
//   {exec_start} {exec_reload} {exec_stop}   the command lines, as separate words
//   {environment}                            Environment=, "NAME=value" words
//   {type} {restart} {pid_file}              Type=, Restart=, PIDFile=
//   {restart_sec}                            RestartSec= in seconds ("0.1")
//   {success_exit_status} {restart_prevent_exit_status} {restart_force_exit_status}
//                                            exit codes and signal names, as separate words
//
// Substituted before the shell reads the template, they are shell-quoted even
// inside a quoted here-document: a script written from one runs as written.
// An exec file's own folder is $CRASHLOOP_EXEC_DIR, for helper scripts kept beside it.
//
// `$VAR` and `${VAR}` are the shell's, not placeholders. Every command runs
// inside the run's Jail (jail.hpp), so whatever it starts dies with the run.
//
// How the engine keeps the Supervisor contract (supervisor.hpp):
// - start writes the unit file (unit_file_writer.hpp), runs `install` once (if
//   any), then `start`; every command is a child process watched through its
//   pidfd and pipes, never waited for in a blocking call, and each Done runs
//   from wait() once the command has exited: a non-zero status is an error
//   carrying the command's stderr.
// - stop and reload each answer with a job of their own, which ends (through
//   on_job_done) when the command exits: "done" on status 0. A reload command
//   that fails ends its job "failed" (the command ran: the reload was tried,
//   whatever killed it); a stop command that fails is an error of the call.
// - `state` prints systemctl-show blocks (key=value lines, one block per
//   name, in order, blank lines between); state() runs it afresh after the call,
//   which makes its answer a confirmed read.
// - Command-line supervisors announce nothing, so wait() polls `state` for
//   every started service every kPollInterval (one run at a time: under load
//   the interval stretches to how long a run takes) and calls on_change for
//   the ones that changed, and again for each one still running: without
//   readiness notification, "running" comes a moment before the service is up,
//   and nothing else would say when it is.
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor.hpp"

namespace crashloop {

// How often wait() reads the state of the services it runs. A supervisor
// shows how a process ended only between the exit and the restart
// (RestartSec=, 100 ms by default): a quarter of that catches it.
inline constexpr std::chrono::milliseconds kPollInterval{25};

struct CommandSet {
    std::string name;    // name(): picks the expectation file
    std::string version; // its first line of output is version()
    std::string install; // optional: run once per service before its first start
    std::string up;      // optional: once, before the first service, with {names} of them all
    std::string down;    // optional: once, at the end of the run
    std::string start, stop, reload, kill, state;
    // Why cells are n/a: by cause id, by Restart= value, or one cell ("no/restart-force").
    std::map<std::string, std::string> not_supported;
    // A supervisor that shows no restart still to come: how long after a death its restart
    // may take, beyond the service's RestartSec= (its poll interval and a margin). nullopt:
    // its state shows a pending restart (systemctl's auto-restart, a queued job).
    std::optional<std::chrono::milliseconds> restart_window;
    // How often to read the state of running services (kPollInterval by default); a `state`
    // that takes longer stretches it (never more than half the time spent polling).
    std::optional<std::chrono::milliseconds> poll_interval;
    // The supervisor's own ActiveState= words → systemd's "active/sub" ("error" →
    // "failed/failed", "backoff" → "activating/auto-restart"); the own word is kept too.
    std::map<std::string, std::string> states;
    std::string source; // "systemctl:/usr/bin/x", "my.toml": where the templates came from
    std::filesystem::path directory; // an exec file's folder ($CRASHLOOP_EXEC_DIR); else empty
};

std::unique_ptr<Supervisor> make_command_driver(CommandSet commands, const DriverContext& context);

// `systemctl:PATH`: the verbs of systemctl(1) on PATH (systemctl_driver.cpp).
CommandSet systemctl_commands(const std::filesystem::path& program);
// `exec:FILE`: the templates of a TOML file (exec_driver.cpp); scenarios names
// the folder whose causes.toml the [not_supported] ids are checked against.
// Throws InputError naming the file and line.
CommandSet load_exec_commands(const std::filesystem::path& file,
                              const std::filesystem::path& scenarios);

// --- the pieces, exposed for tests ---------------------------------------------

// The placeholders a template may use, by operation (see above).
enum class Operation { version, up, install, start, stop, reload, kill, state, down };
std::string_view to_string(Operation operation);
// The placeholder names a template uses that its operation does not know:
// empty when the template is good.
std::vector<std::string> unknown_placeholders(std::string_view templ, Operation operation);
// Why a template's braces are not a placeholder as meant ("{name has no closing brace",
// "{name} is inside a second pair of braces"), or nullopt. The shell's "${VAR}" and
// "{ cmd; }" are fine.
std::optional<std::string> malformed_placeholder(std::string_view templ);
// What the placeholders of one command stand for.
struct Placeholders {
    std::map<std::string, std::string> values;              // each one shell word
    std::map<std::string, std::vector<std::string>> words;  // each as separate shell words
};
// A service's settings as placeholders ({exec_start}, {restart}, … above).
Placeholders service_placeholders(const ServiceSpec& service);
// The template with each {placeholder} replaced by its value, shell-quoted;
// words each quoted, separated by spaces.
std::string expand(std::string_view templ, const Placeholders& placeholders);

// `systemctl show` output → one state per name, in order, an ActiveState= outside systemd's
// words translated through `states` (CommandSet::states). Throws SupervisorError when the
// blocks do not match the names, or a state is neither systemd's word nor in `states`.
std::vector<ServiceState> parse_show(std::string_view output,
                                     const std::vector<std::string>& names,
                                     const std::map<std::string, std::string>& states = {});

// systemd's ActiveState= words (systemctl(1)).
bool systemd_active_state(std::string_view word);

} // namespace crashloop
