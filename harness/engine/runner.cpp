#include "runner.hpp"
#include "log.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>

#include <deque>
#include <map>
#include <memory>
#include <optional>

#include "admission.hpp"
#include "errors.hpp"
#include "event_log.hpp"
#include "judge.hpp"
#include "service_settings.hpp"
#include "service_spec.hpp"
#include "session.hpp"
#include "subject.hpp"
#include "supervisor.hpp"

namespace crashloop {

bool expected_restart(const RestartTable& table, RestartValue value, const ExitCause& cause) {
    return table.shall_restart(value, cause.outcome, cause.rules);
}

namespace {

std::shared_ptr<spdlog::logger> logger() { return crashloop::logger("harness"); }

// Every incarnation after the first is a healthy httpd: ready, then serving.
constexpr const char* kHealthyPlan = "ready,serve";

// A cell whose subject is a timeout after the start (reload-timeout) needs a
// start that beats that same short TimeoutStartSec=. A manager with hundreds
// of units to start on a busy machine can take READY=1 in too late; such a
// cell is run again, as a new unit, with the timeout doubled, up to 4 times.
constexpr int kMaxAttempts = 4;

// TimeoutStartSec= at least, where the timeout is not the cause's subject.
constexpr std::chrono::seconds kGenerousStart{30};

struct Cell {
    RestartValue value;
    const ExitCause* cause;
    int attempt = 1;
    std::string name;      // on-failure/sigabrt
    std::string id;        // on-failure-sigabrt (on-failure-reload-timeout-2 on a second attempt)
    std::string unit;      // crashloop-on-failure-sigabrt.service
    std::string log_inside, log_host, pidfile_inside;
    CellResult result;
    Clock::time_point started, deadline;
    // Time spent waiting for the supervisor to answer a read is not the cell's: each answer
    // moves the deadline on by what it took, up to this bound (four deadlines from launch).
    Clock::time_point latest_deadline;
    uint64_t ticket = 0; // its place among the launches (admission.hpp)
    bool launched = false, done = false;
    bool probing = false, dirty = false;
    bool triggered = false, trigger_finished = false;
    std::string trigger_job, trigger_result;
    std::optional<ServiceState> first_end; // systemd's view of how incarnation 1 ended
    int go_sent = 0;                       // the incarnation last told to go (forking units)
    ServiceWatch* watch = nullptr;         // the supervisor's word on this attempt's unit
    // A supervisor that shows no pending restart (Supervisor::restart_window): how long after
    // a death a restart may still come, when the cell first read it down, and when to read again.
    std::optional<std::chrono::milliseconds> window;
    std::optional<long long> down_seen_ns;
    std::optional<Clock::time_point> recheck_at;
    long long probe_sent_ns = 0; // when the read in flight was asked for: what it shows predates it
    int down_reads_after_window = 0;
    bool reported = false; // counted and handed on (after the late-restart check, if any)
    int last_incarnations = 0;
    std::vector<std::string> retries; // attempts given up on, and why
};

std::string ms_text(long long ms) { return std::to_string(ms) + " ms"; }

// ", Result=exit-code", or nothing from a supervisor that reports no Result=.
std::string result_text(const std::string& result) {
    return result.empty() ? "" : ", Result=" + result;
}

class Runner {
  public:
    Runner(Supervisor& supervisor, const RestartTable& table, const Expectations& expectations,
           const RunOptions& options)
        : supervisor_(supervisor), session_(supervisor, options.interrupt_fd), table_(table),
          expectations_(expectations), options_(options) {}

    // Every callback handed to the supervisor: a no-op once the run is over.
    template <typename F> auto while_alive(F f) { return session_.guarded(std::move(f)); }

    MatrixReport run() {
        MatrixReport report;
        report.supervisor = supervisor_.name();
        report.supervisor_version = supervisor_.version();
        report.expectations_file = expectations_.source();
        report.restarts = options_.restarts;
        for (const auto& cause : options_.causes) report.causes.push_back(cause.id);

        for (const auto& cause : options_.causes)
            for (RestartValue value : options_.restarts) cells_.push_back(make_cell(value, cause));
        // Cells whose fault is a timeout go first: a burst of starts on two
        // cores must not eat into a 500 ms TimeoutStartSec= or WatchdogSec=.
        for (size_t i = 0; i < cells_.size(); ++i)
            if (timing_sensitive(*cells_[i]->cause)) queue_.push_back(i);
        for (size_t i = 0; i < cells_.size(); ++i)
            if (!timing_sensitive(*cells_[i]->cause)) queue_.push_back(i);

        if (options_.jobs == 0) admission_.emplace(kFirstCells, kFewestCells, cells_.size());
        const auto begin = Clock::now();
        reserve_units();
        logger()->debug("launching {} cells on {}", cells_.size(), report.supervisor);
        launch_more();
        while (remaining_ > 0) {
            auto next_deadline = Clock::now() + std::chrono::seconds(1);
            for (auto& cell : cells_) {
                if (cell->launched && !cell->reported) next_deadline = std::min(next_deadline, cell->deadline);
                if (cell->recheck_at && !cell->done) next_deadline = std::min(next_deadline, *cell->recheck_at);
            }
            session_.wait(next_deadline);
            for (auto& cell : cells_) {
                if (cell->recheck_at && !cell->done && Clock::now() >= *cell->recheck_at) {
                    cell->recheck_at.reset();
                    logger()->trace("{}: restart window over, reading again", cell->name);
                    probe(*cell);
                }
                if (cell->launched && !cell->done && Clock::now() >= cell->deadline)
                    finish_error(*cell, "no verdict within " + ms_text(options_.cell_deadline.count()) +
                                            ": " + supervisor_.name() + " last said " + cell->watch->last_said() + ", the fixture logged " +
                                            std::to_string(cell->last_incarnations) + " incarnation(s)");
                if (cell->done && !cell->reported && Clock::now() >= cell->deadline) {
                    cell->result.evidence += "; our stop was not answered in time, so a restart "
                                             "after the verdict could not be ruled out";
                    report_cell(*cell);
                }
            }
        }
        report.wall = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begin);
        if (admission_)
            logger()->debug("cells in flight: {} at most by the end, {} drop(s) for slow starts",
                            admission_->limit(), admission_->drops());
        // Our stops are asynchronous, and a driver may only send them from
        // wait(): the last cells' stops must go out before the supervisor does.
        const auto stops_deadline = Clock::now() + std::chrono::seconds(10);
        session_.wait_until([this] { return stops_pending_ == 0; }, stops_deadline);
        if (stops_pending_ > 0)
            logger()->warn("{} of the run's stops unanswered after 10 s; the supervisor's teardown ends them",
                           stops_pending_);
        for (auto& cell : cells_) report.cells.push_back(cell->result);
        return report;
    }

  private:
    Supervisor& supervisor_;
    // Routes every change and job end to its cell's watch; the supervisor may outlive the run
    // and still deliver a reply or a change (a driver's clean-up dispatches): none reaches us.
    Session session_;

    const RestartTable& table_;
    const Expectations& expectations_;
    const RunOptions& options_;
    std::vector<std::unique_ptr<Cell>> cells_;
    std::deque<size_t> queue_;
    size_t in_flight_ = 0;
    // Without --jobs: start with a few cells, as many more as starts keep up (admission.hpp).
    static constexpr size_t kFirstCells = 8, kFewestCells = 2;
    std::optional<Admission> admission_;
    int stops_pending_ = 0;
    size_t remaining_ = 0;

    static bool timing_sensitive(const ExitCause& cause) {
        return cause.start_timeout_ms.has_value() || cause.watchdog_ms.has_value();
    }

    std::unique_ptr<Cell> make_cell(RestartValue value, const ExitCause& cause) {
        auto cell = std::make_unique<Cell>();
        cell->value = value;
        cell->cause = &cause;
        cell->name = std::string(to_string(value)) + "/" + cause.id;
        cell->result.restart = value;
        cell->result.cause = cause.id;
        cell->result.expected_restarted = expected_restart(table_, value, cause);
        name_attempt(*cell);
        ++remaining_;
        return cell;
    }

    static std::string id_of(const Cell& cell, int attempt) {
        std::string id = std::string(to_string(cell.value)) + "-" + cell.cause->id;
        if (attempt > 1) id += "-" + std::to_string(attempt);
        return id;
    }
    std::string unit_of(const Cell& cell, int attempt) const {
        return supervisor_.service_prefix() + id_of(cell, attempt) + ".service";
    }

    // Each attempt is a unit of its own, with its own log and pidfile, and its own watch: what
    // an attempt given up on still reports reaches no one.
    void name_attempt(Cell& cell) {
        if (cell.watch) cell.watch->on_change = nullptr, cell.watch->on_job_done = nullptr;
        cell.id = id_of(cell, cell.attempt);
        cell.unit = unit_of(cell, cell.attempt);
        cell.log_inside = (supervisor_.events_dir() / (cell.id + ".log")).string();
        cell.pidfile_inside = (supervisor_.events_dir() / (cell.id + ".pid")).string();
        cell.log_host = supervisor_.from_host(cell.log_inside).string();
        cell.watch = &session_.follow(cell.unit);
        cell.watch->on_change = [this, &cell](const ServiceState& live) { on_unit_changed(cell, live); };
        cell.watch->on_job_done = [this, &cell](const std::string& job, const std::string& result) {
            on_job_removed(cell, job, result);
        };
    }

    static bool may_run_again(const Cell& cell) {
        return cell.cause->trigger != Trigger::none && cell.cause->start_timeout_ms.has_value();
    }

    // The start timed out before the trigger: not the cell's subject, so the
    // cell starts over as a new unit with twice the timeout.
    void run_again(Cell& cell, const ServiceState& s) {
        stop_unit(cell.unit);
        cell.retries.push_back("attempt " + std::to_string(cell.attempt) + " with TimeoutStartSec=" +
                               ms_text(start_timeout(cell).count()) + " ended at start (" + s.state() +
                               ", Result=" + s.result + ")");
        logger()->debug("{}: {}; running it again", cell.name, cell.retries.back());
        ++cell.attempt;
        name_attempt(cell);
        cell.first_end.reset();
        cell.down_seen_ns.reset();
        cell.down_reads_after_window = 0;
        cell.recheck_at.reset();
        cell.go_sent = 0;
        cell.triggered = cell.trigger_finished = false;
        cell.trigger_job.clear();
        cell.trigger_result.clear();
        cell.dirty = false;
        cell.last_incarnations = 0;
        cell.deadline = Clock::now() + options_.cell_deadline;
        cell.latest_deadline = Clock::now() + 4 * options_.cell_deadline;
        start_cell(cell);
    }

    std::chrono::milliseconds start_timeout(const Cell& cell) const {
        return std::chrono::milliseconds(*cell.cause->start_timeout_ms) * (1 << (cell.attempt - 1));
    }

    // The unit's settings (service_spec_of) or the matrix's own, the fake httpd in
    // place of the commands, and the cause's workload: each value set in place of
    // the unit's is recorded in the spec's overrides, with the value used.
    ServiceSpec service_for(const Cell& cell) const {
        const ExitCause& cause = *cell.cause;
        ServiceSpec s = options_.unit ? service_spec_of(*options_.unit) : ServiceSpec{};
        s.name = cell.unit;
        s.description = "crashloop " + cell.name + ": " + cause.summary;
        s.restart = cell.value;
        if (cause.start_timeout_ms)
            overridden(s, "TimeoutStartSec", &ServiceSpec::timeout_start, start_timeout(cell),
                       "so that the timeout takes well under a second");
        else if (s.timeout_start < kGenerousStart)
            // Many units starting at once on two cores must never hit a timeout
            // that is not the subject.
            overridden(
                s, "TimeoutStartSec", &ServiceSpec::timeout_start, kGenerousStart,
                "so that a busy machine cannot time a start out where that is not the subject");
        if (cause.watchdog_ms)
            overridden(s, "WatchdogSec", &ServiceSpec::watchdog,
                       std::chrono::milliseconds(*cause.watchdog_ms),
                       "so that the watchdog fires well under a second");
        add_rules(s, cause.rules);
        FakeHttpd fake;
        fake.program = options_.fixture;
        fake.plan = cause.every_incarnation ? cause.plan : cause.plan + "|" + kHealthyPlan;
        fake.events = cell.log_inside;
        fake.pidfile = cell.pidfile_inside;
        fake.name = cell.name;
        fake.reloads = !options_.unit || options_.unit->has_exec_reload;
        // Forking: a part that dies by itself waits for the go (see decide()).
        fake.dies_with_parent = !supervisor_.parent_may_exit();
        play_with_fake_httpd(s, fake);
        return s;
    }

    // Every unit the run may make (a retried cell's later attempts too), before the first starts.
    void reserve_units() {
        std::vector<std::string> units;
        for (const auto& cell : cells_) {
            units.push_back(cell->unit);
            if (may_run_again(*cell))
                for (int attempt = 2; attempt <= kMaxAttempts; ++attempt) units.push_back(unit_of(*cell, attempt));
        }
        supervisor_.reserve(units);
    }

    void launch_more() {
        const size_t limit = admission_ ? admission_->limit() : options_.jobs;
        while (in_flight_ < limit && !queue_.empty()) {
            Cell& cell = *cells_[queue_.front()];
            queue_.pop_front();
            ++in_flight_;
            cell.launched = true;
            cell.started = Clock::now();
            if (admission_) cell.ticket = admission_->launched();
            cell.deadline = cell.started + options_.cell_deadline;
            cell.latest_deadline = cell.started + 4 * options_.cell_deadline;
            start_cell(cell);
        }
    }

    void start_cell(Cell& cell) {
        const ServiceSpec service = service_for(cell);
        if (auto missing = supervisor_.cannot_express(service, *cell.cause)) return finish_not_applicable(cell, *missing);
        cell.result.overrides = service.overrides;
        cell.window = supervisor_.restart_window(service);
        supervisor_.start(service, while_alive([this, &cell, unit = cell.unit](const std::string& error, const std::string& job) {
            if (cell.done || unit != cell.unit) return;
            if (!job.empty()) cell.watch->our_jobs.insert(job);
            if (!error.empty()) return finish_error(cell, supervisor_.name() + " refused to start the service: " + error);
            // The cell's time counts from a confirmed start: a slow `start` is not the cell's.
            cell.deadline = std::max(cell.deadline, Clock::now() + options_.cell_deadline);
            cell.latest_deadline = std::max(cell.latest_deadline, Clock::now() + 4 * options_.cell_deadline);
            probe(cell);
            // A retried cell's start counts the attempts before it: only a first start measures.
            if (admission_ && cell.attempt == 1) {
                const auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - cell.started);
                const unsigned drops = admission_->drops();
                admission_->start_confirmed(cell.ticket, latency);
                if (admission_->drops() != drops)
                    logger()->debug("{}: started {} ms after its launch (slow past {} ms): {} cells in flight at most now",
                                    cell.name, latency.count(), admission_->slow_after().count(), admission_->limit());
                launch_more();
            }
        }));
    }

    void on_unit_changed(Cell& cell, const ServiceState& live) {
        if (!cell.launched || cell.done) return;
        // systemd forgets how a process ended as soon as the next one starts,
        // often before a property read could get there; the signal that
        // announced the end carries it.
        if (!cell.first_end && live.exec_main_code != 0 && live.n_restarts == 0) cell.first_end = live;
        if (!cell.probing) decide(cell, live, /*confirmed=*/false);
        else cell.dirty = true;
    }

    // The trigger's job ended (a restart job that fails is the watch's: refused_restart).
    void on_job_removed(Cell& cell, const std::string& job, const std::string& result) {
        if (cell.trigger_job.empty() || job != cell.trigger_job || cell.trigger_finished) return;
        trigger_ended(cell, result);
    }

    void trigger_ended(Cell& cell, const std::string& result) {
        cell.trigger_finished = true;
        cell.trigger_result = result;
        if (!cell.done) probe(cell);
    }

    // One snapshot at a time per cell; a change that arrives meanwhile asks for
    // another, so the last word is always read.
    void probe(Cell& cell) {
        if (cell.probing) {
            cell.dirty = true;
            return;
        }
        cell.probing = true;
        cell.probe_sent_ns = monotonic_ns();
        const auto asked = Clock::now();
        supervisor_.state(cell.unit, while_alive([this, &cell, unit = cell.unit, asked](const std::string& error,
                                                                     const ServiceState& snapshot) {
            cell.probing = false;
            if (cell.done) return;
            // A loaded supervisor that takes seconds to answer a read (a `state` command under
            // two matrices at once) must not run the cell out of time by itself.
            cell.deadline = std::max(cell.deadline, std::min(cell.deadline + (Clock::now() - asked),
                                                             cell.latest_deadline));
            if (unit != cell.unit) return probe(cell); // read from an attempt given up on
            if (!error.empty()) return finish_error(cell, "reading the unit's state: " + error);
            cell.watch->saw(snapshot);
            decide(cell, snapshot, /*confirmed=*/true);
            if (cell.dirty && !cell.done) {
                cell.dirty = false;
                probe(cell);
            }
        }));
    }

    // Signals keep `s` current and are enough to see a restart or to fire a
    // trigger. Deciding that nothing more will happen needs a property read
    // (`confirmed`): its reply comes after every change systemd made before it.
    void decide(Cell& cell, const ServiceState& s, bool confirmed) {
        std::vector<FixtureEvent> events;
        try {
            events = read_event_log(cell.log_host);
        } catch (const InputError& e) {
            return finish_error(cell, std::string("unreadable fixture log: ") + e.what());
        }
        auto incarnations = incarnations_of(events);
        cell.last_incarnations = static_cast<int>(incarnations.size());
        const bool running = s.active_state == "active" && s.sub_state == "running";
        const bool down = s.collected || s.active_state == "inactive" || s.active_state == "failed";
        const bool ended = down || s.sub_state == "auto-restart";

        // systemd forgets how a process ended once the next one starts: keep it.
        if (!cell.first_end && ended && s.exec_main_code != 0 && incarnations.size() == 1)
            cell.first_end = s;

        // A forking daemon waiting to die: go, once systemd runs it as main pid.
        if (running && !incarnations.empty() && incarnations.back().last_event == "wait-go" &&
            cell.go_sent < incarnations.back().number &&
            s.main_pid == static_cast<uint32_t>(incarnations.back().pid)) {
            cell.go_sent = incarnations.back().number;
            supervisor_.kill(cell.unit, SIGUSR2, while_alive([this, &cell, unit = cell.unit](const std::string& error, const std::string&) {
                if (unit != cell.unit) return; // an attempt given up on
                if (!error.empty() && !cell.done) finish_error(cell, "sending the go: " + error);
            }));
        }

        const Trigger trigger = cell.cause->trigger;
        if (trigger != Trigger::none && !cell.triggered) {
            if (running && incarnations.size() == 1 && incarnations[0].ready_ns) fire_trigger(cell);
            else if (!confirmed && (down || s.sub_state == "auto-restart")) probe(cell);
            else if (confirmed && ((down && s.job_id == 0 && !incarnations.empty()) ||
                                   s.sub_state == "auto-restart")) {
                if (may_run_again(cell) && s.result == "timeout" && cell.attempt < kMaxAttempts)
                    return run_again(cell, s);
                finish_error(cell, "the service ended before it could be told to " +
                                                   std::string(to_string(trigger)) + ": " + s.state());
            }
            return;
        }
        // Settled means no job queued either: a unit is inactive while its start
        // job waits, and a reload holds a job until it finishes or times out.
        // The snapshot may predate what the log (read just now) says: only a
        // snapshot that already shows the new incarnation as main pid decides.
        // A crash loop is judged once it is over (the start limit), not at its first restart.
        if (!cell.cause->every_incarnation && incarnations.size() >= 2 && running &&
            incarnations.back().ready_ns &&
            s.main_pid == static_cast<uint32_t>(incarnations.back().pid))
            return finish_observed(cell, s, events, true);
        const bool settled_down = down && !incarnations.empty();
        if (confirmed && !down) { // up again: a later death starts anew
            cell.down_seen_ns.reset();
            cell.down_reads_after_window = 0;
        }
        // "Running" after the reload ended means it kept the process only while the fixture has
        // not logged its end: a polling supervisor (a systemctl reimplementation) may still show
        // the main pid that died during the reload, until it notices.
        const bool logged_end =
            !incarnations.empty() && (incarnations.back().last_event.starts_with("die") ||
                                      incarnations.back().last_event.starts_with("exit"));
        const bool reload_over = trigger == Trigger::reload && cell.trigger_finished && running &&
                                 incarnations.size() == 1 && !logged_end;
        if (!settled_down && !reload_over) return;
        // Waiting out a restart window, the read at its end decides; a restart comes first
        // through the check above.
        if (!confirmed) return cell.recheck_at ? void() : probe(cell);
        if (s.job_id != 0) return;
        if (settled_down && !restart_window_over(cell, events, incarnations.back().number)) return;
        finish_observed(cell, s, events, incarnations.size() > 1);
    }

    // Down is final for a supervisor that shows no pending restart only once its restart
    // window has passed since the death, and two reads after it still show it down (taken
    // at recheck_at). The death: when the fixture logged its end, else when the
    // cell first read it down (a SIGKILL leaves no line; later is the safe side).
    bool restart_window_over(Cell& cell, const std::vector<FixtureEvent>& events, int last) {
        if (!cell.window) return true;
        if (cell.recheck_at) return false; // a read raced the scheduled one: it decides
        if (!cell.down_seen_ns) cell.down_seen_ns = monotonic_ns();
        const long long death = end_of(events, last).value_or(*cell.down_seen_ns);
        // The read's answer reflects the state when it was asked for, not when it came back.
        const long long left =
            death + std::chrono::nanoseconds(*cell.window).count() - cell.probe_sent_ns;
        // Two consistent reads after the window: a supervisor that rewrites its state file in
        // place may answer one read with a torn, empty state ("inactive/dead").
        if (left <= 0 && ++cell.down_reads_after_window >= 2) return true;
        if (left <= 0) {
            cell.recheck_at = Clock::now();
            return false;
        }
        cell.recheck_at = Clock::now() + std::chrono::nanoseconds(left);
        logger()->debug("{}: down; {}'s restart window ends in {} ms: read again then", cell.name,
                        supervisor_.name(), left / 1000000);
        cell.deadline = std::max(cell.deadline, *cell.recheck_at + std::chrono::seconds(5));
        return false;
    }

    void fire_trigger(Cell& cell) {
        cell.triggered = true;
        auto done = while_alive([this, &cell, unit = cell.unit](const std::string& error, const std::string& job) {
            if (cell.done || unit != cell.unit) return;
            if (!error.empty()) return finish_error(cell, supervisor_.name() + " refused the " +
                                                              std::string(to_string(cell.cause->trigger)) +
                                                              ": " + error);
            cell.trigger_job = job;
            if (job.empty()) return void(cell.trigger_result = "sent");
            cell.watch->our_jobs.insert(job);
            // Its end may have come before the reply that named it.
            if (auto it = cell.watch->jobs_done.find(job); it != cell.watch->jobs_done.end())
                trigger_ended(cell, it->second);
        });
        switch (cell.cause->trigger) {
        case Trigger::stop: return supervisor_.stop(cell.unit, done);
        case Trigger::reload: return supervisor_.reload(cell.unit, done);
        case Trigger::kill: return supervisor_.kill(cell.unit, cell.cause->kill_signal, done);
        case Trigger::none: return;
        }
    }

    // Whether the supervisor's record of how incarnation 1 ended is checked
    // against the plan: not after a reload (the reload's own process may be
    // what it recorded) nor after its own stop (nothing was planned).
    static bool first_end_checked(const ExitCause& cause) {
        return cause.trigger != Trigger::reload &&
               cause.outcome.kind != Outcome::Kind::supervisor_stop;
    }

    // Does what systemd saw match what the fixture was told to do?
    std::string outcome_mismatch(const Cell& cell) const {
        if (!cell.first_end || !first_end_checked(*cell.cause)) return "";
        const ServiceState& end = *cell.first_end;
        const Outcome& planned = cell.cause->outcome;
        switch (planned.kind) {
        case Outcome::Kind::exited:
            if (end.exec_main_code != CLD_EXITED || end.exec_main_status != planned.exit_code)
                return "planned " + describe(planned) + ", " + supervisor_.name() + " saw " + end_in_words(end);
            return "";
        case Outcome::Kind::killed:
            if (end.exec_main_code == CLD_EXITED || end.exec_main_status != planned.signal)
                return "planned " + describe(planned) + ", " + supervisor_.name() + " saw " + end_in_words(end);
            return "";
        case Outcome::Kind::timeout:
            return end.result == "timeout" ? "" : "planned a timeout, " + supervisor_.name() + "'s Result=" + end.result;
        case Outcome::Kind::watchdog:
            return end.result == "watchdog" ? "" : "planned a watchdog, " + supervisor_.name() + "'s Result=" + end.result;
        case Outcome::Kind::supervisor_stop:
            return "";
        }
        return "";
    }

    void finish_observed(Cell& cell, const ServiceState& s, const std::vector<FixtureEvent>& events,
                         bool restarted) {
        Observation& o = cell.result.observed;
        o.incarnations = incarnations_of(events);
        o.restarted = restarted;
        o.restarts = static_cast<int>(o.incarnations.size()) - 1;
        o.supervisor_restarts = static_cast<int>(s.n_restarts);
        o.final_state = s.state();
        o.final_result = s.result;
        const ServiceState& end = cell.first_end ? *cell.first_end : s;
        o.result = end.result;
        if (end.exec_main_code == CLD_EXITED) o.exit_code = end.exec_main_status;
        else if (end.exec_main_code != 0) o.signal = end.exec_main_status;
        if (o.incarnations.size() >= 2) {
            std::optional<long long> end_ns;
            if (cell.first_end && cell.first_end->exec_main_exit_us)
                end_ns = static_cast<long long>(cell.first_end->exec_main_exit_us) * 1000;
            else end_ns = end_of(events, 1);
            if (end_ns) o.delay_ms = (o.incarnations[1].started_ns - *end_ns) / 1000000;
        }
        // NRestarts counts the restart the start limit refused; nothing ran for
        // it, and the unit is left failed, with no restart pending.
        o.start_limit_hit = cell.watch->refused_restart() && o.supervisor_restarts == o.restarts + 1 &&
                            s.active_state == "failed" && s.job_id == 0;
        // What the supervisor does not report is said, and not checked: the fixture's log decides.
        const bool counts = s.reports_restarts;
        const bool exits = s.reports_exit || cell.first_end;
        if (!counts) cell.result.unchecked.push_back("restart count");
        if (!exits && first_end_checked(*cell.cause)) cell.result.unchecked.push_back("exit status");
        cell.result.evidence = evidence(cell); // says so when the start limit was hit
        for (const auto& what : cell.result.unchecked)
            cell.result.evidence += "; " + supervisor_.name() + " reports no " + what + ": not checked";

        const KnownDeviation* known = expectations_.find(cell.cause->id, cell.value);
        auto mismatch = counts ? restart_count_mismatch(o.restarts, o.supervisor_restarts,
                                                        o.start_limit_hit, supervisor_.name(),
                                                        "the fixture")
                               : std::nullopt;
        if (mismatch) {
            cell.result.verdict = Verdict::error;
            cell.result.reason = *mismatch;
        } else if (restarted && !cell.first_end && first_end_checked(*cell.cause) &&
                   supervisor_.records_every_end()) {
            // Without it nothing says the fixture ended as planned: never a silent pass.
            cell.result.verdict = Verdict::error;
            cell.result.reason =
                supervisor_.name() +
                "'s record of how incarnation 1 ended was never captured (no exit code or "
                "signal in any change or read before the restart)";
        } else if (auto mismatch = outcome_mismatch(cell); !mismatch.empty()) {
            cell.result.verdict = Verdict::error;
            cell.result.reason = "the fixture did not end as planned: " + mismatch;
        } else {
            judge_restart(cell.result, restarted, known, supervisor_.name(), "it");
            // A polled supervisor restarted it between two reads: say which check was not made.
            if (restarted && exits && !cell.first_end && first_end_checked(*cell.cause)) {
                const std::string unchecked =
                    supervisor_.name() + " is polled and restarted it between two reads, so its "
                    "record of how incarnation 1 ended could not be checked (the fixture logged: " +
                    o.incarnations.front().last_event + ")";
                cell.result.reason = cell.result.reason.empty() ? unchecked : cell.result.reason + "; " + unchecked;
            }
        }
        finish(cell);
    }

    std::string evidence(const Cell& cell) const {
        const Observation& o = cell.result.observed;
        std::string text = "pids";
        for (size_t i = 0; i < o.incarnations.size(); ++i)
            text += (i ? "→" : " ") + std::to_string(o.incarnations[i].pid);
        if (!o.incarnations.empty()) text += "; incarnation 1: " + o.incarnations[0].last_event;
        if (cell.first_end)
            text += "; " + supervisor_.name() + " saw " + end_in_words(*cell.first_end) +
                    result_text(cell.first_end->result);
        else if (o.restarted)
            text += "; " + supervisor_.name() + "'s view of the first end was gone before it could be read";
        if (cell.cause->trigger != Trigger::none)
            text += "; " + std::string(to_string(cell.cause->trigger)) + " job: " +
                    (cell.trigger_result.empty() ? "-" : cell.trigger_result);
        if (o.delay_ms) text += "; restarted after " + ms_text(*o.delay_ms);
        if (cell.window && !o.restarted && !o.final_state.starts_with("active"))
            text += "; still down " + ms_text(cell.window->count()) + " after the death (" +
                    supervisor_.name() + "'s restart window), read twice after it";
        const bool counted = std::find(cell.result.unchecked.begin(), cell.result.unchecked.end(),
                                       "restart count") == cell.result.unchecked.end();
        if (counted) text += "; NRestarts=" + std::to_string(o.supervisor_restarts);
        text += "; now " + o.final_state;
        // A supervisor that is not systemd says it in its own words too
        // (supervisord: "FATAL: Exited too quickly …"), not only in systemd's.
        if (!cell.watch->last_words.empty()) text += " (" + supervisor_.name() + ": " + cell.watch->last_words + ")";
        if (!o.restarted || o.final_result != "success") text += result_text(o.final_result);
        for (const auto& retry : cell.retries) text += "; " + retry;
        if (o.start_limit_hit)
            text += "; start limit hit: restart " + std::to_string(o.supervisor_restarts) +
                    " refused after " + std::to_string(o.incarnations.size()) + " starts";
        return text;
    }

    void finish_error(Cell& cell, const std::string& reason) {
        if (cell.done) return;
        cell.result.verdict = Verdict::error;
        cell.result.reason = reason;
        try {
            auto events = read_event_log(cell.log_host);
            cell.result.observed.incarnations = incarnations_of(events);
        } catch (const InputError&) {
        }
        cell.result.observed.final_state = cell.watch->last_state;
        if (cell.result.evidence.empty()) cell.result.evidence = supervisor_.name() + " last said " + cell.watch->last_said();
        for (const auto& retry : cell.retries) cell.result.evidence += "; " + retry;
        finish(cell);
    }

    // Counted, so that run() can see the last ones through; then() once it is answered.
    void stop_unit(const std::string& unit, std::function<void()> then = nullptr) {
        ++stops_pending_;
        supervisor_.stop(unit, while_alive([this, then = std::move(then)](const std::string&, const std::string&) {
            --stops_pending_;
            if (then) then();
        }));
    }

    // The supervisor cannot run this cell at all: n/a, with what it lacks.
    void finish_not_applicable(Cell& cell, const std::string& missing) {
        cell.result.verdict = Verdict::not_applicable;
        cell.result.reason = missing;
        cell.result.evidence = supervisor_.name() + " cannot express it: " + missing;
        cell.done = true;
        report_cell(cell);
    }

    void finish(Cell& cell) {
        cell.done = true;
        cell.recheck_at.reset();
        cell.result.retries = static_cast<int>(cell.retries.size());
        cell.result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - cell.started);
        // The verdict is in; our own stop never restarts, whatever Restart= says. Where the
        // supervisor shows no pending restart, "stayed down" stands only if the fixture logs
        // no later incarnation before that stop is through.
        const bool judged_down = cell.window && !cell.result.observed.restarted &&
                                 cell.result.verdict != Verdict::error;
        if (!judged_down) {
            stop_unit(cell.unit);
            return report_cell(cell);
        }
        cell.deadline = Clock::now() + options_.cell_deadline;
        cell.latest_deadline = Clock::now() + 4 * options_.cell_deadline;
        const size_t counted = cell.result.observed.incarnations.size();
        stop_unit(cell.unit, [this, &cell, counted] {
            if (cell.reported) return;
            no_late_restart(cell, counted);
            report_cell(cell);
        });
    }

    void no_late_restart(Cell& cell, size_t counted) {
        std::vector<Incarnation> now;
        try {
            now = incarnations_of(read_event_log(cell.log_host));
        } catch (const InputError&) {
            return;
        }
        if (now.size() <= counted) return;
        const Incarnation& late = now[counted];
        cell.result.observed.incarnations = now;
        cell.result.verdict = Verdict::error;
        cell.result.reason = fmt::format(
            "restarted after the verdict: the fixture logged incarnation {} (pid {}) after {} "
            "was judged to have stayed down, past the {} ms restart window",
            late.number, late.pid, cell.name, cell.window->count());
    }

    void report_cell(Cell& cell) {
        cell.reported = true;
        logger()->debug("{}: {} ({})", cell.name, to_string(cell.result.verdict), cell.result.evidence);
        if (options_.on_cell_done) options_.on_cell_done(cell.result);
        --in_flight_;
        --remaining_;
        launch_more();
    }
};

} // namespace

MatrixReport run_matrix(Supervisor& supervisor, const RestartTable& table,
                        const Expectations& expectations, const RunOptions& options) {
    Runner runner(supervisor, table, expectations, options);
    return runner.run();
}

} // namespace crashloop
