#pragma once
// A ServiceSpec (systemd's words) as a supervisord [program:x] section
// (supervisord 4.2's words): the one pure function the supervisord driver
// writes its config with. How each Restart= value maps, and what cannot map,
// is explained next to the code in supervisord_program.cpp.
#include <filesystem>
#include <set>
#include <stdexcept>
#include <string>

#include "supervisor.hpp"

namespace crashloop {

// supervisord's autorestart= values.
enum class AutoRestart { never, unexpected, always };
std::string_view to_string(AutoRestart value); // "false", "unexpected", "true"

struct SupervisordProgram {
    std::string name; // the program name: "crashloop-on-failure-sigabrt"
    AutoRestart autorestart = AutoRestart::never;
    std::set<int> exitcodes; // the "expected" exit codes, each 0..255, never empty
    std::string section;     // the whole [program:NAME] section, ready to be a file
};

// A value that cannot be written as a supervisord config value (a newline, a
// quote the parser cannot carry, " ;" or " #" which start an inline comment).
class ProgramError : public std::invalid_argument {
  public:
    using std::invalid_argument::invalid_argument;
};

// "crashloop-on-failure-sigabrt.service" → "crashloop-on-failure-sigabrt";
// any character outside [A-Za-z0-9_.-] becomes '_' (':' would read as group:process).
std::string supervisord_program_name(const std::string& service);

// The section for `spec`; its output (stdout and stderr) goes to `output_log`.
// Throws ProgramError.
SupervisordProgram supervisord_program(const ServiceSpec& spec,
                                       const std::filesystem::path& output_log);

// What supervisord's transition() decides for a process that has EXITED: it
// respawns it when autorestart=true, or when autorestart=unexpected and the
// exit was "not expected" (its status not in exitcodes; a signal death is
// status -1, never expected).
bool supervisord_restarts(AutoRestart autorestart, bool exit_expected);

// A process's state in supervisord's own words, from getProcessInfo's
// `statename`, `spawnerr` and `description` (or the log's "gave up: …" line):
// "FATAL: Exited too quickly (process log may have details)",
// "BACKOFF: can't find command '/nowhere'"; other states are just their name
// ("EXITED"), their description being an uptime or a date.
std::string supervisord_words(const std::string& statename, const std::string& spawnerr,
                              const std::string& description);

} // namespace crashloop
