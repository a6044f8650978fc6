#include "common.hpp"

#include <fcntl.h>
#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>

#include "errors.hpp"
#include "private_systemd.hpp" // scenarios_dir(), libexec_dir()
#include "registry.hpp"

namespace crashloop::cli {

namespace {

int interrupt_pipe[2] = {-1, -1};

void on_interrupt(int) {
    char byte = 1;
    [[maybe_unused]] auto ignored = write(interrupt_pipe[1], &byte, 1);
}

} // namespace

int interrupt_fd() {
    return interrupt_pipe[0];
}

void install_interrupt_handler() {
    if (pipe2(interrupt_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return;
    struct sigaction action {};
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP})
        sigaction(sig, &action, nullptr);
}

void setup_logging(int verbosity) {
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    for (const char* name : {"harness", "systemd", "supervisord", "supervisor", "fixture"}) {
        auto log = std::make_shared<spdlog::logger>(name, sink);
        log->set_pattern(verbosity > 0 ? "%H:%M:%S.%e %^%l%$ [%n] %v" : "%^%l%$ [%n] %v");
        spdlog::register_logger(log);
    }
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("crashloop", sink));
    spdlog::set_level(verbosity >= 2   ? spdlog::level::trace
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
        std::string item =
            list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
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

void add_cell_options(CLI::App* command, CellArgs& args, const std::string& formats,
                      const std::string& evidence_help) {
    command->add_flag("--allow-host", args.allow_host,
                      "Let systemd-host drive the host's own systemd");
    command->add_option("--restart", args.restarts, "Restart= values: all, or a comma list")
        ->default_val("all");
    command
        ->add_option("--cause", args.causes,
                     "Exit causes: all, table, modifier, story, or a comma list of ids")
        ->default_val("all");
    command->add_option("--format", args.format, formats)->default_val("table");
    command->add_option("-o,--output", args.output,
                        "Write the report to FILE (whole or not at all)");
    command->add_option("-j,--jobs", args.jobs, "Cells in flight at once (0 = all)")
        ->default_val(0);
    command
        ->add_option("--cell-timeout", args.cell_timeout_ms,
                     "Deadline per cell in ms; hitting it is an error verdict")
        ->default_val(30000);
    command->add_flag("-e,--evidence", args.evidence, evidence_help);
    command->add_flag("--no-color", args.no_colour, "No colour even on a terminal");
}

Setup load_setup(const Globals& globals) {
    const std::string& scenarios_override = globals.scenarios;
    const std::string& libexec_override = globals.libexec;
    Setup setup;
    setup.scenarios =
        scenarios_override.empty() ? scenarios_dir() : std::filesystem::path(scenarios_override);
    setup.libexec =
        libexec_override.empty() ? libexec_dir() : std::filesystem::path(libexec_override);
    // Everything that can be wrong with the input is found before anything runs.
    setup.table = RestartTable::load(setup.scenarios / "table.toml");
    setup.causes = load_exit_causes(setup.scenarios / "causes.toml");
    if (!std::filesystem::exists(setup.libexec / "fake-httpd"))
        throw InputError((setup.libexec / "fake-httpd").string(), 0,
                         "the fake httpd is not there; build it first");
    return setup;
}

void check_supervisor_name(const std::string& spec) {
    const std::string name = spec.substr(0, spec.find(':'));
    for (const auto& driver : drivers())
        if (driver.name == name) return;
    std::string known;
    for (const auto& driver : drivers())
        known += (known.empty() ? "" : ", ") + driver.usage;
    throw InputError("--supervisor", 0,
                     "unknown supervisor '" + spec + "'; expected one of: " + known);
}

RunOptions run_options(const Setup& setup, unsigned jobs, unsigned cell_timeout_ms) {
    RunOptions options;
    options.jobs = jobs;
    options.cell_deadline = std::chrono::milliseconds(cell_timeout_ms);
    options.fixture = setup.libexec / "fake-httpd";
    options.interrupt_fd = interrupt_pipe[0];
    return options;
}

ReportFormat format_of(const std::string& text) {
    const auto format = parse_report_format(text);
    if (!format)
        throw InputError("--format", 0,
                         "unknown format '" + text + "'; expected table, json, junit or markdown");
    return *format;
}

bool use_colour(ReportFormat format, const std::string& output, bool no_colour) {
    return format == ReportFormat::table && (output.empty() || output == "-") &&
           isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr && !no_colour;
}

std::string supervisor_help() {
    std::string help = "Supervisor to drive:";
    for (const auto& driver : drivers())
        help += "\n  " + driver.usage;
    return help;
}

} // namespace crashloop::cli
