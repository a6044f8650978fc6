#include "real_check.hpp"
#include "log.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "daemon_process.hpp"
#include "errors.hpp"
#include "fd.hpp"
#include "judge.hpp"
#include "runner.hpp"
#include "service_spec.hpp"
#include "session.hpp"
#include "subject.hpp"
#include "supervisor.hpp"
#include "unit_file.hpp"

namespace crashloop {

namespace {

// How long a daemon that catches a signal gets to die of it before it is
// judged to have handled it and lived on (see run_signal()).
constexpr std::chrono::seconds kCaughtSignalWindow{3};

std::shared_ptr<spdlog::logger> logger() { return crashloop::logger("harness"); }

bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

// kill(P, 0), through its pidfd: a pidfd turns readable when its process ends.
bool alive(uint32_t pid) {
    if (pid == 0) return false;
    Fd fd = pidfd_of(pid);
    return fd.get() >= 0 && !readable(fd.get());
}

// Whether the process catches or ignores a signal (/proc/PID/status, SigCgt/SigIgn).
struct Disposition {
    bool caught = false, ignored = false;
};
Disposition disposition_of(uint32_t pid, int signo) {
    Disposition d;
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);) {
        bool* flag = line.starts_with("SigCgt:")   ? &d.caught
                     : line.starts_with("SigIgn:") ? &d.ignored
                                                   : nullptr;
        if (!flag) continue;
        const unsigned long long mask = std::stoull(line.substr(7), nullptr, 16);
        *flag = (mask >> (signo - 1)) & 1ULL;
    }
    return d;
}

Incarnation incarnation(int number, uint32_t pid, long long started_ns, std::string last_event) {
    Incarnation i;
    i.number = number;
    i.pid = static_cast<int>(pid);
    i.started_ns = started_ns;
    i.last_event = std::move(last_event);
    return i;
}

std::string ms_text(long long ms) {
    return std::to_string(ms) + " ms";
}

// The signal a cause sends to the main pid from outside; 0 when it sends none.
// The table's signal rows (sighup … sigbus) have the fake httpd raise it itself;
// a real daemon gets it from outside, as `kill -s SIG <MainPID>` does.
int outside_signal(const ExitCause& cause) {
    if (cause.trigger == Trigger::kill) return cause.kill_signal;
    if (cause.group == "table" && cause.trigger == Trigger::none &&
        cause.outcome.kind == Outcome::Kind::killed)
        return cause.outcome.signal;
    return 0;
}

// Why a cause cannot be put to a real daemon from outside, or "" when it can.
std::string not_applicable(const ExitCause& cause, const ServiceSettings& unit) {
    if (unit.type == "oneshot" || unit.type == "dbus")
        return "a Type=" + unit.type + " service is not run by --real (" +
               (unit.type == "dbus" ? "the private manager has no D-Bus to take its name"
                                    : "it has no main process that stays") +
               ")";
    if (cause.trigger == Trigger::stop || outside_signal(cause) != 0) return "";
    const std::string tail = "; run without --real to use the fake httpd";
    if (cause.group == "modifier")
        return "a real daemon cannot be told to end by " + describe(cause.outcome) +
               " (the case sets its own exit status rules on the unit)" + tail;
    if (cause.every_incarnation)
        return "a real daemon cannot be told to crash at every start" + tail;
    if (cause.trigger == Trigger::reload && cause.outcome.kind == Outcome::Kind::killed)
        return "a real daemon cannot be told to crash during a graceful reload" + tail;
    switch (cause.outcome.kind) {
    case Outcome::Kind::exited:
        return "a real daemon cannot be told to exit " + std::to_string(cause.outcome.exit_code) +
               tail;
    case Outcome::Kind::timeout:
        return cause.trigger == Trigger::reload
                   ? "a real daemon cannot be told to hang in ExecReload=" + tail
                   : "a real daemon cannot be told to stall its start-up past TimeoutStartSec=" +
                         tail;
    case Outcome::Kind::watchdog:
        return "a real daemon cannot be told to miss its watchdog pings" + tail;
    default:
        return "a real daemon cannot be told to do this" + tail;
    }
}

std::string command_text(const std::vector<std::string>& argv) {
    std::string text;
    for (const auto& word : argv)
        text += (text.empty() ? "" : " ") + word;
    return text;
}

// One service at a time on the supervisor, driven through the engine's Session: every wait
// is on an event with a deadline (the supervisor's word, a pidfd, the interrupt).
class RealRunner {
  public:
    RealRunner(Session& session, const RestartTable& table, const Expectations& expectations,
               const ServiceSettings& settings, const CheckOptions& options)
        : session_(session), table_(table), expectations_(expectations), settings_(settings),
          options_(options) {}

    std::string unit_name(const std::string& id) const {
        return session_.supervisor().service_prefix() + "real-" + id + ".service";
    }

    CellResult run_cause(const ExitCause& cause) {
        begin_cell(cause.id);
        CellResult cell = blank_cell(cause.id, expected_restart(table_, settings_.restart, cause));
        const auto started = Clock::now();
        const auto deadline = started + options_.run.cell_deadline;
        if (start_daemon(cell, deadline)) {
            if (cause.trigger == Trigger::stop)
                run_stop(cell, deadline);
            else
                run_signal(cell, cause, outside_signal(cause), deadline);
        }
        if (!handled_.empty()) answers_[cell.cause] = handled_ + answer_in_words(cell);
        end_cell(cell, started);
        return cell;
    }

    CellResult run_reloads(unsigned reloads) {
        begin_cell(graceful_reload_id);
        CellResult cell = blank_cell(graceful_reload_id, false);
        const auto started = Clock::now();
        const auto deadline = started + options_.run.cell_deadline;
        if (start_daemon(cell, deadline)) reload_loop(cell, reloads, deadline);
        end_cell(cell, started);
        return cell;
    }

    // Why the supervisor cannot run this cause on the unit at all (its driver decides), if so.
    std::optional<std::string> cannot_express(const ExitCause& cause) {
        unit_ = unit_name(cause.id);
        return session_.supervisor().cannot_express(service_spec(cause.id), cause);
    }

    std::string answer_of(const CellResult& cell) const {
        auto it = answers_.find(cell.cause);
        return it == answers_.end() ? "" : it->second;
    }

  private:
    Session& session_;
    const RestartTable& table_;
    const Expectations& expectations_;
    const ServiceSettings& settings_;
    const CheckOptions& options_;

    // The cell in progress.
    std::string unit_;
    ServiceWatch* watch_ = nullptr;
    size_t ends_before_ = 0; // the supervisor's record of the ends before the trigger
    std::optional<std::chrono::milliseconds> window_; // Supervisor::restart_window, if any
    std::map<std::string, std::string> answers_; // cause id → plain words
    std::string handled_; // "the daemon handled SIGTERM and ended by exit code 0: "

    const std::string& who() const { return session_.who(); }
    Supervisor& supervisor() { return session_.supervisor(); }
    const std::string& last_state() const { return watch_->last_state; }

    // How P1 ended, as the supervisor said after the trigger.
    const ServiceState* first_end() const {
        return watch_->ends.size() > ends_before_ ? &watch_->ends[ends_before_] : nullptr;
    }
    uint32_t p1() const { return watch_->first_pid(); }
    std::optional<long long> death_ns() const { return session_.died(p1()); }

    void begin_cell(const std::string& id) {
        unit_ = unit_name(id);
        watch_ = &session_.follow(unit_);
        session_.forget_pids();
        ends_before_ = 0;
        handled_.clear();
    }

    CellResult blank_cell(const std::string& id, bool expected) const {
        CellResult cell;
        cell.restart = settings_.restart;
        cell.cause = id;
        cell.expected_restarted = expected;
        return cell;
    }

    // The unit as it is: the real daemon as the subject (subject.hpp).
    ServiceSpec service_spec(const std::string& what) const {
        ServiceSpec s = real_daemon(settings_);
        s.name = unit_;
        s.description = "crashloop check --real " + settings_.unit_name + ": " + what;
        return s;
    }

    // Starts the daemon and waits until it runs with a main pid; false (and an
    // error verdict) when it does not.
    bool start_daemon(CellResult& cell, Clock::time_point deadline) {
        const ServiceSpec service = service_spec(cell.cause);
        window_ = supervisor().restart_window(service);
        const std::string result = session_.run_job(
            unit_, [&](Supervisor::Done done) { supervisor().start(service, std::move(done)); },
            deadline);
        if (result != "done") {
            auto s = session_.read(unit_, deadline);
            return fail_cell(cell,
                             "the daemon did not start: start job " +
                                 (result.empty() ? "unfinished at the deadline" : result) +
                                 (s ? " (" + s->state() + ", Result=" + s->result + ")" : ""));
        }
        auto s = session_.read_until(
            unit_,
            [](const ServiceState& now) {
                return now.state() == "active/running" && now.job_id == 0;
            },
            deadline);
        if (!s)
            return fail_cell(cell, "the daemon never became active/running: " + who() +
                                       " last said " + last_state());
        if (s->main_pid == 0)
            return fail_cell(
                cell, who() +
                          " knows no main pid for the daemon (a Type=forking unit without PIDFile= "
                          "whose daemon it could not guess)");
        // P1 is the daemon that runs now, not a launcher seen during the start.
        watch_->main_pids = {{s->main_pid, monotonic_ns()}};
        ends_before_ = watch_->ends.size();
        if (!session_.watch_pid(s->main_pid))
            return fail_cell(cell, fmt::format("main pid {} was gone before it could be watched "
                                               "(pidfd_open: {})",
                                               s->main_pid, std::strerror(errno)));
        if (!wait_for_exec(session_, s->main_pid, deadline))
            return fail_cell(cell, fmt::format("main pid {} still ran {}'s own program (it never "
                                               "exec'd the daemon) at the deadline",
                                               s->main_pid, who()));
        wait_until_idle(session_, s->main_pid, std::min(deadline, Clock::now() + kSettleLimit));
        return true;
    }

    // Until the end of its start-up (daemon_process.hpp), within kSettleLimit.
    static constexpr auto kSettleLimit = std::chrono::seconds(3);

    bool fail_cell(CellResult& cell, const std::string& reason) {
        cell.verdict = Verdict::error;
        cell.reason = reason;
        cell.observed.final_state = last_state();
        if (cell.evidence.empty()) cell.evidence = who() + " last said " + last_state();
        return false;
    }

    // `kill -s SIG <MainPID>` from outside, then: a new main pid, or down for good.
    void run_signal(CellResult& cell, const ExitCause& cause, int signo,
                    Clock::time_point deadline) {
        const uint32_t pid = p1();
        const Disposition d = disposition_of(pid, signo);
        const std::string sent =
            signal_name(signo) + " sent from outside to main pid " + std::to_string(pid);
        if (d.ignored) {
            cell.verdict = Verdict::not_applicable;
            cell.reason = "the daemon ignores " + signal_name(signo) + " (SigIgn of main pid " +
                          std::to_string(pid) + "): it cannot die by it from outside";
            cell.evidence = cell.reason;
            return;
        }
        const long long sent_ns = monotonic_ns();
        ends_before_ = watch_->ends.size();
        if (syscall(SYS_pidfd_send_signal, session_.pidfd(pid), signo, nullptr, 0) != 0)
            return void(fail_cell(cell, fmt::format("pidfd_send_signal({}, {}): {}", pid,
                                                    signal_name(signo), std::strerror(errno))));
        // A daemon that catches the signal may live on (Apache restarts in place
        // on SIGHUP), and nothing announces that: past kCaughtSignalWindow it is
        // judged to have survived, which is n/a, never a pass or a fail.
        const auto death_deadline = d.caught ? std::min(deadline, Clock::now() + kCaughtSignalWindow) : deadline;
        session_.wait_until([&] { return death_ns().has_value(); }, death_deadline);
        if (!death_ns()) {
            auto s = session_.read(unit_, Clock::now() + std::chrono::seconds(5));
            if (d.caught && s && s->state() == "active/running" && s->main_pid == pid) {
                // The daemon handled the signal itself and lives on (Apache restarts
                // in place on SIGHUP): there was no death for the supervisor to judge.
                cell.verdict = Verdict::not_applicable;
                cell.reason = fmt::format(
                    "the daemon catches {} and survived it: main pid {} still running {} "
                    "after the signal, so there was no death for {} to judge",
                    signal_name(signo), pid, ms_text((monotonic_ns() - sent_ns) / 1000000), who());
                cell.evidence = sent + "; it catches the signal (SigCgt); now " + s->state() +
                                ", main pid " + std::to_string(pid);
                answers_[cell.cause] = fmt::format(
                    "no death: the daemon handled {} (main pid {} kept)", signal_name(signo), pid);
                return;
            }
            return void(
                fail_cell(cell, fmt::format("main pid {} still alive {} after {}; {} says {}", pid,
                                            ms_text(options_.run.cell_deadline.count()),
                                            signal_name(signo), who(), last_state())));
        }
        observe_end(cell, cause, sent + (d.caught ? " (the daemon catches it)" : ""), sent_ns,
                    deadline);
    }

    // The supervisor's own stop: never a restart, whatever Restart= says.
    void run_stop(CellResult& cell, Clock::time_point deadline) {
        ends_before_ = watch_->ends.size();
        const long long sent_ns = monotonic_ns();
        const std::string result = session_.run_job(
            unit_, [&](Supervisor::Done done) { supervisor().stop(unit_, std::move(done)); },
            deadline);
        if (result.empty())
            return void(fail_cell(cell, "the stop job did not finish before the deadline"));
        ExitCause stop;
        stop.id = "stop";
        stop.trigger = Trigger::stop;
        stop.outcome.kind = Outcome::Kind::supervisor_stop;
        observe_end(cell, stop, who() + "'s own stop, job " + result, sent_ns, deadline);
    }

    // After P1 died (or was stopped): the verdict from what the supervisor settled on.
    void observe_end(CellResult& cell, const ExitCause& cause, const std::string& trigger_text,
                     long long sent_ns, Clock::time_point deadline) {
        const uint32_t pid = p1();
        auto restarted_now = [&](const ServiceState& s) {
            return s.state() == "active/running" && s.job_id == 0 && s.main_pid != 0 &&
                   s.main_pid != pid && alive(s.main_pid);
        };
        auto s = session_.read_until(
            unit_, [&](const ServiceState& now) { return down(now) || restarted_now(now); },
            deadline);
        // A supervisor that shows no pending restart may still restart it until its restart
        // window has passed since the death: wait for a restart until then, and read after it.
        if (s && down(*s) && window_ && cause.outcome.kind != Outcome::Kind::supervisor_stop) {
            const long long death = death_ns().value_or(monotonic_ns());
            const auto until = Clock::now() + std::chrono::nanoseconds(
                                                  death + std::chrono::nanoseconds(*window_).count() -
                                                  monotonic_ns());
            if (auto back = session_.read_until(unit_, restarted_now, until))
                s = back;
            else // the read after the window decides, with time of its own
                s = session_.read(unit_, std::max(Clock::now(), until) + std::chrono::seconds(5));
        }
        if (!s)
            return void(fail_cell(cell, fmt::format("no verdict within {}: {}; {} last said {}",
                                                    ms_text(options_.run.cell_deadline.count()),
                                                    trigger_text, who(), last_state())));
        const bool restarted = restarted_now(*s);
        // A stop that left P1 behind (KillMode=none, or a unit that lost track of it).
        if (!death_ns() && !restarted && alive(pid))
            return void(fail_cell(cell, fmt::format("{} says {} but main pid {} is still alive",
                                                    who(), s->state(), pid)));
        observe(cell, *s, restarted);
        cell.evidence = evidence_of(cell, *s, trigger_text, sent_ns);
        judge_end(cell, cause, restarted);
    }

    // What was seen of P1's end and of the main pids after it.
    void observe(CellResult& cell, const ServiceState& s, bool restarted) const {
        const uint32_t pid = p1();
        const auto& pids = watch_->main_pids;
        Observation& o = cell.observed;
        o.restarted = restarted;
        o.restarts = static_cast<int>(pids.size()) - 1;
        o.supervisor_restarts = static_cast<int>(s.n_restarts);
        o.final_state = s.state();
        o.final_result = s.result;
        Incarnation first = incarnation(1, pid, pids.front().first_seen_ns, "ended");
        if (const ServiceState* end = first_end()) {
            o.result = end->result;
            if (end->exec_main_code == CLD_EXITED)
                o.exit_code = end->exec_main_status;
            else
                o.signal = end->exec_main_status;
            first.last_event = "ended: " + end_in_words(*end);
        }
        o.incarnations.push_back(first);
        for (size_t i = 1; i < pids.size(); ++i)
            o.incarnations.push_back(incarnation(static_cast<int>(i + 1), pids[i].pid,
                                                 pids[i].first_seen_ns,
                                                 pids[i].pid == s.main_pid ? "running" : "ended"));
        // The moment P1 died: the supervisor's own reaping time if it said, else the pidfd's.
        std::optional<long long> death = death_ns();
        if (first_end() && first_end()->exec_main_exit_us)
            death = static_cast<long long>(first_end()->exec_main_exit_us) * 1000;
        if (restarted && death) o.delay_ms = (pids.back().first_seen_ns - *death) / 1000000;
    }

    std::string evidence_of(const CellResult& cell, const ServiceState& s,
                            const std::string& trigger_text, long long sent_ns) const {
        const Observation& o = cell.observed;
        std::string evidence = trigger_text;
        if (death_ns())
            evidence += fmt::format("; pid {} died {} later (pidfd)", p1(),
                                    ms_text((*death_ns() - sent_ns) / 1000000));
        if (const ServiceState* end = first_end())
            evidence += "; " + who() + " saw " + end_in_words(*end) + ", Result=" + end->result;
        std::string pids = "main pids";
        for (size_t i = 0; i < watch_->main_pids.size(); ++i)
            pids += (i ? "→" : " ") + std::to_string(watch_->main_pids[i].pid);
        evidence += "; " + pids;
        if (o.restarted) evidence += fmt::format(" (alive: kill({}, 0))", s.main_pid);
        if (o.delay_ms)
            evidence += "; active/running again " + ms_text(*o.delay_ms) + " after the death";
        if (s.reports_restarts) evidence += "; NRestarts=" + std::to_string(o.supervisor_restarts);
        evidence += "; now " + o.final_state;
        if (!o.restarted || o.final_result != "success") evidence += ", Result=" + o.final_result;
        return evidence;
    }

    // The manual's answer for the end the supervisor actually saw: a real daemon may handle
    // the signal (Apache exits 0 on SIGTERM).
    void judge_end(CellResult& cell, const ExitCause& cause, bool restarted) {
        const ServiceState* end = first_end();
        const Observation& o = cell.observed;
        if (cause.outcome.kind == Outcome::Kind::supervisor_stop)
            cell.expected_restarted =
                table_.shall_restart(settings_.restart, cause.outcome, settings_.rules);
        else if (end)
            cell.expected_restarted =
                table_.shall_restart(settings_.restart, outcome_of(*end), settings_.rules);
        else if (!watch_->live.reports_exit)
            // The supervisor reports no exit status: the manual's row for the end planned.
            cell.unchecked.push_back("exit status");
        else
            return void(fail_cell(cell, who() + "'s view of how main pid " + std::to_string(p1()) +
                                            " ended was gone before it could be read"));
        if (!watch_->live.reports_restarts) cell.unchecked.push_back("restart count");
        for (const auto& what : cell.unchecked)
            cell.evidence += "; " + who() + " reports no " + what + ": not checked";
        const auto mismatch =
            watch_->live.reports_restarts
                ? restart_count_mismatch(o.restarts, o.supervisor_restarts,
                                         /*start_limit_refused_one=*/false, who(),
                                         fmt::format("{} distinct main pid(s) after {}",
                                                     watch_->main_pids.size(), p1()))
                : std::nullopt;
        if (mismatch) {
            cell.verdict = Verdict::error;
            cell.reason = *mismatch;
            return;
        }
        const std::string ended = end ? end_in_words(*end)
                                  : cause.outcome.kind == Outcome::Kind::supervisor_stop
                                      ? std::string("a stop")
                                      : describe(cause.outcome);
        judge_restart(cell, restarted, expectations_.find(cell.cause, settings_.restart), who(),
                      ended);
        if (end && cause.outcome.kind == Outcome::Kind::killed && outcome_of(*end) != cause.outcome)
            handled_ = "the daemon handled " + signal_name(cause.outcome.signal) +
                       " and ended by " + end_in_words(*end) + ": ";
    }

    // N graceful reloads (the supervisor's reload → ExecReload=): each must succeed and the
    // main pid stay.
    void reload_loop(CellResult& cell, unsigned reloads, Clock::time_point deadline) {
        const uint32_t pid = p1();
        unsigned done = 0;
        std::string failure;
        for (unsigned i = 1; i <= reloads && failure.empty(); ++i) {
            const std::string result = session_.run_job(
                unit_, [&](Supervisor::Done d) { supervisor().reload(unit_, std::move(d)); },
                deadline);
            if (result != "done") {
                failure = fmt::format("reload {} of {}: job {}", i, reloads,
                                      result.empty() ? "unfinished at the deadline" : result);
                break;
            }
            auto s = session_.read(unit_, deadline);
            if (!s) {
                failure =
                    fmt::format("reload {} of {}: no state read before the deadline", i, reloads);
                break;
            }
            if (death_ns() || s->main_pid != pid)
                failure = fmt::format("reload {} of {}: main pid {} {}; {} says {} main pid {}", i,
                                      reloads, pid, death_ns() ? "died" : "replaced", who(),
                                      s->state(), s->main_pid);
            else
                ++done;
        }
        auto s = session_.read(unit_, deadline);
        Observation& o = cell.observed;
        o.incarnations.push_back(incarnation(1, pid, watch_->main_pids.front().first_seen_ns,
                                             death_ns() ? "ended" : "running"));
        o.restarts = static_cast<int>(watch_->main_pids.size()) - 1;
        o.restarted = o.restarts > 0;
        if (s) {
            o.supervisor_restarts = static_cast<int>(s->n_restarts);
            o.final_state = s->state();
            o.final_result = s->result;
        }
        const std::string command = settings_.exec_reload.empty()
                                        ? std::string("-")
                                        : command_text(settings_.exec_reload.front());
        cell.evidence = fmt::format(
            "{} of {} reloads done ({}'s reload; ExecReload={}); main pid {} before, {} after "
            "({}); NRestarts={}; now {}",
            done, reloads, who(), command, pid, s ? s->main_pid : 0,
            alive(pid) ? "alive throughout" : "gone", o.supervisor_restarts,
            o.final_state.empty() ? last_state() : o.final_state);
        if (!failure.empty()) {
            cell.verdict = Verdict::fail;
            cell.reason = failure;
            answers_[cell.cause] =
                fmt::format("{} of {} reloads done, then {}", done, reloads, failure);
        } else {
            cell.verdict = Verdict::pass;
            answers_[cell.cause] = fmt::format("{} reloads done, main pid {} kept", done, pid);
        }
    }

    // The verdict is in: stop the service and wait until it is fully down (a
    // confirmed read, and its last main pid gone) before the next one starts.
    void end_cell(CellResult& cell, Clock::time_point started) {
        cell.duration =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
        if (cell.verdict == Verdict::error) {
            if (!cell.evidence.empty() && cell.evidence.find(last_state()) == std::string::npos)
                cell.evidence += "; " + who() + " last said " + last_state();
        }
        logger()->debug("{}: {} ({})", unit_, to_string(cell.verdict), cell.evidence);
        // A daemon's own stop (Apache's graceful-stop) may take as long as the
        // unit allows: systemd arms TimeoutStopSec= anew in each stop state it
        // passes through (service.c: stop, stop-sigterm, stop-sigkill, then
        // final-sigterm and final-sigkill for control processes left over).
        // That, not the cell's deadline, bounds the clean-up.
        constexpr int kStopStates = 5;
        const auto stop_timeout = settings_.timeout_stop.value_or(default_timeout_stop);
        const Clock::duration budget =
            stop_timeout == infinite_time
                ? Clock::duration(options_.run.cell_deadline)
                : std::max<Clock::duration>(options_.run.cell_deadline,
                                            kStopStates * stop_timeout + std::chrono::seconds(10));
        const std::string escalated =
            session_.stop_until_down(unit_, budget, options_.run.cell_deadline);
        if (!escalated.empty()) {
            cell.evidence += "; clean-up: " + escalated;
            logger()->warn("{}: {}", unit_, cell.evidence);
        }
    }
};

// Where a run on the real daemon departs from the unit, said in the report's notes.
void add_real_notes(CheckReport& report, const UnitFile& unit, const std::string& supervisor) {
    const ServiceSettings& settings = report.settings;
    report.notes.push_back(
        "the real daemon: " + command_text(settings.exec_start) +
        ", run as a service of crashloop's own " + supervisor +
        ", one cause at a time "
        "(you vouch that it is safe to run; the host's services are never touched)");
    report.notes.push_back(
        "signals are sent from outside to the main pid (kill -s SIG <MainPID>, through a "
        "pidfd); a real daemon may handle one itself, so each answer is judged on how " +
        supervisor + " saw the main process end");
    if (settings.exec_reload.size() > 1)
        report.notes.push_back(
            fmt::format("only the first of the unit's {} ExecReload= commands is run",
                        settings.exec_reload.size()));
    if (settings.exec_stop.size() > 1)
        report.notes.push_back(
            fmt::format("only the first of the unit's {} ExecStop= commands is run",
                        settings.exec_stop.size()));
    if (!settings.environment_files.empty())
        report.notes.push_back(
            "EnvironmentFile= is read by crashloop at each start and passed as Environment=");
    std::string dropped;
    std::set<std::string> named;
    for (const auto& entry : unit.entries())
        if (entry.section == "Service" && !carried(entry.section, entry.key) &&
            named.insert(entry.key).second)
            dropped +=
                (dropped.empty() ? "" : ", ") + entry.key + "= (" + where(entry.assignment) + ")";
    if (!dropped.empty()) report.notes.push_back("not carried to the transient unit: " + dropped);

}

// The graceful-reload row (group "real"), after the causes.
ExitCause graceful_reload(unsigned reloads, const std::string& supervisor) {
    ExitCause reload;
    reload.id = graceful_reload_id;
    reload.group = "real";
    reload.trigger = Trigger::reload;
    reload.outcome.kind = Outcome::Kind::supervisor_stop;
    reload.summary = fmt::format(
        "graceful reload: {} × {}'s reload (ExecReload=) keeps the main pid", reloads, supervisor);
    return reload;
}

} // namespace

CheckReport run_real_check(Supervisor& supervisor, const RestartTable& table,
                           const Expectations& expectations, const UnitFile& unit,
                           CheckReport report, const std::vector<ExitCause>& causes,
                           const CheckOptions& options) {
    const ServiceSettings& settings = report.settings;
    report.title += " (--real)";
    add_real_notes(report, unit, supervisor.name());

    const auto begin = std::chrono::steady_clock::now();
    Session session(supervisor, options.run.interrupt_fd);
    RealRunner runner(session, table, expectations, settings, options);
    std::vector<std::string> units;
    for (const auto& cause : causes)
        units.push_back(runner.unit_name(cause.id));
    const bool reload_check = settings.has_exec_reload && options.reloads > 0;
    if (reload_check) units.push_back(runner.unit_name(graceful_reload_id));

    report.matrix = MatrixReport{};
    report.matrix.supervisor = supervisor.name();
    report.matrix.supervisor_version = supervisor.version();
    report.matrix.expectations_file = expectations.source();
    report.matrix.restarts = {settings.restart};
    supervisor.reserve(units);

    auto add = [&](const ExitCause& cause, const CellResult& cell, const std::string& answer) {
        report.causes.push_back(cause);
        report.matrix.causes.push_back(cause.id);
        report.matrix.cells.push_back(cell);
        report.answers.push_back(answer);
        if (options.run.on_cell_done) options.run.on_cell_done(cell);
    };
    auto not_applicable_cell = [&](const ExitCause& cause, const std::string& reason,
                                   const std::string& evidence) {
        CellResult cell;
        cell.restart = settings.restart;
        cell.cause = cause.id;
        cell.expected_restarted = expected_restart(table, settings.restart, cause);
        cell.verdict = Verdict::not_applicable;
        cell.reason = reason;
        cell.evidence = evidence;
        add(cause, cell, "");
    };
    for (const ExitCause& cause : causes) {
        if (auto reason = not_applicable(cause, settings); !reason.empty()) {
            not_applicable_cell(cause, reason, "n/a with --real: " + reason);
            continue;
        }
        // What the supervisor lacks (supervisord: Type=forking, a watchdog …) is its driver's call.
        if (auto reason = runner.cannot_express(cause)) {
            not_applicable_cell(cause, *reason, "n/a on " + supervisor.name() + ": " + *reason);
            continue;
        }
        const CellResult cell = runner.run_cause(cause);
        std::string answer = runner.answer_of(cell);
        add(cause, cell, answer);
    }

    const ExitCause reload = graceful_reload(options.reloads, supervisor.name());
    std::optional<std::string> reload_missing;
    if (reload_check) reload_missing = runner.cannot_express(reload);
    if (reload_missing) {
        not_applicable_cell(reload, *reload_missing,
                            "n/a on " + supervisor.name() + ": " + *reload_missing);
    } else if (reload_check) {
        const CellResult cell = runner.run_reloads(options.reloads);
        add(reload, cell, runner.answer_of(cell));
    } else {
        CellResult cell;
        cell.restart = settings.restart;
        cell.cause = reload.id;
        cell.verdict = Verdict::not_applicable;
        cell.reason = settings.has_exec_reload
                          ? "--reloads 0"
                          : "the unit has no ExecReload=, so there is no reload to ask for";
        cell.evidence = "n/a: " + cell.reason;
        add(reload, cell, "");
    }
    report.matrix.wall = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - begin);
    return report;
}

} // namespace crashloop
