// `systemctl:PATH`: any program that speaks systemctl(1)'s verbs and reads
// unit files from the folder in $SYSTEMD_UNIT_PATH — a systemctl
// reimplementation, or a wrapper around a manager of your own. systemd itself
// honours $SYSTEMD_UNIT_PATH too (systemd.unit(5), "Unit File Load Path"): a
// manager started with it set loads its units from there. The engine
// (command_driver.hpp) writes each cell's unit file into that folder; these
// are just the command lines it runs, each inside the run's jail.
#include <unistd.h>

#include "command_driver.hpp"
#include "errors.hpp"
#include "shell_words.hpp"

namespace crashloop {

CommandSet systemctl_commands(const std::filesystem::path& program) {
    const std::string p = shell_single_quoted(program.string());
    CommandSet c;
    c.name = program.filename().string();
    c.source = "systemctl:" + program.string();
    c.version = p + " --version";
    // A new or changed unit file is read at daemon-reload, as with systemd.
    c.install = p + " daemon-reload";
    c.start = p + " start {name}";
    c.stop = p + " stop {name}";
    c.reload = p + " reload {name}";
    c.kill = p + " kill -s {signal} --kill-whom=main {name}";
    // One run for every service asked about: blocks in the order of the names.
    c.state = p + " show -p ActiveState,SubState,Result,MainPID,NRestarts,ExecMainCode," +
              "ExecMainStatus,Job {names}";
    return c;
}

DriverInfo systemctl_driver() {
    return {.name = "systemctl",
            .usage = "systemctl:PATH (a systemctl-compatible program; units in $SYSTEMD_UNIT_PATH)",
            .takes_argument = true,
            .make = [](const DriverContext& context) -> std::unique_ptr<Supervisor> {
                std::error_code error;
                if (!std::filesystem::is_regular_file(context.argument, error) ||
                    access(context.argument.c_str(), X_OK) != 0)
                    throw InputError("--supervisor", 0,
                                     "expected an executable program after 'systemctl:', got '" +
                                         context.argument + "'");
                return make_command_driver(
                    systemctl_commands(std::filesystem::absolute(context.argument)), context);
            }};
}

} // namespace crashloop
