// crashloop: the command line, a thin layer over the library. It alone decides
// exit codes: 0 every cell passes or is a known deviation, 1 otherwise (or the
// supervisor could not be run), 2 bad usage or bad input, 130 interrupted.
#include <CLI/CLI.hpp>
#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <random>
#include <unistd.h>

#include "check.hpp"
#include "exit_cause.hpp"
#include "expectations.hpp"
#include "errors.hpp"
#include "private_systemd.hpp" // scenarios_dir(), libexec_dir()
#include "reload_chance.hpp"
#include "report.hpp"
#include "restart_table.hpp"
#include "runner.hpp"
#include "service_settings.hpp"
#include "shell_words.hpp"
#include "soak.hpp"
#include "registry.hpp"
#include "supervisor.hpp"
#include "unit_file.hpp"

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

void add_cell_options(CLI::App* command, CellArgs& args, const std::string& formats,
                      const std::string& evidence_help) {
    command->add_flag("--allow-host", args.allow_host, "Let systemd-host drive the host's own systemd");
    command->add_option("--restart", args.restarts, "Restart= values: all, or a comma list")->default_val("all");
    command->add_option("--cause", args.causes, "Exit causes: all, table, modifier, story, or a comma list of ids")
        ->default_val("all");
    command->add_option("--format", args.format, formats)->default_val("table");
    command->add_option("-o,--output", args.output, "Write the report to FILE (whole or not at all)");
    command->add_option("-j,--jobs", args.jobs, "Cells in flight at once (0 = all)")->default_val(0);
    command->add_option("--cell-timeout", args.cell_timeout_ms,
                        "Deadline per cell in ms; hitting it is an error verdict")->default_val(30000);
    command->add_flag("-e,--evidence", args.evidence, evidence_help);
    command->add_flag("--no-color", args.no_colour, "No colour even on a terminal");
}

struct MatrixArgs : CellArgs {
    std::string supervisor = "systemd";
};

// What every command needs: the data, the binaries, and the real systemd.
struct Setup {
    std::filesystem::path scenarios, libexec;
    RestartTable table;
    std::vector<ExitCause> causes;
};

Setup load_setup(const std::string& scenarios_override, const std::string& libexec_override) {
    Setup setup;
    setup.scenarios = scenarios_override.empty() ? scenarios_dir() : std::filesystem::path(scenarios_override);
    setup.libexec = libexec_override.empty() ? libexec_dir() : std::filesystem::path(libexec_override);
    // Everything that can be wrong with the input is found before anything runs.
    setup.table = RestartTable::load(setup.scenarios / "table.toml");
    setup.causes = load_exit_causes(setup.scenarios / "causes.toml");
    if (!std::filesystem::exists(setup.libexec / "fake-httpd"))
        throw InputError((setup.libexec / "fake-httpd").string(), 0,
                         "the fake httpd is not there; build it first");
    return setup;
}

// Any supervisor, through its driver (supervisor.hpp, drivers.cpp), with the
// known deviations of its name and version.
struct DrivenSupervisor {
    std::unique_ptr<Supervisor> supervisor;
    Expectations expectations;
    DrivenSupervisor(const Setup& setup, const std::string& spec, bool allow_host)
        : supervisor(make_supervisor(spec, {.argument = {}, .libexec = setup.libexec, .scenarios = setup.scenarios,
                                            .allow_host = allow_host})),
          expectations(Expectations::for_supervisor(setup.scenarios, supervisor->name(), supervisor->version())) {}
};

// Checked before anything starts: a typo in --supervisor is bad usage, not a failed run.
void check_supervisor_name(const std::string& spec) {
    const std::string name = spec.substr(0, spec.find(':'));
    for (const auto& driver : drivers())
        if (driver.name == name) return;
    std::string known;
    for (const auto& driver : drivers()) known += (known.empty() ? "" : ", ") + driver.usage;
    throw InputError("--supervisor", 0, "unknown supervisor '" + spec + "'; expected one of: " + known);
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
        throw InputError("--format", 0, "unknown format '" + text +
                                            "'; expected table, json, junit or markdown");
    return *format;
}

bool use_colour(ReportFormat format, const std::string& output, bool no_colour) {
    return format == ReportFormat::table && (output.empty() || output == "-") &&
           isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr && !no_colour;
}

int run_matrix_command(const MatrixArgs& args, const std::string& scenarios_override,
                       const std::string& libexec_override) {
    const ReportFormat format = format_of(args.format);
    check_supervisor_name(args.supervisor);
    const Setup setup = load_setup(scenarios_override, libexec_override);
    RunOptions options = run_options(setup, args.jobs, args.cell_timeout_ms);
    options.restarts = parse_restart_list(args.restarts);
    options.causes = select_causes(setup.causes, args.causes);

    const auto begin = std::chrono::steady_clock::now();
    DrivenSupervisor driven(setup, args.supervisor, args.allow_host);
    MatrixReport report = run_matrix(*driven.supervisor, setup.table, driven.expectations, options);
    report.wall = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - begin);

    write_report(render(report, format, use_colour(format, args.output, args.no_colour), args.evidence),
                 args.output);
    return report.all_good() ? 0 : 1;
}

struct CompareArgs : CellArgs {
    std::vector<std::string> supervisors;
};

// The same cells on each supervisor in turn (one at a time: they share the
// machine), then one table with their answers side by side.
int run_compare_command(const CompareArgs& args, const std::string& scenarios_override,
                        const std::string& libexec_override) {
    const ReportFormat format = format_of(args.format);
    if (format == ReportFormat::junit)
        throw InputError("--format", 0, "compare has no junit form; expected table, json or markdown");
    if (args.supervisors.size() < 2)
        throw InputError("--supervisor", 0, "compare needs at least two, e.g. --supervisor systemd --supervisor supervisord");
    for (const auto& spec : args.supervisors) check_supervisor_name(spec);
    const Setup setup = load_setup(scenarios_override, libexec_override);
    RunOptions options = run_options(setup, args.jobs, args.cell_timeout_ms);
    options.restarts = parse_restart_list(args.restarts);
    options.causes = select_causes(setup.causes, args.causes);

    std::vector<MatrixReport> reports;
    for (const auto& spec : args.supervisors) {
        const auto begin = std::chrono::steady_clock::now();
        DrivenSupervisor driven(setup, spec, args.allow_host);
        reports.push_back(run_matrix(*driven.supervisor, setup.table, driven.expectations, options));
        reports.back().wall =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - begin);
    }
    write_report(render_compare(reports, format, use_colour(format, args.output, args.no_colour), args.evidence),
                 args.output);
    return std::all_of(reports.begin(), reports.end(), [](const MatrixReport& r) { return r.all_good(); }) ? 0 : 1;
}

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

int run_check_command(const CheckArgs& args, const std::string& scenarios_override,
                      const std::string& libexec_override) {
    const ReportFormat format = format_of(args.format);
    const Setup setup = load_setup(scenarios_override, libexec_override);
    CheckOptions options;
    options.unit = args.unit;
    for (const auto& dropin : args.dropins) options.dropins.emplace_back(dropin);
    options.causes = args.causes;
    options.run = run_options(setup, 0, args.cell_timeout_ms);
    options.real = args.real;
    options.reloads = args.reloads;

    const auto begin = std::chrono::steady_clock::now();
    check_supervisor_name(args.supervisor);
    // The real daemon runs only where everything it starts is gone with the run:
    // the built-in systemd or a jailed supervisor, never the host's own manager.
    if (args.real && args.supervisor.starts_with("systemd-host"))
        throw InputError("--real", 0, "runs the unit's real daemon only on a supervisor crashloop "
                                      "starts itself, never on the host's own systemd; "
                                      "drop --supervisor " + args.supervisor);
    DrivenSupervisor driven(setup, args.supervisor, args.allow_host);
    CheckReport report = run_check(*driven.supervisor, setup.table, driven.expectations, setup.causes, options);
    report.matrix.wall = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - begin);

    write_report(render_check(report, format, use_colour(format, args.output, args.no_colour), args.evidence),
                 args.output);
    return report.ok() ? 0 : 1;
}

struct SoakArgs {
    std::string unit;
    std::vector<std::string> dropins;
    std::string restart;
    unsigned reloads = 100;
    unsigned interval_ms = 20;
    std::string probability = "1/30";
    std::string seed; // empty: random, printed
    std::string fault = "sigabrt";
    bool keep_start_limit = false;
    unsigned workers = 2;
    std::string format = "table";
    std::string output;
    std::string supervisor = "systemd";
    bool allow_host = false;
};

// The progress bar: stderr only, and only on a terminal.
void draw_progress(unsigned done, unsigned total) {
    constexpr unsigned width = 30;
    const unsigned filled = total ? done * width / total : width;
    std::string bar(filled, '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r  soak [%s] %u/%u reloads", bar.c_str(), done, total);
    std::fflush(stderr);
}

int run_soak_command(const SoakArgs& args, const std::string& scenarios_override,
                     const std::string& libexec_override, std::string command_line) {
    if (args.format != "table" && args.format != "json")
        throw InputError("--format", 0,
                         "unknown format '" + args.format + "'; expected table or json");
    if (!args.unit.empty() && !args.restart.empty())
        throw InputError("--restart", 0,
                         "--restart and --unit do not go together: the unit says Restart=");
    if (args.unit.empty() && !args.dropins.empty())
        throw InputError("--dropin", 0, "a drop-in needs the unit it belongs to (--unit FILE)");
    if (args.reloads == 0) throw InputError("--reloads", 0, "expected at least 1 reload");
    if (args.workers > 64) throw InputError("--workers", 0, "expected 0 to 64 workers");
    SoakOptions options;
    const auto p = parse_reload_probability(args.probability);
    if (!p)
        throw InputError("--crash-probability", 0,
                         "expected a probability in [0, 1], as 0.0333 or 1/30, got '" +
                             args.probability + "'");
    options.crash_probability = *p;
    if (!args.restart.empty()) {
        const auto value = parse_restart_value(args.restart);
        if (!value)
            throw InputError(
                "--restart", 0,
                "unknown Restart= value '" + args.restart +
                    "'; expected no, always, on-success, on-failure, on-abnormal, on-abort or "
                    "on-watchdog");
        options.restart = *value;
    }
    if (args.fault != "sigabrt" && args.fault != "sigsegv" && args.fault != "hang")
        throw InputError("--fault", 0,
                         "unknown fault '" + args.fault + "'; expected sigabrt, sigsegv or hang");
    if (args.seed.empty()) {
        // 53 bits: the seed survives JSON readers that hold numbers as doubles (jq).
        std::random_device random;
        options.seed = ((uint64_t(random()) << 32) | random()) & ((uint64_t(1) << 53) - 1);
        command_line += " --seed " + std::to_string(options.seed);
    } else {
        const auto seed = parse_reload_seed(args.seed);
        if (!seed)
            throw InputError("--seed", 0,
                             "expected an unsigned 64-bit number, got '" + args.seed + "'");
        options.seed = *seed;
    }
    if (!args.unit.empty()) {
        options.unit = args.unit;
        for (const auto& dropin : args.dropins)
            options.dropins.emplace_back(dropin);
        // Bad input is found before anything runs.
        check_soakable(service_settings(UnitFile::load(*options.unit, options.dropins)), args.unit);
    }
    options.reloads = args.reloads;
    options.interval = std::chrono::milliseconds(args.interval_ms);
    options.fault = args.fault;
    options.keep_start_limit = args.keep_start_limit;
    options.workers = args.workers;
    options.replay = command_line;

    check_supervisor_name(args.supervisor);
    const Setup setup = load_setup(scenarios_override, libexec_override);
    if (args.seed.empty())
        std::fprintf(stderr, "crashloop: soak seed %llu\n",
                     static_cast<unsigned long long>(options.seed));
    options.fixture = setup.libexec / "fake-httpd";
    options.interrupt_fd = interrupt_pipe[0];
    const bool progress = isatty(STDERR_FILENO);
    if (progress) options.progress = draw_progress;

    DrivenSupervisor supervisor(setup, args.supervisor, args.allow_host);
    SoakReport report;
    try {
        report = run_soak(*supervisor.supervisor, options);
    } catch (...) {
        if (progress) std::fprintf(stderr, "\n");
        throw;
    }
    if (progress) std::fprintf(stderr, "\r\033[K");
    report.verdict = judge_soak(report, setup.table, supervisor.expectations);
    write_report(render_soak(report, args.format == "json"), args.output);
    return report.verdict->as_promised ? 0 : 1;
}

std::string supervisor_help() {
    std::string help = "Supervisor to drive:";
    for (const auto& driver : drivers()) help += "\n  " + driver.usage;
    return help;
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
    matrix_cmd->add_option("--supervisor", matrix.supervisor, supervisor_help())->default_val("systemd");
    add_cell_options(matrix_cmd, matrix, "table, json, junit or markdown", "Show every cell's evidence under the table");

    CompareArgs compare;
    auto* compare_cmd = app.add_subcommand(
        "compare", "The same matrix on several supervisors, their answers side by side");
    compare_cmd->add_option("--supervisor", compare.supervisors, "A supervisor (twice or more); see matrix --help")
        ->required();
    add_cell_options(compare_cmd, compare, "table, json or markdown", "List every cell with each supervisor's evidence");

    CheckArgs check;
    auto* check_cmd = app.add_subcommand(
        "check", "Will my service come back? Every exit cause under a real unit's settings");
    check_cmd->add_option("unit", check.unit, "The unit file (e.g. scenarios/units/httpd.service)")
        ->required();
    check_cmd->add_option("--supervisor", check.supervisor, supervisor_help())->default_val("systemd");
    check_cmd->add_flag("--allow-host", check.allow_host, "Let systemd-host drive the host's own systemd");
    check_cmd->add_option("--dropin", check.dropins, "A drop-in, in the order systemd applies them")
        ->check(CLI::ExistingFile);
    check_cmd->add_option("--cause", check.causes, "Exit causes: table, story, all, or ids")
        ->default_val("table,story");
    check_cmd->add_option("--format", check.format, "table (plain words), json, junit or markdown")
        ->default_val("table");
    check_cmd->add_option("-o,--output", check.output, "Write the report to FILE (whole or not at all)");
    check_cmd->add_option("--cell-timeout", check.cell_timeout_ms, "Deadline per cause in ms")
        ->default_val(30000);
    check_cmd->add_flag("-e,--evidence", check.evidence, "Show each answer's evidence");
    check_cmd->add_flag("--no-color", check.no_colour, "No colour even on a terminal");
    check_cmd->add_flag("--real", check.real,
                        "Run the unit's REAL daemon (its own ExecStart=, ExecReload=, ExecStop=, "
                        "Environment= …) on the built-in private systemd instead of the fake httpd, "
                        "one cause at a time. YOU are responsible for the unit being safe to run "
                        "here (its ports, files and side effects); crashloop never touches the "
                        "host's own services. Causes needing the daemon's cooperation are n/a");
    check_cmd->add_option("--reloads", check.reloads,
                          "--real: graceful reloads (ReloadUnit) to check when the unit has ExecReload=")
        ->default_val(5);

    SoakArgs soak;
    auto* soak_cmd = app.add_subcommand("soak", "Reproduce the intermittent reload crash: seeded "
                                                "crashes under a logrotate-style reload loop");
    soak_cmd->add_option("--unit", soak.unit,
                         "Run under this unit's settings (e.g. scenarios/units/httpd.service)");
    soak_cmd
        ->add_option("--dropin", soak.dropins,
                     "A drop-in of --unit, in the order systemd applies them")
        ->check(CLI::ExistingFile);
    soak_cmd->add_option("--restart", soak.restart,
                         "Restart= of the built-in unit (default on-failure)");
    soak_cmd->add_option("--reloads", soak.reloads, "Reloads to ask for")->default_val(100);
    soak_cmd->add_option("--interval", soak.interval_ms, "Least time between two reloads, in ms")
        ->default_val(20);
    soak_cmd
        ->add_option("--crash-probability", soak.probability,
                     "Chance a reload crashes: 0..1 or a/b")
        ->default_val("1/30");
    soak_cmd->add_option("--seed", soak.seed,
                         "Seed of the crash schedule (default: random, printed)");
    soak_cmd->add_option("--fault", soak.fault, "sigabrt, sigsegv or hang")->default_val("sigabrt");
    soak_cmd->add_flag("--keep-start-limit", soak.keep_start_limit,
                       "Keep the unit's start limit (default: off, since the crashes are packed)");
    soak_cmd->add_option("--workers", soak.workers, "Prefork workers of the fake httpd")
        ->default_val(2);
    soak_cmd->add_option("--supervisor", soak.supervisor, supervisor_help())->default_val("systemd");
    soak_cmd->add_flag("--allow-host", soak.allow_host, "Let systemd-host drive the host's own systemd");
    soak_cmd->add_option("--format", soak.format, "table or json")->default_val("table");
    soak_cmd->add_option("-o,--output", soak.output,
                         "Write the report to FILE (whole or not at all)");

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
        if (check_cmd->parsed()) return run_check_command(check, scenarios, libexec);
        if (compare_cmd->parsed()) return run_compare_command(compare, scenarios, libexec);
        if (soak_cmd->parsed()) {
            std::string command_line;
            for (int i = 0; i < argc; ++i)
                command_line += (i ? " " : "") + shell_quote(argv[i]);
            return run_soak_command(soak, scenarios, libexec, command_line);
        }
    } catch (const InputError& e) {
        std::fprintf(stderr, "crashloop: %s\n", e.what());
        return 2;
    } catch (const Interrupted&) {
        std::fprintf(stderr, "crashloop: interrupted; everything it started is gone, nothing reported\n");
        return 130;
    } catch (const SupervisorError& e) {
        std::fprintf(stderr, "crashloop: supervisor: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        // Unwound, so everything started is gone; never an abort with a core file.
        std::fprintf(stderr, "crashloop: %s\n", e.what());
        return 1;
    }
    return 0;
}
