// crashloop: the command line, a thin layer over the library (one file per command in this
// folder). It alone decides exit codes: 0 every cell passes or is a known deviation, 1
// otherwise (or the supervisor could not be run), 2 bad usage or bad input, 130 interrupted.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <vector>

#include "common.hpp"
#include "errors.hpp"
#include "interrupt.hpp"
#include "runner.hpp"
#include "shell_words.hpp"
#include "text.hpp"

using namespace crashloop;

namespace {

int interrupted() {
    std::fprintf(stderr, "crashloop: interrupted; everything it started is gone, nothing reported\n");
    return 130;
}

} // namespace

int main(int argc, char** argv) {
    cli::reserve_standard_fds();
    // First: a Ctrl-C from here on is seen by the run's first wait, whatever it is.
    interrupt::install();
    CLI::App app{"crashloop: checks a supervisor's restarts against Table 2 of systemd.service(5)"};
    app.require_subcommand(1);
    int verbosity = 0;
    std::string scenarios, libexec;
    app.add_flag("-v,--verbose", verbosity, "More logs on stderr (twice for trace)");
    app.add_option("--scenarios", scenarios,
                   "Scenario directory (table.toml, causes.toml, expectations/)");
    app.add_option("--libexec", libexec, "Directory holding fake-httpd and crashloop-sandbox");
    unsigned restart_window_ms = 0;
    auto* window = app.add_option(
        "--restart-window", restart_window_ms,
        "For a supervisor that shows no pending restart (systemctl:PATH, exec:FILE): how long "
        "after a death, beyond RestartSec=, a restart may still come, in ms");
    window->check(CLI::Range(0u, 3600u * 1000u));

    std::vector<std::unique_ptr<cli::Command>> commands;
    commands.push_back(cli::matrix_command(app));
    commands.push_back(cli::compare_command(app));
    commands.push_back(cli::check_command(app));
    commands.push_back(cli::soak_command(app));
    commands.push_back(cli::list_command(app));
    commands.push_back(cli::cell_command(app));
    commands.push_back(cli::doctor_command(app));

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e);
        return code == 0 ? 0 : 2;
    }
    cli::setup_logging(verbosity);
    try {
        cli::Globals globals{scenarios, libexec, {}, {}};
        if (window->count() > 0) globals.restart_window = std::chrono::milliseconds(restart_window_ms);
        for (int i = 0; i < argc; ++i)
            globals.command_line += (i ? " " : "") + shell_quote(argv[i]);
        for (const auto& command : commands)
            if (command->parsed()) return command->run(globals);
    } catch (const InputError& e) {
        std::fprintf(stderr, "crashloop: %s\n", printable(e.what()).c_str());
        return 2;
    } catch (const Interrupted&) {
        return interrupted();
    } catch (const SupervisorError& e) {
        // A call the signal cut short (a blocking D-Bus read says EINTR) is the interrupt's.
        if (interrupt::requested()) return interrupted();
        std::fprintf(stderr, "crashloop: supervisor: %s\n", printable(e.what()).c_str());
        return 1;
    } catch (const std::exception& e) {
        if (interrupt::requested()) return interrupted();
        // Unwound, so everything started is gone; never an abort with a core file.
        std::fprintf(stderr, "crashloop: %s\n", printable(e.what()).c_str());
        return 1;
    }
    return 0;
}
