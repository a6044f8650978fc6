// `crashloop matrix` and `crashloop compare`: cells on one supervisor, or the same cells on
// several side by side.
#include <algorithm>
#include <chrono>

#include "common.hpp"
#include "errors.hpp"

namespace crashloop::cli {

namespace {

struct MatrixArgs : CellArgs {
    std::string supervisor = "systemd";
};

struct CompareArgs : CellArgs {
    std::vector<std::string> supervisors;
};

class MatrixCommand : public Command {
  public:
    explicit MatrixCommand(CLI::App& app) {
        app_ =
            app.add_subcommand("matrix", "Run Restart= values × exit causes on a real supervisor");
        app_->add_option("--supervisor", args_.supervisor, supervisor_help())
            ->default_val("systemd");
        add_cell_options(app_, args_, "table, json, junit or markdown",
                         "Show every cell's evidence under the table");
    }
    int run(const Globals& globals) override;

  private:
    MatrixArgs args_;
};

class CompareCommand : public Command {
  public:
    explicit CompareCommand(CLI::App& app) {
        app_ = app.add_subcommand(
            "compare", "The same matrix on several supervisors, their answers side by side");
        app_->add_option("--supervisor", args_.supervisors,
                         "A supervisor (twice or more); see matrix --help")
            ->required();
        add_cell_options(app_, args_, "table, json or markdown",
                         "List every cell with each supervisor's evidence");
    }
    int run(const Globals& globals) override;

  private:
    CompareArgs args_;
};

} // namespace

int MatrixCommand::run(const Globals& globals) {
    const ReportFormat format = format_of(args_.format);
    check_supervisor_name(args_.supervisor);
    const Setup setup = load_setup(globals);
    RunOptions options = run_options(setup, args_.jobs, args_.cell_timeout_ms);
    options.restarts = parse_restart_list(args_.restarts);
    options.causes = select_causes(setup.causes, args_.causes);

    const auto begin = std::chrono::steady_clock::now();
    DrivenSupervisor driven(setup, args_.supervisor, args_.allow_host);
    MatrixReport report = run_matrix(*driven.supervisor, setup.table, driven.expectations, options);
    report.wall = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - begin);

    write_report(
        render(report, format, use_colour(format, args_.output, args_.no_colour), args_.evidence),
        args_.output);
    return report.all_good() ? 0 : 1;
}

// The same cells on each supervisor in turn (one at a time: they share the
// machine), then one table with their answers side by side.
int CompareCommand::run(const Globals& globals) {
    const ReportFormat format = format_of(args_.format);
    if (format == ReportFormat::junit)
        throw InputError("--format", 0,
                         "compare has no junit form; expected table, json or markdown");
    if (args_.supervisors.size() < 2)
        throw InputError(
            "--supervisor", 0,
            "compare needs at least two, e.g. --supervisor systemd --supervisor supervisord");
    for (const auto& spec : args_.supervisors)
        check_supervisor_name(spec);
    const Setup setup = load_setup(globals);
    RunOptions options = run_options(setup, args_.jobs, args_.cell_timeout_ms);
    options.restarts = parse_restart_list(args_.restarts);
    options.causes = select_causes(setup.causes, args_.causes);

    std::vector<MatrixReport> reports;
    for (const auto& spec : args_.supervisors) {
        const auto begin = std::chrono::steady_clock::now();
        DrivenSupervisor driven(setup, spec, args_.allow_host);
        reports.push_back(
            run_matrix(*driven.supervisor, setup.table, driven.expectations, options));
        reports.back().wall = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - begin);
    }
    write_report(render_compare(reports, format, use_colour(format, args_.output, args_.no_colour),
                                args_.evidence),
                 args_.output);
    return std::all_of(reports.begin(), reports.end(),
                       [](const MatrixReport& r) { return r.all_good(); })
               ? 0
               : 1;
}

std::unique_ptr<Command> matrix_command(CLI::App& app) {
    return std::make_unique<MatrixCommand>(app);
}
std::unique_ptr<Command> compare_command(CLI::App& app) {
    return std::make_unique<CompareCommand>(app);
}

} // namespace crashloop::cli
