// crashloop: the command line, a thin layer over the library. It alone decides
// exit codes: 0 every cell passes or is a known deviation, 1 otherwise (or the
// supervisor could not be run), 2 bad usage or bad input, 130 interrupted.
#include <CLI/CLI.hpp>
#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <unistd.h>

#include "exit_cause.hpp"
#include "expectations.hpp"
#include "input_error.hpp"
#include "private_systemd.hpp"
#include "report.hpp"
#include "restart_table.hpp"
#include "runner.hpp"
#include "systemd_bus.hpp"

using namespace crashloop;

namespace {

int interrupt_pipe[2] = {-1, -1};

void on_interrupt(int) {
    char byte = 1;
    [[maybe_unused]] auto ignored = write(interrupt_pipe[1], &byte, 1);
}

void install_interrupt_handler() {
    if (pipe2(interrupt_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return;
    struct sigaction action {};
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &action, nullptr);
}

void setup_logging(int verbosity) {
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    for (const char* name : {"harness", "systemd", "fixture"}) {
        auto log = std::make_shared<spdlog::logger>(name, sink);
        log->set_pattern(verbosity > 0 ? "%H:%M:%S.%e %^%l%$ [%n] %v" : "%^%l%$ [%n] %v");
        spdlog::register_logger(log);
    }
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("crashloop", sink));
    spdlog::set_level(verbosity >= 2 ? spdlog::level::trace
                      : verbosity == 1 ? spdlog::level::debug
                                       : spdlog::level::warn);
    spdlog::cfg::load_env_levels(); // SPDLOG_LEVEL=debug, SPDLOG_LEVEL=systemd=trace …
}

std::vector<RestartValue> parse_restart_list(const std::string& list) {
    if (list == "all") return {all_restart_values.begin(), all_restart_values.end()};
    std::vector<RestartValue> values;
    size_t start = 0;
    while (start <= list.size()) {
        size_t comma = list.find(',', start);
        std::string item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        auto value = parse_restart_value(item);
        if (!value)
            throw InputError("--restart", 0,
                             "unknown Restart= value '" + item +
                                 "'; expected all or a list of no, always, on-success, on-failure, "
                                 "on-abnormal, on-abort, on-watchdog");
        values.push_back(*value);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return values;
}

// The report lands whole or not at all.
void write_report(const std::string& text, const std::string& output) {
    if (output.empty() || output == "-") {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
        return;
    }
    std::string temporary = output + ".partial";
    {
        std::ofstream out(temporary, std::ios::trunc);
        out << text;
        out.flush();
        if (!out) {
            std::remove(temporary.c_str());
            throw InputError(output, 0, "cannot write the report there");
        }
    }
    if (std::rename(temporary.c_str(), output.c_str()) != 0) {
        std::remove(temporary.c_str());
        throw InputError(output, 0, "cannot write the report there");
    }
}

struct MatrixArgs {
    std::string supervisor = "systemd";
    std::string restarts = "all";
    std::string causes = "all";
    std::string format = "table";
    std::string output;
    unsigned jobs = 0;
    unsigned cell_timeout_ms = 30000;
    bool evidence = false;
    bool no_colour = false;
};

int run_matrix_command(const MatrixArgs& args, const std::string& scenarios_override,
                       const std::string& libexec_override) {
    const auto format = parse_report_format(args.format);
    if (!format)
        throw InputError("--format", 0, "unknown format '" + args.format +
                                            "'; expected table, json, junit or markdown");
    if (args.supervisor != "systemd")
        throw InputError("--supervisor", 0, "unknown supervisor '" + args.supervisor +
                                                "'; expected systemd (the built-in private manager)");
    const std::filesystem::path scenarios = scenarios_override.empty() ? scenarios_dir() : std::filesystem::path(scenarios_override);
    const std::filesystem::path libexec = libexec_override.empty() ? libexec_dir() : std::filesystem::path(libexec_override);

    // Everything that can be wrong with the input is found before anything runs.
    const RestartTable table = RestartTable::load(scenarios / "table.toml");
    const std::vector<ExitCause> all_causes = load_exit_causes(scenarios / "causes.toml");
    RunOptions options;
    options.restarts = parse_restart_list(args.restarts);
    options.causes = select_causes(all_causes, args.causes);
    options.jobs = args.jobs;
    options.cell_deadline = std::chrono::milliseconds(args.cell_timeout_ms);
    options.fixture = libexec / "fake-httpd";
    options.interrupt_fd = interrupt_pipe[0];
    if (!std::filesystem::exists(options.fixture))
        throw InputError(options.fixture.string(), 0, "the fake httpd is not there; build it first");

    const auto begin = std::chrono::steady_clock::now();
    PrivateSystemd::Options systemd_options;
    systemd_options.keeper = libexec / "crashloop-sandbox";
    PrivateSystemd systemd(systemd_options);
    // The manager's version decides which known deviations apply.
    const std::string version = SystemdBus(systemd.bus_address()).version();
    const Expectations expectations = Expectations::for_supervisor(scenarios, "systemd", version);
    MatrixReport report = run_matrix(systemd, table, expectations, options);
    report.wall = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - begin);

    const bool colour = *format == ReportFormat::table && args.output.empty() && isatty(STDOUT_FILENO) &&
                        std::getenv("NO_COLOR") == nullptr && !args.no_colour;
    write_report(render(report, *format, colour, args.evidence), args.output);
    return report.all_good() ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"crashloop: checks a supervisor's restarts against Table 2 of systemd.service(5)"};
    app.require_subcommand(1);
    int verbosity = 0;
    std::string scenarios, libexec;
    app.add_flag("-v,--verbose", verbosity, "More logs on stderr (twice for trace)");
    app.add_option("--scenarios", scenarios, "Scenario directory (table.toml, causes.toml, expectations/)");
    app.add_option("--libexec", libexec, "Directory holding fake-httpd and crashloop-sandbox");

    MatrixArgs matrix;
    auto* matrix_cmd = app.add_subcommand("matrix", "Run Restart= values × exit causes on a real supervisor");
    matrix_cmd->add_option("--supervisor", matrix.supervisor, "Supervisor to drive")->default_val("systemd");
    matrix_cmd->add_option("--restart", matrix.restarts, "Restart= values: all, or a comma list")->default_val("all");
    matrix_cmd->add_option("--cause", matrix.causes,
                           "Exit causes: all, table, modifier, or a comma list of ids")->default_val("all");
    matrix_cmd->add_option("--format", matrix.format, "table, json, junit or markdown")->default_val("table");
    matrix_cmd->add_option("-o,--output", matrix.output, "Write the report to FILE (whole or not at all)");
    matrix_cmd->add_option("-j,--jobs", matrix.jobs, "Cells in flight at once (0 = all)")->default_val(0);
    matrix_cmd->add_option("--cell-timeout", matrix.cell_timeout_ms,
                           "Deadline per cell in ms; hitting it is an error verdict")->default_val(30000);
    matrix_cmd->add_flag("-e,--evidence", matrix.evidence, "Show every cell's evidence under the table");
    matrix_cmd->add_flag("--no-color", matrix.no_colour, "No colour even on a terminal");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e);
        return code == 0 ? 0 : 2;
    }
    setup_logging(verbosity);
    install_interrupt_handler();
    try {
        if (matrix_cmd->parsed()) return run_matrix_command(matrix, scenarios, libexec);
    } catch (const InputError& e) {
        std::fprintf(stderr, "crashloop: %s\n", e.what());
        return 2;
    } catch (const Interrupted&) {
        std::fprintf(stderr, "crashloop: interrupted; everything it started is gone, nothing reported\n");
        return 130;
    } catch (const SupervisorError& e) {
        std::fprintf(stderr, "crashloop: supervisor: %s\n", e.what());
        return 1;
    }
    return 0;
}
