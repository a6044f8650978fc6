// `crashloop check [--real]`: every exit cause under a real unit's settings.
#include <chrono>

#include "check.hpp"
#include "common.hpp"
#include "errors.hpp"

namespace crashloop::cli {

namespace {

struct CheckArgs {
    std::string unit;
    std::string supervisor = "systemd";
    bool allow_host = false;
    std::vector<std::string> dropins;
    std::string causes = "table,story";
    std::string format = "table";
    std::string output;
    unsigned cell_timeout_ms = 30000;
    bool evidence = false;
    bool no_colour = false;
    bool real = false;
    unsigned reloads = 5;
};

class CheckCommand : public Command {
  public:
    explicit CheckCommand(CLI::App& app) {
        app_ = app.add_subcommand(
            "check", "Will my service come back? Every exit cause under a real unit's settings");
        app_->add_option("unit", args_.unit, "The unit file (e.g. scenarios/units/httpd.service)")
            ->required();
        app_->add_option("--supervisor", args_.supervisor, supervisor_help())
            ->default_val("systemd");
        app_->add_flag("--allow-host", args_.allow_host,
                       "Let systemd-host drive the host's own systemd");
        app_->add_option("--dropin", args_.dropins, "A drop-in, in the order systemd applies them")
            ->check(CLI::ExistingFile);
        app_->add_option("--cause", args_.causes, "Exit causes: table, story, all, or ids")
            ->default_val("table,story");
        app_->add_option("--format", args_.format, "table (plain words), json, junit or markdown")
            ->default_val("table");
        app_->add_option("-o,--output", args_.output,
                         "Write the report to FILE (whole or not at all)");
        app_->add_option("--cell-timeout", args_.cell_timeout_ms, "Deadline per cause in ms")
            ->default_val(30000)
            ->check(CLI::Range(1000u, 3600u * 1000u)); // under 1 s every cause would error
        app_->add_flag("-e,--evidence", args_.evidence, "Show each answer's evidence");
        app_->add_flag("--no-color", args_.no_colour, "No colour even on a terminal");
        app_->add_flag("--real", args_.real,
                       "Run the unit's REAL daemon (its own ExecStart=, ExecReload=, ExecStop=, "
                       "Environment= …) on the built-in private systemd instead of the fake httpd, "
                       "one cause at a time. YOU are responsible for the unit being safe to run "
                       "here (its ports, files and side effects); crashloop never touches the "
                       "host's own services. Causes needing the daemon's cooperation are n/a");
        app_->add_option(
                "--reloads", args_.reloads,
                "--real: graceful reloads (ReloadUnit) to check when the unit has ExecReload=")
            ->default_val(5);
    }
    int run(const Globals& globals) override;

  private:
    CheckArgs args_;
};

} // namespace

int CheckCommand::run(const Globals& globals) {
    const ReportFormat format = format_of(args_.format);
    const Setup setup = load_setup(globals);
    CheckOptions options;
    options.unit = args_.unit;
    for (const auto& dropin : args_.dropins)
        options.dropins.emplace_back(dropin);
    options.causes = args_.causes;
    options.run = run_options(setup, 0, args_.cell_timeout_ms);
    options.real = args_.real;
    options.reloads = args_.reloads;

    const auto begin = std::chrono::steady_clock::now();
    check_supervisor_name(args_.supervisor);
    // The real daemon runs only where everything it starts is gone with the run:
    // the built-in systemd or a jailed supervisor, never the host's own manager.
    if (args_.real && args_.supervisor.starts_with("systemd-host"))
        throw InputError("--real", 0,
                         "runs the unit's real daemon only on a supervisor crashloop "
                         "starts itself, never on the host's own systemd; "
                         "drop --supervisor " +
                             args_.supervisor);
    DrivenSupervisor driven(setup, args_.supervisor, args_.allow_host);
    CheckReport report =
        run_check(*driven.supervisor, setup.table, driven.expectations, setup.causes, options);
    report.matrix.wall = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - begin);

    write_report(render_check(report, format, use_colour(format, args_.output, args_.no_colour),
                              args_.evidence),
                 args_.output);
    return report.ok() ? 0 : 1;
}

std::unique_ptr<Command> check_command(CLI::App& app) {
    return std::make_unique<CheckCommand>(app);
}

} // namespace crashloop::cli
