#pragma once
// What every command of the CLI shares: where the data and binaries are, the
// supervisor to drive, the interrupt, the logs, and a report that lands whole.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "exit_cause.hpp"
#include "expectations.hpp"
#include "registry.hpp"
#include "report.hpp"
#include "restart_table.hpp"
#include "runner.hpp"
#include "supervisor.hpp"

namespace crashloop::cli {

// What the top level gives every command.
struct Globals {
    std::string scenarios, libexec; // --scenarios, --libexec ("" = the defaults)
    std::string command_line;       // the whole command line, shell-quoted (soak's replay)
    std::optional<std::chrono::milliseconds> restart_window; // --restart-window
};

// One subcommand: its options are registered on construction; run() once parsed.
class Command {
  public:
    virtual ~Command() = default;
    bool parsed() const { return app_->parsed(); }
    virtual int run(const Globals& globals) = 0;

  protected:
    CLI::App* app_ = nullptr;
};

std::unique_ptr<Command> matrix_command(CLI::App& app);
std::unique_ptr<Command> compare_command(CLI::App& app);
std::unique_ptr<Command> check_command(CLI::App& app);
std::unique_ptr<Command> soak_command(CLI::App& app);
std::unique_ptr<Command> list_command(CLI::App& app);
std::unique_ptr<Command> cell_command(CLI::App& app);
std::unique_ptr<Command> doctor_command(CLI::App& app);

void setup_logging(int verbosity);

std::vector<RestartValue> parse_restart_list(const std::string& list);
// The report lands whole or not at all; a report that cannot be written is an
// InputError naming where (stdout, or FILE).
void write_report(const std::string& text, const std::string& output);
// Standard fds that were closed are held by /dev/null (read-only), so nothing
// the run opens takes their numbers and writing the report to them fails.
void reserve_standard_fds();
ReportFormat format_of(const std::string& text);
bool use_colour(ReportFormat format, const std::string& output, bool no_colour);
std::string supervisor_help();

// What matrix and compare both take: which cells, how to run them, the report.
struct CellArgs {
    bool allow_host = false;
    std::string restarts = "all";
    std::string causes = "all";
    std::string format = "table";
    std::string output;
    unsigned jobs = 0;
    unsigned cell_timeout_ms = 30000;
    bool evidence = false;
    bool no_colour = false;
};

// What every command needs: the data, the binaries, and the real systemd.
struct Setup {
    std::filesystem::path scenarios, libexec;
    std::optional<std::chrono::milliseconds> restart_window; // --restart-window
    RestartTable table;
    std::vector<ExitCause> causes;
};

// Any supervisor, through its driver (supervisor.hpp, drivers.cpp), with the
// known deviations of its name and version.
struct DrivenSupervisor {
    std::unique_ptr<Supervisor> supervisor;
    Expectations expectations;
    DrivenSupervisor(const Setup& setup, const std::string& spec, bool allow_host);
};

void add_cell_options(CLI::App* command, CellArgs& args, const std::string& formats,
                      const std::string& evidence_help);
Setup load_setup(const Globals& globals);
// Checked before anything starts: a typo in --supervisor is bad usage, not a failed run.
void check_supervisor_name(const std::string& spec);
RunOptions run_options(const Setup& setup, unsigned jobs, unsigned cell_timeout_ms);

} // namespace crashloop::cli
