#pragma once
// `crashloop check UNIT --dropin FILE…`: "will my service come back?" Every
// exit cause, run on the built-in systemd under the effective settings of a
// real unit and its drop-ins, the fake httpd standing in for the daemon; each
// answered in plain words with its evidence, and marked where it differs from
// what Table 2 says for the unit's Restart= value.
#include <filesystem>
#include <string>
#include <vector>

#include "cell_result.hpp"
#include "exit_cause.hpp"
#include "expectations.hpp"
#include "runner.hpp"
#include "service_settings.hpp"

namespace crashloop {

class Supervisor;

struct CheckOptions {
    std::filesystem::path unit;
    std::vector<std::filesystem::path> dropins;
    std::string causes = "table,story"; // as --cause takes them
    RunOptions run;                     // fixture, deadlines, interrupt; restarts/causes are set here
    // --real: the unit's own daemon instead of the fake httpd (real_check.hpp);
    // on any supervisor crashloop runs itself (never the host's own systemd).
    bool real = false;
    unsigned reloads = 5; // --real: graceful reloads when the unit has ExecReload= (0: none)
};

struct CheckReport {
    std::string title; // "httpd.service + override.conf"
    ServiceSettings settings;
    std::vector<std::string> warnings; // from the unit files (unknown keys …)
    std::vector<std::string> notes;    // where the run departs from the unit, and why
    std::vector<ExitCause> causes;     // as run, in order
    MatrixReport matrix;               // one cell per cause; restart = the unit's Restart=
    // Per cell, plain words that replace the standard answer when not empty (--real).
    std::vector<std::string> answers;
    bool ok() const;                   // no fail, no error, no unexpected pass
};

// Reads the unit (InputError on bad input) and runs every selected cause.
CheckReport run_check(Supervisor& supervisor, const RestartTable& table,
                      const Expectations& expectations, const std::vector<ExitCause>& all_causes,
                      const CheckOptions& options);

} // namespace crashloop
