#include "common.hpp"

#include <fcntl.h>
#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <sys/stat.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "errors.hpp"
#include "fd.hpp"
#include "interrupt.hpp"
#include "private_systemd.hpp" // scenarios_dir(), libexec_dir()
#include "registry.hpp"

namespace crashloop::cli {

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

void reserve_standard_fds() {
    // Started with `>&-`, the first file the run opens would become fd 1 and
    // receive the report. /dev/null read-only holds the number: a write there fails.
    for (int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0 && null != fd) {
            dup2(null, fd);
            close(null);
        }
    }
}

namespace {

std::string errno_message() { return std::strerror(errno); }

void write_all(int fd, const std::string& text, const std::string& where) {
    size_t done = 0;
    while (done < text.size()) {
        ssize_t n = write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw InputError(where, 0, "cannot write the report there: " + errno_message());
        done += static_cast<size_t>(n);
    }
}

// A symlink is followed to the file it names (which may not exist yet), so
// that file is replaced and the link stays a link.
std::filesystem::path resolve_links(std::filesystem::path path) {
    for (int hops = 0; hops < 40; ++hops) {
        std::error_code error;
        if (!std::filesystem::is_symlink(path, error)) return path;
        auto target = std::filesystem::read_symlink(path, error);
        if (error) throw InputError(path.string(), 0, "cannot read the link: " + error.message());
        path = target.is_absolute() ? target : path.parent_path() / target;
    }
    throw InputError(path.string(), 0, "cannot write the report there: too many levels of symbolic links");
}

void write_to_stdout(const std::string& text) {
    errno = 0;
    const size_t written = std::fwrite(text.data(), 1, text.size(), stdout);
    const bool flushed = std::fflush(stdout) == 0;
    if (written != text.size() || !flushed || std::ferror(stdout)) {
        std::string why = errno != 0 ? errno_message() : "short write";
        std::clearerr(stdout);
        throw InputError("stdout", 0,
                         "cannot write the report (" + why + "); whatever reached it is incomplete");
    }
}

} // namespace

// The report lands whole or not at all: a regular file (or one a symlink
// names) is replaced atomically; a device or fifo is written into, as a shell
// redirection would, never replaced by a file of the same name.
void write_report(const std::string& text, const std::string& output) {
    if (output.empty() || output == "-") return write_to_stdout(text);
    const std::filesystem::path target = resolve_links(output);
    struct stat st {};
    if (stat(target.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode)) throw InputError(output, 0, "cannot write the report there: a directory");
        int fd = open(target.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) throw InputError(output, 0, "cannot write the report there: " + errno_message());
        Fd owned(fd);
        write_all(fd, text, output);
        if (close(owned.release()) != 0)
            throw InputError(output, 0, "cannot write the report there: " + errno_message());
        return;
    }
    const std::string temporary = target.string() + ".partial";
    int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) throw InputError(output, 0, "cannot write the report there: " + errno_message());
    try {
        write_all(fd, text, output);
    } catch (...) {
        close(fd);
        std::remove(temporary.c_str());
        throw;
    }
    if (close(fd) != 0 || std::rename(temporary.c_str(), target.c_str()) != 0) {
        const std::string why = errno_message();
        std::remove(temporary.c_str());
        throw InputError(output, 0, "cannot write the report there: " + why);
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
    command->add_option("-j,--jobs", args.jobs, "Cells in flight at once (0: as many as the supervisor's starts keep up with)")
        ->default_val(0);
    command
        ->add_option("--cell-timeout", args.cell_timeout_ms,
                     "Deadline per cell in ms; hitting it is an error verdict")
        ->default_val(30000)
        ->check(CLI::Range(1000u, 3600u * 1000u)); // under 1 s every cell would error
    command->add_flag("-e,--evidence", args.evidence, evidence_help);
    command->add_flag("--no-color", args.no_colour, "No colour even on a terminal");
}

DrivenSupervisor::DrivenSupervisor(const Setup& setup, const std::string& spec, bool allow_host)
    : supervisor(make_supervisor(spec, {.argument = {},
                                        .libexec = setup.libexec,
                                        .scenarios = setup.scenarios,
                                        .allow_host = allow_host,
                                        .restart_window = setup.restart_window})),
      expectations(Expectations::for_supervisor(setup.scenarios, supervisor->name(),
                                                supervisor->version())) {
    expectations.check_causes(setup.causes);
    // A supervisor whose state shows a pending restart has no window to wait out: a value
    // given for it would be ignored, so it is refused.
    if (setup.restart_window && !supervisor->restart_window(ServiceSpec{}))
        throw InputError("--restart-window", 0,
                         supervisor->name() + " shows a restart still to come in its state; "
                         "--restart-window is for systemctl:PATH and exec:FILE");
}

Setup load_setup(const Globals& globals) {
    // Every supervisor runs in a cgroup of crashloop's own, the built-in systemd in a mount
    // namespace too: both need root. Said before anything starts.
    if (geteuid() != 0)
        throw InputError("uid " + std::to_string(geteuid()), 0,
                         "crashloop needs root to run a supervisor (a cgroup of its own, a private mount "
                         "namespace for the built-in systemd); run it as root or with sudo "
                         "(`crashloop list` and `crashloop cell` need no root)");
    const std::string& scenarios_override = globals.scenarios;
    const std::string& libexec_override = globals.libexec;
    Setup setup;
    setup.scenarios =
        scenarios_override.empty() ? scenarios_dir() : std::filesystem::path(scenarios_override);
    // Absolute: the paths go into ExecStart= lines a supervisor runs from its own directory.
    setup.libexec = std::filesystem::absolute(
        libexec_override.empty() ? libexec_dir() : std::filesystem::path(libexec_override));
    // Everything that can be wrong with the input is found before anything runs.
    setup.restart_window = globals.restart_window;
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
    options.interrupt_fd = interrupt::fd();
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
