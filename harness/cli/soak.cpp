// `crashloop soak`: the intermittent reload crash, on demand and replayable, on any supervisor.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "common.hpp"
#include "errors.hpp"
#include "interrupt.hpp"
#include "reload_chance.hpp"
#include "service_settings.hpp"
#include "soak.hpp"
#include "unit_file.hpp"

namespace crashloop::cli {

namespace {

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
    // --real
    bool real = false;
    std::string url;
    unsigned clients = 4;
    bool inject = false;
    std::string inject_signal;
    bool until_crash = false;
    std::string keep_cores;
    std::vector<std::string> core_dirs;
    std::string logrotate;
    std::string log_dir;
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

class SoakCommand : public Command {
  public:
    explicit SoakCommand(CLI::App& app) {
        app_ = app.add_subcommand("soak", "Reproduce the intermittent reload crash: seeded "
                                          "crashes under a logrotate-style reload loop");
        app_->add_option("--unit", args_.unit,
                         "Run under this unit's settings (e.g. scenarios/units/httpd.service)");
        app_->add_option("--dropin", args_.dropins,
                         "A drop-in of --unit, in the order systemd applies them")
            ->check(CLI::ExistingFile);
        app_->add_option("--restart", args_.restart,
                         "Restart= of the built-in unit (default on-failure)");
        app_->add_option("--reloads", args_.reloads, "Reloads to ask for")->default_val(100);
        app_->add_option("--interval", args_.interval_ms, "Least time between two reloads, in ms")
            ->default_val(20);
        app_->add_option("--crash-probability", args_.probability,
                         "Chance a reload crashes: 0..1 or a/b")
            ->default_val("1/30");
        app_->add_option("--seed", args_.seed,
                         "Seed of the crash schedule (default: random, printed)");
        app_->add_option("--fault", args_.fault, "sigabrt, sigsegv or hang")
            ->default_val("sigabrt");
        app_->add_flag("--keep-start-limit", args_.keep_start_limit,
                       "Keep the unit's start limit (default: off, since the crashes are packed)");
        app_->add_option("--workers", args_.workers, "Prefork workers of the fake httpd")
            ->default_val(2);
        app_->add_option("--supervisor", args_.supervisor, supervisor_help())
            ->default_val("systemd");
        app_->add_flag("--allow-host", args_.allow_host,
                       "Let systemd-host drive the host's own systemd");
        app_->add_flag("--real", args_.real,
                       "Soak the unit's own daemon (--unit) instead of the fake httpd");
        app_->add_option("--url", args_.url,
                         "--real: the daemon's address for the HTTP load (default: PORT= or "
                         "*_PORT= of the unit's environment)");
        app_->add_option("--clients", args_.clients,
                         "--real: concurrent HTTP clients, every other one keeping its "
                         "connection alive")
            ->default_val(4);
        app_->add_flag("--inject", args_.inject,
                       "--real: fail the daemon's own reload handler on the seeded reloads "
                       "(LD_PRELOAD of libcrashloop-inject.so), by --fault");
        app_->add_option("--inject-signal", args_.inject_signal,
                         "--inject: the reload signal to catch (default: from ExecReload=, "
                         "SIGUSR1 for a graceful restart, else SIGHUP)");
        app_->add_flag("--until-crash", args_.until_crash, "--real: stop at the first crash");
        app_->add_option("--keep-cores", args_.keep_cores,
                         "--real: move each crash's core into DIR (made if missing)");
        app_->add_option("--core-dir", args_.core_dirs,
                         "--real: where else the daemon dumps core (Apache: CoreDumpDirectory, "
                         "by default its ServerRoot)")
            ->check(CLI::ExistingDirectory);
        app_->add_option("--logrotate", args_.logrotate,
                         "--real: Debian's logrotate with this configuration asks for each reload "
                         "(its postrotate), against the run's own systemd");
        app_->add_option("--log-dir", args_.log_dir,
                         "--logrotate: the daemon's own log folder, where the configuration's "
                         "logs are rotated (never the host's)")
            ->check(CLI::ExistingDirectory);
        app_->add_option("--format", args_.format, "table or json")->default_val("table");
        app_->add_option("-o,--output", args_.output,
                         "Write the report to FILE (whole or not at all)");
    }
    int run(const Globals& globals) override;

  private:
    SoakArgs args_;
};

} // namespace

int SoakCommand::run(const Globals& globals) {
    if (args_.format != "table" && args_.format != "json")
        throw InputError("--format", 0,
                         "unknown format '" + args_.format + "'; expected table or json");
    if (!args_.unit.empty() && !args_.restart.empty())
        throw InputError("--restart", 0,
                         "--restart and --unit do not go together: the unit says Restart=");
    if (args_.unit.empty() && !args_.dropins.empty())
        throw InputError("--dropin", 0, "a drop-in needs the unit it belongs to (--unit FILE)");
    if (args_.reloads == 0) throw InputError("--reloads", 0, "expected at least 1 reload");
    if (args_.real && args_.unit.empty())
        throw InputError("--real", 0, "--real soaks the daemon of a unit: give --unit FILE");
    for (const auto& [given, name] : {std::pair{args_.inject, "--inject"},
                                      std::pair{!args_.url.empty(), "--url"},
                                      std::pair{args_.until_crash, "--until-crash"},
                                      std::pair{!args_.keep_cores.empty(), "--keep-cores"},
                                      std::pair{!args_.core_dirs.empty(), "--core-dir"},
                                      std::pair{!args_.inject_signal.empty(), "--inject-signal"},
                                      std::pair{!args_.logrotate.empty(), "--logrotate"}})
        if (given && !args_.real)
            throw InputError(name, 0, std::string(name) + " goes with --real (the unit's own daemon)");
    if (!args_.log_dir.empty() && args_.logrotate.empty())
        throw InputError("--log-dir", 0, "--log-dir goes with --logrotate");
    if (!args_.logrotate.empty()) {
        if (args_.log_dir.empty())
            throw InputError("--logrotate", 0,
                             "--logrotate needs --log-dir DIR, the daemon's own log folder (the "
                             "configuration's logs are rotated there, never the host's)");
        if (args_.supervisor != "systemd")
            throw InputError("--logrotate", 0,
                             "runs logrotate as a service of the built-in systemd, so that it ends "
                             "with the run; not on " + args_.supervisor);
        if (access(args_.logrotate.c_str(), R_OK) != 0 || std::filesystem::is_directory(args_.logrotate))
            throw InputError(args_.logrotate, 0,
                             std::string("cannot read it: ") +
                                 (std::filesystem::is_directory(args_.logrotate) ? "a directory"
                                                                                 : std::strerror(errno)));
    }
    if (!args_.inject_signal.empty() && !args_.inject)
        throw InputError("--inject-signal", 0, "--inject-signal goes with --inject");
    if (!args_.inject_signal.empty()) injectable_signal(args_.inject_signal);
    // A real daemon crashes on a schedule only through the injection library.
    if (args_.real && !args_.inject)
        for (const char* name : {"--crash-probability", "--fault", "--seed"})
            if (app_->count(name) > 0)
                throw InputError(name, 0,
                                 std::string(name) + " schedules crashes, which a real daemon has "
                                                     "only with --inject");
    if (args_.real && app_->count("--workers") > 0)
        throw InputError("--workers", 0, "--workers is the fake httpd's: the real daemon has its own");
    if (args_.real && (args_.clients == 0 || args_.clients > 256))
        throw InputError("--clients", 0, "expected 1 to 256 HTTP clients");
    if (args_.real && args_.supervisor.starts_with("systemd-host"))
        throw InputError("--real", 0,
                         "runs the unit's real daemon only on a supervisor crashloop starts and "
                         "ends itself (not the host's systemd)");
    if (args_.workers > 64) throw InputError("--workers", 0, "expected 0 to 64 workers");
    std::string replay = globals.command_line;
    SoakOptions options;
    const auto p = parse_reload_probability(args_.probability);
    if (!p)
        throw InputError("--crash-probability", 0,
                         "expected a probability in [0, 1], as 0.0333 or 1/30, got '" +
                             args_.probability + "'");
    options.crash_probability = *p;
    if (!args_.restart.empty()) {
        const auto value = parse_restart_value(args_.restart);
        if (!value)
            throw InputError(
                "--restart", 0,
                "unknown Restart= value '" + args_.restart +
                    "'; expected no, always, on-success, on-failure, on-abnormal, on-abort or "
                    "on-watchdog");
        options.restart = *value;
    }
    if (args_.fault != "sigabrt" && args_.fault != "sigsegv" && args_.fault != "hang")
        throw InputError("--fault", 0,
                         "unknown fault '" + args_.fault + "'; expected sigabrt, sigsegv or hang");
    if (args_.seed.empty()) {
        // 53 bits: the seed survives JSON readers that hold numbers as doubles (jq).
        std::random_device random;
        options.seed = ((uint64_t(random()) << 32) | random()) & ((uint64_t(1) << 53) - 1);
        replay += " --seed " + std::to_string(options.seed);
    } else {
        const auto seed = parse_reload_seed(args_.seed);
        if (!seed)
            throw InputError("--seed", 0,
                             "expected an unsigned 64-bit number, got '" + args_.seed + "'");
        options.seed = *seed;
    }
    if (!args_.unit.empty()) {
        options.unit = args_.unit;
        for (const auto& dropin : args_.dropins)
            options.dropins.emplace_back(dropin);
        // Bad input is found before anything runs.
        const auto settings = service_settings(UnitFile::load(*options.unit, options.dropins));
        if (args_.real) {
            if (!settings.has_exec_reload)
                throw InputError(args_.unit, 0,
                                 "the unit has no ExecReload=, so there is no reload to soak");
        } else {
            check_soakable(settings, args_.unit);
        }
    }
    options.real = args_.real;
    options.url = args_.url;
    options.clients = args_.clients;
    options.inject = args_.inject;
    options.inject_signal = args_.inject_signal;
    options.until_crash = args_.until_crash;
    if (!args_.logrotate.empty()) {
        options.logrotate = std::filesystem::absolute(args_.logrotate);
        options.log_dir = std::filesystem::absolute(args_.log_dir);
    }
    for (const auto& dir : args_.core_dirs)
        options.core_dirs.emplace_back(std::filesystem::absolute(dir));
    if (!args_.keep_cores.empty()) {
        std::error_code error;
        std::filesystem::create_directories(args_.keep_cores, error);
        if (error || access(args_.keep_cores.c_str(), W_OK) != 0)
            throw InputError("--keep-cores", 0,
                             "cannot write into " + args_.keep_cores + ": " +
                                 (error ? error.message() : std::string(std::strerror(errno))));
        options.keep_cores = std::filesystem::absolute(args_.keep_cores);
    }
    options.reloads = args_.reloads;
    options.interval = std::chrono::milliseconds(args_.interval_ms);
    options.fault = args_.fault;
    options.keep_start_limit = args_.keep_start_limit;
    options.workers = args_.workers;
    options.replay = replay;

    check_supervisor_name(args_.supervisor);
    const Setup setup = load_setup(globals);
    if (args_.seed.empty())
        std::fprintf(stderr, "crashloop: soak seed %llu\n",
                     static_cast<unsigned long long>(options.seed));
    options.fixture = setup.libexec / "fake-httpd";
    options.inject_library = setup.libexec / "libcrashloop-inject.so";
    options.interrupt_fd = interrupt::fd();
    const bool progress = isatty(STDERR_FILENO);
    if (progress) options.progress = draw_progress;

    DrivenSupervisor supervisor(setup, args_.supervisor, args_.allow_host);
    SoakReport report;
    try {
        report = options.real ? run_real_soak(*supervisor.supervisor, options)
                              : run_soak(*supervisor.supervisor, options);
    } catch (...) {
        if (progress) std::fprintf(stderr, "\n");
        throw;
    }
    if (progress) std::fprintf(stderr, "\r\033[K");
    report.verdict = judge_soak(report, setup.table, supervisor.expectations);
    write_report(render_soak(report, args_.format == "json"), args_.output);
    return report.verdict->as_promised ? 0 : 1;
}

std::unique_ptr<Command> soak_command(CLI::App& app) {
    return std::make_unique<SoakCommand>(app);
}

} // namespace crashloop::cli
