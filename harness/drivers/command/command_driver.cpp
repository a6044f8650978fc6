#include "command_driver.hpp"
#include "log.hpp"

// Boost.Process v2 in 1.81 uses these without including them under BOOST_PROCESS_USE_STD_FS.
#include <boost/optional.hpp>
#include <boost/type_traits.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/process/v2/environment.hpp>
#include <boost/process/v2/process.hpp>
#include <boost/process/v2/stdio.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <optional>
#include <poll.h>
#include <set>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exit_cause.hpp"
#include "interrupt.hpp"
#include "jail.hpp"
#include "shell_words.hpp"
#include "unit_file_writer.hpp"

extern char** environ;

namespace crashloop {

namespace bp = boost::process::v2;
namespace asio = boost::asio;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::shared_ptr<spdlog::logger> logger() { return crashloop::logger("supervisor"); }

int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    return static_cast<int>(std::clamp<long long>(left.count(), 0, 60000));
}

bool is_placeholder_char(char c) {
    return (c >= 'a' && c <= 'z') || c == '_';
}

// Calls visit(name, begin, end) for every {placeholder} in a template: a
// lower-case name in braces not preceded by '$' (that is the shell's ${VAR}).
template <typename Visit> void each_placeholder(std::string_view templ, Visit visit) {
    for (size_t i = 0; i < templ.size(); ++i) {
        if (templ[i] != '{' || (i > 0 && templ[i - 1] == '$')) continue;
        size_t end = i + 1;
        while (end < templ.size() && is_placeholder_char(templ[end]))
            ++end;
        if (end == i + 1 || end >= templ.size() || templ[end] != '}') continue;
        visit(templ.substr(i + 1, end - i - 1), i, end + 1);
        i = end;
    }
}

// The service's own settings, for a supervisor that does not read unit files: one
// value each, or words (a command line, a list).
constexpr std::string_view kServiceValues[] = {"type", "restart", "restart_sec", "pid_file"};
constexpr std::string_view kServiceWords[] = {
    "exec_start", "exec_reload", "exec_stop", "environment", "success_exit_status",
    "restart_prevent_exit_status", "restart_force_exit_status"};

std::vector<std::string_view> known_placeholders(Operation operation) {
    std::vector<std::string_view> known = {"unit_dir", "events_dir", "run_dir"};
    auto add = [&known](std::initializer_list<std::string_view> more) {
        known.insert(known.end(), more);
    };
    switch (operation) {
    case Operation::version:
    case Operation::down:
        break;
    case Operation::up:
    case Operation::state:
        add({"names"});
        break;
    case Operation::kill:
        add({"signal"});
        [[fallthrough]];
    case Operation::install:
    case Operation::start:
    case Operation::stop:
    case Operation::reload:
        add({"name", "unit_file"});
        known.insert(known.end(), std::begin(kServiceValues), std::end(kServiceValues));
        known.insert(known.end(), std::begin(kServiceWords), std::end(kServiceWords));
        break;
    }
    return known;
}

// 100000 µs → "0.1", 0 → "0", 90 s → "90": what sleep(1) and most supervisors take.
std::string seconds_text(std::chrono::microseconds span) {
    std::string text = std::to_string(span.count() / 1000000);
    if (const long long fraction = span.count() % 1000000) {
        std::string digits = std::to_string(1000000 + fraction).substr(1);
        digits.erase(digits.find_last_not_of('0') + 1);
        text += "." + digits;
    }
    return text;
}

std::vector<std::string> words_of(const std::string& text) {
    std::vector<std::string> words;
    size_t start = 0;
    while ((start = text.find_first_not_of(' ', start)) != std::string::npos) {
        const size_t end = text.find(' ', start);
        words.push_back(text.substr(start, end - start));
        start = end;
    }
    return words;
}

std::string trimmed(std::string_view text) {
    const auto begin = text.find_first_not_of(" \t\r\n");
    if (begin == std::string_view::npos) return "";
    const auto end = text.find_last_not_of(" \t\r\n");
    return std::string(text.substr(begin, end - begin + 1));
}

template <typename Number> std::optional<Number> number(std::string_view text) {
    Number value{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

bool same(const ServiceState& a, const ServiceState& b) {
    return a.active_state == b.active_state && a.sub_state == b.sub_state && a.result == b.result &&
           a.main_pid == b.main_pid && a.n_restarts == b.n_restarts &&
           a.exec_main_code == b.exec_main_code && a.exec_main_status == b.exec_main_status &&
           a.job_id == b.job_id && a.load_state == b.load_state;
}

// The most a command may write to stdout or to stderr: a `state` of a few hundred services is
// some tens of kilobytes; a command that writes without end must not grow crashloop with it.
constexpr size_t kMaxOutput = size_t(16) << 20;

// One command in flight: /bin/sh -c TEMPLATE inside the jail, its stdout and
// stderr collected, its end seen on its pidfd and reaped with waitid(WNOHANG)
// (Boost's own wait can block the loop, see SPEC "Known traps").
struct Child {
    std::string what; // "planted-systemctl start crashloop-x.service", for logs and errors
    std::unique_ptr<bp::process> process;
    int pid = 0;
    int pidfd = -1, out = -1, err = -1;
    std::string out_text, err_text;
    bool exited = false;
    int code = 0;   // CLD_EXITED / CLD_KILLED / CLD_DUMPED
    int status = 0; // exit code or signal
    std::function<void(Child&)> finished;

    bool overflowed = false; // wrote more than kMaxOutput: cut off, and an error

    bool ok() const { return code == CLD_EXITED && status == 0 && !overflowed; }
    // The command's own complaint, else how it ended.
    std::string error() const {
        if (overflowed)
            return "`" + what + "` wrote more than " + std::to_string(kMaxOutput >> 20) +
                   " MiB: cut off (a supervisor's answer is never that long)";
        std::string text = trimmed(err_text);
        if (text.size() > 2000) text = "…" + text.substr(text.size() - 2000);
        if (!text.empty()) return text;
        if (code == CLD_EXITED)
            return "`" + what + "` exited with status " + std::to_string(status);
        return "`" + what + "` was killed by " + signal_name(status);
    }

    // Reads what is there; closes the pipe at its end, or once the command has written more
    // than kMaxOutput (it then dies of SIGPIPE at its next write).
    void drain(int& fd, std::string& into) {
        if (fd < 0) return;
        char buffer[8192];
        for (;;) {
            ssize_t got = read(fd, buffer, sizeof buffer);
            if (got > 0) {
                into.append(buffer, static_cast<size_t>(got));
                if (into.size() > kMaxOutput) {
                    overflowed = true;
                    into.resize(kMaxOutput);
                    close(fd);
                    fd = -1;
                    return;
                }
                continue;
            }
            if (got < 0 && errno == EINTR) continue;
            if (got < 0 && errno == EAGAIN) return;
            close(fd); // EOF or an error: nothing more to come
            fd = -1;
            return;
        }
    }

    void reap() {
        siginfo_t info{};
        if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG) < 0 || info.si_pid == 0)
            return;
        exited = true;
        code = info.si_code;
        status = info.si_status;
        // A daemon it started may hold our pipes open for good: take what the
        // command itself wrote (it is all in the pipe by now) and stop there.
        drain(out, out_text);
        drain(err, err_text);
        for (int* fd : {&out, &err, &pidfd})
            if (*fd >= 0) close(std::exchange(*fd, -1));
    }

    ~Child() {
        for (int fd : {out, err, pidfd})
            if (fd >= 0) close(fd);
        // bp::process's destructor kills a child that still runs (waitpid
        // says ECHILD for the one reaped here, and it leaves that alone).
    }
};

class CommandDriver final : public Supervisor {
  public:
    CommandDriver(CommandSet commands, const DriverContext& context)
        : commands_(std::move(commands)),
          window_(context.restart_window ? context.restart_window : commands_.restart_window),
          poll_interval_(commands_.poll_interval.value_or(kPollInterval)),
          jail_(std::make_unique<Jail>(context.libexec / "crashloop-sandbox")),
          unit_dir_(jail_->dir() / "units"), events_dir_(jail_->dir() / "events"),
          run_dir_(jail_->dir() / "supervisor") {
        for (const auto& dir : {unit_dir_, events_dir_, run_dir_}) {
            std::error_code error;
            fs::create_directories(dir, error);
            if (error)
                throw SupervisorError("cannot make " + dir.string() + ": " + error.message());
        }
        // $SYSTEMD_UNIT_PATH is where systemd itself looks for units when it
        // is set (systemd.unit(5), "Unit File Load Path"), so a systemctl
        // reimplementation or a wrapper around a real manager finds ours there.
        for (char** entry = environ; *entry; ++entry)
            if (!std::string_view(*entry).starts_with("SYSTEMD_UNIT_PATH=") &&
                !std::string_view(*entry).starts_with("CRASHLOOP_EXEC_DIR="))
                environment_.emplace_back(*entry);
        environment_.push_back("SYSTEMD_UNIT_PATH=" + unit_dir_.string());
        // Helper scripts beside an exec file are found from here.
        if (!commands_.directory.empty())
            environment_.push_back("CRASHLOOP_EXEC_DIR=" + commands_.directory.string());
    }

    ~CommandDriver() override {
        // Interrupted: no graceful end; the jail kills everything at once.
        if (!interrupt::requested()) end_gracefully();
        later_.clear(); // nobody is left to hear of them
        children_.clear();
    }

    // The runner's last stops are usually still running: let them finish (the jail kills
    // whatever is left after that anyway); then the supervisor's own end.
    void end_gracefully() {
        const auto deadline = Clock::now() + std::chrono::seconds(10);
        try {
            while (!children_.empty() && Clock::now() < deadline)
                if (pump(deadline, interrupt::fd(), nullptr)) return;
        } catch (const std::exception& e) {
            logger()->warn("{}: waiting for its last commands: {}", commands_.source, e.what());
        }
        if (up_ran_ && !commands_.down.empty()) {
            try {
                run_to_end(expand(commands_.down, common()), "down", std::chrono::seconds(30));
            } catch (const Interrupted&) {
            } catch (const std::exception& e) {
                logger()->warn("{}: {}", commands_.source, e.what());
            }
        }
    }

    // `up`, once, before the first service starts: a supervisor daemon to start for the run,
    // told every service it will be asked about.
    void reserve(const std::vector<std::string>& services) override {
        if (up_ran_ || commands_.up.empty()) return;
        up_ran_ = true;
        run_to_end(expand(commands_.up, with_names(common(), services)), "up", std::chrono::seconds(60));
    }

    std::string name() const override { return commands_.name; }

    // A command run through to its end (version, up, down): SupervisorError when it fails or
    // outlasts `limit`.
    std::string run_to_end(const std::string& command, const std::string& what,
                           std::chrono::seconds limit) {
        std::shared_ptr<Child> child = spawn(command, what, nullptr);
        const auto deadline = Clock::now() + limit;
        while (!child->exited && Clock::now() < deadline)
            if (pump(deadline, interrupt::fd(), child.get())) throw Interrupted();
        if (!child->exited)
            throw SupervisorError("`" + child->what + "` did not finish in " +
                                  std::to_string(limit.count()) + " s");
        if (!child->ok()) throw SupervisorError(commands_.source + ": " + what + ": " + child->error());
        return child->out_text;
    }

    std::string version() override {
        if (version_) return *version_;
        const std::string out = run_to_end(expand(commands_.version, common()), "version",
                                           std::chrono::seconds(30));
        std::string text = out.substr(0, out.find('\n'));
        version_ = trimmed(text);
        return *version_;
    }

    fs::path events_dir() const override { return events_dir_; }

    // Its state is polled (a command every 25 ms): a restart quicker than a poll hides how the
    // previous process ended.
    bool records_every_end() const override { return false; }

    std::optional<std::chrono::milliseconds> restart_window(const ServiceSpec& service) const override {
        if (!window_) return std::nullopt;
        return *window_ + std::chrono::ceil<std::chrono::milliseconds>(service.restart_sec);
    }

    // A command-line start may fork the service and exit (start-stop-daemon does).
    bool parent_may_exit() const override { return true; }

    std::optional<std::string> cannot_express(const ServiceSpec& service,
                                              const ExitCause& cause) const override {
        const std::string restart(to_string(service.restart));
        for (const std::string& key : {restart + "/" + cause.id, cause.id, restart})
            if (auto it = commands_.not_supported.find(key); it != commands_.not_supported.end())
                return it->second;
        if (cause.trigger == Trigger::reload && commands_.reload.empty())
            return commands_.source + " has no reload command";
        if (cause.trigger == Trigger::kill && commands_.kill.empty())
            return commands_.source + " has no kill command";
        return std::nullopt;
    }

    void watch(OnChange on_change, OnJobDone on_job_done) override {
        on_change_ = std::move(on_change);
        on_job_done_ = std::move(on_job_done);
    }

    void start(const ServiceSpec& service, Done done) override {
        std::string text = unit_file_text(service);
        try {
            write_unit_file(service, unit_dir_);
        } catch (const SupervisorError& e) {
            later([done, error = std::string(e.what())] { done(error, ""); });
            return;
        }
        settings_[service.name] = service_placeholders(service);
        auto values = values_for(service.name);
        auto run_start = [this, values, done, name = service.name] {
            spawn(expand(commands_.start, values), "start " + name, [this, done, name](Child& c) {
                if (!c.ok()) return done(c.error(), "");
                live_.insert(name);
                done("", "");
            });
        };
        // A unit file the supervisor has not read yet (systemctl: daemon-reload).
        if (commands_.install.empty() || installed_[service.name] == text) return run_start();
        spawn(expand(commands_.install, values), "install " + service.name,
              [this, done, run_start, text, name = service.name](Child& c) {
                  if (!c.ok()) return done(c.error(), "");
                  installed_[name] = text;
                  run_start();
              });
    }

    void stop(const std::string& service, Done done) override {
        job_command(commands_.stop, "stop", service, std::move(done));
    }

    void reload(const std::string& service, Done done) override {
        if (commands_.reload.empty()) return later([done] { done("no reload command", ""); });
        job_command(commands_.reload, "reload", service, std::move(done));
    }

    void kill(const std::string& service, int signal, Done done) override {
        if (commands_.kill.empty()) return later([done] { done("no kill command", ""); });
        auto values = values_for(service);
        values.values["signal"] = signal_name(signal);
        spawn(expand(commands_.kill, values), "kill " + service,
              [done](Child& c) { done(c.ok() ? "" : c.error(), ""); });
    }

    void state(const std::string& service, StateDone done) override {
        // Run at the next turn of wait(), with every other read asked for by
        // then: one `state` command answers them all, and it starts after each
        // call, so its answer reflects everything before it.
        reads_.emplace_back(service, std::move(done));
    }

    bool wait(Clock::time_point deadline, int interrupt_fd) override {
        for (;;) {
            bool ran = run_later();
            launch_reads();
            if (ran) return false;
            if (pump(deadline, interrupt_fd, nullptr)) return true;
            if (run_later()) {
                launch_reads();
                return false;
            }
            if (Clock::now() >= deadline) return false;
        }
    }

  private:
    CommandSet commands_;
    std::optional<std::chrono::milliseconds> window_; // --restart-window, else the file's
    std::chrono::milliseconds poll_interval_;         // the file's poll_interval_ms, else 25 ms
    std::unique_ptr<Jail> jail_; // before every member that refers into it: gone after them, killing what is left
    fs::path unit_dir_, events_dir_, run_dir_;
    std::vector<std::string> environment_;
    asio::io_context context_;
    std::vector<std::shared_ptr<Child>> children_;
    std::deque<std::function<void()>> later_; // callbacks due, run from wait()
    std::optional<std::string> version_;
    bool up_ran_ = false;
    OnChange on_change_;
    OnJobDone on_job_done_;
    std::set<std::string> live_;                   // started and not stopped since: polled
    std::map<std::string, std::string> installed_; // name → the unit file text installed
    std::map<std::string, Placeholders> settings_;  // name → its settings' placeholders
    std::vector<std::pair<std::string, StateDone>> reads_;
    // The latest view of each service, and which `state` run it came from, so
    // that an older run that finishes late cannot overwrite a newer view.
    std::map<std::string, std::pair<uint64_t, ServiceState>> views_;
    uint64_t shows_ = 0, jobs_ = 0;
    bool polling_ = false;
    Clock::time_point next_poll_ = Clock::now();

    Placeholders common() const {
        Placeholders p;
        p.values = {{"unit_dir", unit_dir_.string()},
                    {"events_dir", events_dir_.string()},
                    {"run_dir", run_dir_.string()}};
        return p;
    }
    static Placeholders with_names(Placeholders p, const std::vector<std::string>& names) {
        p.words["names"] = names;
        return p;
    }
    // A service's placeholders: its settings as given to its last start.
    Placeholders values_for(const std::string& service) const {
        Placeholders p = common();
        if (auto it = settings_.find(service); it != settings_.end()) {
            p.values.insert(it->second.values.begin(), it->second.values.end());
            p.words = it->second.words;
        }
        p.values["name"] = service;
        p.values["unit_file"] = (unit_dir_ / service).string();
        return p;
    }

    void later(std::function<void()> call) { later_.push_back(std::move(call)); }

    bool run_later() {
        bool ran = false;
        while (!later_.empty()) {
            auto call = std::move(later_.front());
            later_.pop_front();
            call();
            ran = true;
        }
        return ran;
    }

    void job_command(const std::string& templ, const std::string& verb, const std::string& service,
                     Done done) {
        spawn(expand(templ, values_for(service)), verb + " " + service,
              [this, verb, service, done](Child& c) {
                  if (verb == "stop") live_.erase(service);
                  // A reload command that ran and failed is a reload job that
                  // failed, not a refused call: a command line cannot tell "I
                  // will not" from "I tried and the daemon died meanwhile"
                  // (systemctl prints "Job for … failed" and exits 1 for both
                  // a broken ExecReload= and a main process that crashed during
                  // it). The caller judges a failed reload by what the service
                  // did (the fixture's log). A stop that fails stays an error:
                  // nobody can go on as if the service were stopped.
                  if (!c.ok() && verb != "reload") return done(c.error(), "");
                  // The command was the job: it is over now that it has exited.
                  const std::string job = verb + "-" + std::to_string(++jobs_);
                  if (!c.ok())
                      logger()->info("{}: the {} job failed: {}", service, verb, c.error());
                  done("", job);
                  if (on_job_done_) on_job_done_(job, service, c.ok() ? "done" : "failed");
              });
    }

    void launch_reads() {
        const bool poll_due = !polling_ && !live_.empty() && Clock::now() >= next_poll_;
        if (reads_.empty() && !poll_due) return;
        std::vector<std::string> names;
        auto add = [&names](const std::string& name) {
            if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
        };
        for (const auto& [name, done] : reads_)
            add(name);
        if (poll_due)
            for (const auto& name : live_)
                add(name);
        if (poll_due) {
            polling_ = true;
            next_poll_ = Clock::now() + poll_interval_;
        }
        const uint64_t run = ++shows_;
        const auto began = Clock::now();
        spawn(expand(commands_.state, with_names(common(), names)), "state",
              [this, run, names, poll_due, began, waiters = std::exchange(reads_, {})](Child& c) {
                  if (poll_due) {
                      polling_ = false;
                      // A supervisor whose `state` is slow is polled at most half the time:
                      // the next poll waits at least as long as this one took.
                      next_poll_ = std::max(next_poll_, Clock::now() + (Clock::now() - began));
                  }
                  std::string error;
                  std::vector<ServiceState> states;
                  if (!c.ok())
                      error = c.error();
                  else {
                      try {
                          states = parse_show(c.out_text, names, commands_.states);
                      } catch (const SupervisorError& e) {
                          error = commands_.source + ": " + e.what();
                      }
                  }
                  if (!error.empty()) {
                      logger()->warn("reading the state of {} service(s): {}", names.size(), error);
                      for (const auto& [name, done] : waiters)
                          done(error, {});
                      return;
                  }
                  std::vector<std::pair<std::string, ServiceState>> changed;
                  for (size_t i = 0; i < names.size(); ++i) {
                      auto& view = views_[names[i]];
                      if (view.first > run) continue;
                      const bool news = view.first == 0 || !same(view.second, states[i]);
                      view = {run, states[i]};
                      // A supervisor without readiness notification says
                      // "running" once it has started the process, a moment
                      // before the service has come up (logged its start,
                      // become ready) — and says nothing more after that. So
                      // every poll re-announces a running service: what the
                      // caller waits for may have changed, though the
                      // supervisor's words did not.
                      const bool running =
                          states[i].active_state == "active" && states[i].sub_state == "running";
                      if (news || (poll_due && running && live_.count(names[i])))
                          changed.emplace_back(names[i], states[i]);
                  }
                  for (const auto& [name, state] : changed)
                      if (on_change_) on_change_(name, state);
                  for (const auto& [name, done] : waiters) {
                      const size_t i = static_cast<size_t>(
                          std::find(names.begin(), names.end(), name) - names.begin());
                      done("", states[i]);
                  }
              });
    }

    std::shared_ptr<Child> spawn(const std::string& command, const std::string& what,
                                 std::function<void(Child&)> finished) {
        auto child = std::make_shared<Child>();
        child->what = commands_.name + " " + what;
        child->finished = std::move(finished);
        std::vector<std::string> argv = jail_->enter_prefix();
        argv.insert(argv.end(), {"/bin/sh", "-c", command});
        int out[2], err[2];
        if (pipe2(out, O_CLOEXEC) < 0) throw SupervisorError(std::string("pipe2: ") + std::strerror(errno));
        if (pipe2(err, O_CLOEXEC) < 0) {
            const int saved = errno;
            close(out[0]);
            close(out[1]);
            throw SupervisorError(std::string("pipe2: ") + std::strerror(saved));
        }
        try {
            child->process = std::make_unique<bp::process>(
                context_, argv.front(), std::vector<std::string>(argv.begin() + 1, argv.end()),
                bp::process_stdio{nullptr, out[1], err[1]}, bp::process_environment(environment_));
        } catch (const std::exception& e) {
            for (int fd : {out[0], out[1], err[0], err[1]})
                close(fd);
            throw SupervisorError("cannot run " + argv.front() + " for `" + child->what +
                                  "`: " + e.what());
        }
        close(out[1]);
        close(err[1]);
        child->out = out[0];
        child->err = err[0];
        for (int fd : {child->out, child->err})
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        child->pid = child->process->id();
        child->pidfd = static_cast<int>(syscall(SYS_pidfd_open, child->pid, 0));
        if (child->pidfd < 0)
            throw SupervisorError(std::string("pidfd_open: ") + std::strerror(errno));
        logger()->trace("{} (pid {}): {}", child->what, child->pid, command);
        children_.push_back(child);
        return child;
    }

    // Waits until a command ends (or only `only`, when given), interrupt_fd is
    // readable (true) or the deadline passes; runs the ended commands' callbacks.
    bool pump(Clock::time_point deadline, int interrupt_fd, Child* only) {
        std::vector<pollfd> fds;
        std::vector<Child*> owners;
        for (auto& child : children_) {
            if (child->exited || (only && child.get() != only)) continue;
            for (int fd : {child->pidfd, child->out, child->err}) {
                if (fd < 0) continue;
                fds.push_back({fd, POLLIN, 0});
                owners.push_back(child.get());
            }
        }
        if (interrupt_fd >= 0) fds.push_back({interrupt_fd, POLLIN, 0});
        Clock::time_point until = deadline;
        if (!only && !polling_ && !live_.empty()) until = std::min(until, next_poll_);
        int n = poll(fds.data(), fds.size(), remaining_ms(until));
        if (n < 0 && errno != EINTR)
            throw SupervisorError(std::string("poll: ") + std::strerror(errno));
        if (n <= 0) return false;
        if (interrupt_fd >= 0 && fds.back().revents) return true;
        for (size_t i = 0; i < owners.size(); ++i) {
            if (!fds[i].revents) continue;
            Child& child = *owners[i];
            if (fds[i].fd == child.out)
                child.drain(child.out, child.out_text);
            else if (fds[i].fd == child.err)
                child.drain(child.err, child.err_text);
            else if (!child.exited) {
                child.reap();
            }
        }
        for (auto it = children_.begin(); it != children_.end();) {
            auto child = *it;
            if (!child->exited) {
                ++it;
                continue;
            }
            it = children_.erase(it);
            logger()->trace("{} (pid {}) ended: {} {}", child->what, child->pid,
                            child->code == CLD_EXITED ? "status" : "signal", child->status);
            if (child->finished) later([child] { child->finished(*child); });
        }
        return false;
    }
};

} // namespace

std::string_view to_string(Operation operation) {
    switch (operation) {
    case Operation::version:
        return "version";
    case Operation::up:
        return "up";
    case Operation::down:
        return "down";
    case Operation::install:
        return "install";
    case Operation::start:
        return "start";
    case Operation::stop:
        return "stop";
    case Operation::reload:
        return "reload";
    case Operation::kill:
        return "kill";
    case Operation::state:
        return "state";
    }
    return "?";
}

std::vector<std::string> unknown_placeholders(std::string_view templ, Operation operation) {
    const auto known = known_placeholders(operation);
    std::vector<std::string> unknown;
    each_placeholder(templ, [&](std::string_view name, size_t, size_t) {
        if (std::find(known.begin(), known.end(), name) == known.end()) unknown.emplace_back(name);
    });
    return unknown;
}

std::optional<std::string> malformed_placeholder(std::string_view templ) {
    for (size_t i = 0; i < templ.size(); ++i) {
        if (templ[i] != '{' || (i > 0 && templ[i - 1] == '$')) continue;
        size_t end = i + 1;
        while (end < templ.size() && is_placeholder_char(templ[end])) ++end;
        if (end == i + 1) continue; // "{ cmd; }", "{}": the shell's
        const std::string name(templ.substr(i + 1, end - i - 1));
        if (end >= templ.size() || templ[end] != '}')
            return "{" + name + " has no closing brace";
        if ((i > 0 && templ[i - 1] == '{') || (end + 1 < templ.size() && templ[end + 1] == '}'))
            return "{" + name + "} is inside a second pair of braces";
        i = end;
    }
    return std::nullopt;
}

Placeholders service_placeholders(const ServiceSpec& service) {
    Placeholders p;
    p.values["type"] = service.type;
    p.values["restart"] = std::string(to_string(service.restart));
    p.values["restart_sec"] = seconds_text(service.restart_sec);
    p.values["pid_file"] = service.pid_file;
    p.words["exec_start"] = service.exec_start;
    p.words["exec_reload"] = service.exec_reload;
    p.words["exec_stop"] = service.exec_stop;
    p.words["environment"] = service.environment;
    p.words["success_exit_status"] = words_of(status_text(service.rules.success_exit_status));
    p.words["restart_prevent_exit_status"] =
        words_of(status_text(service.rules.restart_prevent_exit_status));
    p.words["restart_force_exit_status"] =
        words_of(status_text(service.rules.restart_force_exit_status));
    return p;
}

std::string expand(std::string_view templ, const Placeholders& placeholders) {
    std::string out;
    size_t copied = 0;
    each_placeholder(templ, [&](std::string_view name, size_t begin, size_t end) {
        std::string value;
        if (auto words = placeholders.words.find(std::string(name));
            words != placeholders.words.end()) {
            for (const auto& word : words->second)
                value += (value.empty() ? "" : " ") + shell_single_quoted(word);
        } else if (auto it = placeholders.values.find(std::string(name));
                   it != placeholders.values.end()) {
            value = shell_single_quoted(it->second);
        } else {
            return; // checked when the templates were loaded; left as written
        }
        out.append(templ.substr(copied, begin - copied));
        out += value;
        copied = end;
    });
    out.append(templ.substr(copied));
    return out;
}

bool systemd_active_state(std::string_view word) {
    for (std::string_view known :
         {"active", "reloading", "inactive", "failed", "activating", "deactivating"})
        if (word == known) return true;
    return false;
}

namespace {

// A state outside systemd's words, as the supervisor's table translates it; its own word is
// kept (ServiceState::own_words).
void translate(ServiceState& s, size_t block, const std::map<std::string, std::string>& states) {
    if (s.active_state.empty() || systemd_active_state(s.active_state)) return;
    auto it = states.find(s.active_state);
    if (it == states.end())
        throw SupervisorError("`state` output, block " + std::to_string(block) +
                              ": ActiveState=" + s.active_state +
                              " is not one of systemd's words; map it in the exec file's "
                              "[states] table");
    s.own_words = s.sub_state.empty() ? s.active_state : s.active_state + "/" + s.sub_state;
    const size_t slash = it->second.find('/');
    s.active_state = it->second.substr(0, slash);
    s.sub_state = it->second.substr(slash + 1);
}

} // namespace

std::vector<ServiceState> parse_show(std::string_view output,
                                     const std::vector<std::string>& names,
                                     const std::map<std::string, std::string>& translations) {
    std::vector<ServiceState> states;
    bool in_block = false;
    std::string id;
    size_t start = 0;
    auto fail = [&](const std::string& why) -> void {
        throw SupervisorError("`state` output, block " + std::to_string(states.size()) + ": " +
                              why);
    };
    while (start <= output.size()) {
        size_t end = output.find('\n', start);
        if (end == std::string_view::npos) end = output.size();
        std::string_view line = output.substr(start, end - start);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        start = end + 1;
        if (trimmed(line).empty()) {
            in_block = false;
            continue;
        }
        if (!in_block) {
            states.emplace_back();
            // Reported only by a non-empty NRestarts= or ExecMainCode=.
            states.back().reports_restarts = states.back().reports_exit = false;
            in_block = true;
            if (states.size() > names.size())
                fail("more blocks than the " + std::to_string(names.size()) +
                     " service(s) asked for");
        }
        ServiceState& s = states.back();
        const size_t equals = line.find('=');
        if (equals == std::string_view::npos)
            fail("expected KEY=value, got '" + std::string(line) + "'");
        const std::string_view key = line.substr(0, equals);
        const std::string_view value = line.substr(equals + 1);
        auto integer = [&](auto& field) {
            using Field = std::remove_reference_t<decltype(field)>;
            if (trimmed(value).empty()) return; // not reported: left 0, and said where it counts
            auto parsed = number<Field>(value);
            if (!parsed)
                fail("expected a number in " + std::string(key) + "=, got '" + std::string(value) +
                     "'");
            field = *parsed;
        };
        if (key == "ActiveState")
            s.active_state = value;
        else if (key == "SubState")
            s.sub_state = value;
        else if (key == "Result")
            s.result = value;
        else if (key == "LoadState")
            s.load_state = value;
        else if (key == "MainPID")
            integer(s.main_pid);
        else if (key == "NRestarts") {
            integer(s.n_restarts);
            s.reports_restarts = !trimmed(value).empty();
        } else if (key == "ExecMainCode") {
            integer(s.exec_main_code);
            s.reports_exit = !trimmed(value).empty();
        }
        else if (key == "ExecMainStatus")
            integer(s.exec_main_status);
        else if (key == "ExecMainExitTimestampMonotonic")
            integer(s.exec_main_exit_us);
        else if (key == "Job") {
            // systemctl prints the job's id (or nothing, or 0, when there is none).
            const std::string text = trimmed(value);
            size_t digits = 0;
            while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])))
                ++digits;
            auto id_number = number<uint32_t>(std::string_view(text).substr(0, digits));
            s.job_id = text.empty() ? 0 : id_number ? *id_number : 1;
            if (!text.empty() && text != "0" && s.job_id == 0) s.job_id = 1;
        } else if (key == "Id") {
            const size_t i = states.size() - 1;
            if (value != names[i])
                fail("Id=" + std::string(value) + " where " + names[i] + " was asked for");
        }
    }
    if (states.size() != names.size())
        throw SupervisorError("`state` printed " + std::to_string(states.size()) +
                              " block(s) for " + std::to_string(names.size()) + " service(s)");
    for (size_t i = 0; i < states.size(); ++i) translate(states[i], i, translations);
    return states;
}

std::unique_ptr<Supervisor> make_command_driver(CommandSet commands, const DriverContext& context) {
    return std::make_unique<CommandDriver>(std::move(commands), context);
}

} // namespace crashloop
