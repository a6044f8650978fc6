#pragma once
// A Supervisor that plays a script instead of running anything, for the
// runner's judge (run_matrix) without a real supervisor. Per service, the
// script is a list of steps, played one per wait() call once start()'s Done
// has been delivered: each step writes the fixture's event-log lines (so the
// runner sees incarnations), then ends jobs, then announces state changes
// through watch(), and sets what state() answers from then on. A state()
// reply is the answer at the moment of the call, delivered on the next
// wait(), as a real supervisor's reply reflects the changes before the call.
// wait() delivers whatever is due at once; with nothing due it blocks until
// its deadline (or the interrupt fd), never an arbitrary while.
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "supervisor.hpp"

namespace crashloop::testing {

// One moment of the script.
struct ScriptStep {
    std::vector<std::string> log_lines;                         // the fixture's, as written
    std::vector<std::pair<std::string, std::string>> jobs_done; // (job, result)
    std::vector<ServiceState> announced;                        // watch()'s on_change, in order
    std::optional<ServiceState> reads;                          // state() answers this from now on

    ScriptStep& logs(std::string line) {
        log_lines.push_back(std::move(line));
        return *this;
    }
    ScriptStep& ends_job(std::string job, std::string result) {
        jobs_done.emplace_back(std::move(job), std::move(result));
        return *this;
    }
    ScriptStep& announces(ServiceState state) {
        announced.push_back(std::move(state));
        return *this;
    }
    ScriptStep& reads_as(ServiceState state) {
        reads = std::move(state);
        return *this;
    }
    // The usual moment: announced and read alike.
    ScriptStep& becomes(const ServiceState& state) { return announces(state).reads_as(state); }
};

// What the script says about one service (a cell's id: "on-failure-sigabrt").
struct ServiceScript {
    bool answers_start = true;       // false: start()'s Done never comes
    std::vector<ScriptStep> steps;   // played once the start is answered
    std::vector<ScriptStep> on_stop; // played after the first stop(); its Done names job "stop-1"
    std::optional<std::string> cannot_express; // n/a, with this reason

    ServiceScript& then(ScriptStep step) {
        steps.push_back(std::move(step));
        return *this;
    }
    ServiceScript& after_stop(ScriptStep step) {
        on_stop.push_back(std::move(step));
        return *this;
    }
    ServiceScript& never_answers_start() {
        answers_start = false;
        return *this;
    }
    ServiceScript& lacks(std::string reason) {
        cannot_express = std::move(reason);
        return *this;
    }
};

class ScriptedSupervisor final : public Supervisor {
  public:
    explicit ScriptedSupervisor(std::filesystem::path events_dir)
        : events_dir_(std::move(events_dir)) {}

    ServiceScript& script(const std::string& id) { return scripts_[unit_of(id)]; }

    // What the runner asked for, in order ("start crashloop-…", "stop …", "state …").
    const std::vector<std::string>& calls() const { return calls_; }
    bool was_called(const std::string& call) const {
        return std::find(calls_.begin(), calls_.end(), call) != calls_.end();
    }

    // false: plays a supervisor that is polled (records_every_end()).
    bool records_ends = true;
    bool records_every_end() const override { return records_ends; }

    std::string name() const override { return "scripted"; }
    std::string version() override { return "1"; }
    std::filesystem::path events_dir() const override { return events_dir_; }

    std::optional<std::string> cannot_express(const ServiceSpec& service,
                                              const ExitCause&) const override {
        auto it = scripts_.find(service.name);
        return it == scripts_.end() ? std::nullopt : it->second.cannot_express;
    }

    void watch(OnChange on_change, OnJobDone on_job_done) override {
        on_change_ = std::move(on_change);
        on_job_done_ = std::move(on_job_done);
    }

    void start(const ServiceSpec& service, Done done) override {
        calls_.push_back("start " + service.name);
        Playing& playing = playing_[service.name];
        playing.reads.active_state = "activating";
        playing.reads.sub_state = "start";
        playing.reads.load_state = "loaded";
        const ServiceScript& script = scripts_[service.name];
        if (!script.answers_start) return;
        due_.push_back([this, done = std::move(done), unit = service.name] {
            done("", "");
            Playing& p = playing_[unit];
            const auto& steps = scripts_[unit].steps;
            p.queue.insert(p.queue.end(), steps.begin(), steps.end());
        });
    }

    void stop(const std::string& service, Done done) override {
        calls_.push_back("stop " + service);
        Playing& playing = playing_[service];
        const bool first = !playing.stopped;
        playing.stopped = true;
        due_.push_back([this, done = std::move(done), service, first] {
            done("", first ? "stop-1" : "stop-again");
            if (!first) return;
            Playing& p = playing_[service];
            const auto& steps = scripts_[service].on_stop;
            p.queue.insert(p.queue.end(), steps.begin(), steps.end());
        });
    }

    void reload(const std::string& service, Done done) override {
        calls_.push_back("reload " + service);
        due_.push_back([done = std::move(done)] { done("", "reload-1"); });
    }

    void kill(const std::string& service, int signal, Done done) override {
        calls_.push_back("kill " + service + " " + std::to_string(signal));
        due_.push_back([done = std::move(done)] { done("", ""); });
    }

    void state(const std::string& service, StateDone done) override {
        calls_.push_back("state " + service);
        due_.push_back(
            [done = std::move(done), answer = playing_[service].reads] { done("", answer); });
    }

    bool wait(std::chrono::steady_clock::time_point deadline, int interrupt_fd) override {
        if (due_.empty() && !any_step_due()) return block_until(deadline, interrupt_fd);
        // Replies first, then one step of every service; what they cause is due next time.
        std::deque<std::function<void()>> now;
        now.swap(due_);
        for (auto& deliver : now)
            deliver();
        for (auto& [unit, playing] : playing_) {
            if (playing.queue.empty()) continue;
            ScriptStep step = std::move(playing.queue.front());
            playing.queue.pop_front();
            play(unit, step);
        }
        return false;
    }

  private:
    struct Playing {
        std::deque<ScriptStep> queue;
        ServiceState reads;
        bool stopped = false;
    };

    std::string unit_of(const std::string& id) const { return service_prefix() + id + ".service"; }
    std::filesystem::path log_of(const std::string& unit) const {
        std::string id = unit.substr(service_prefix().size());
        id.resize(id.size() - std::string(".service").size());
        return events_dir_ / (id + ".log");
    }

    bool any_step_due() const {
        return std::any_of(playing_.begin(), playing_.end(),
                           [](const auto& entry) { return !entry.second.queue.empty(); });
    }

    void play(const std::string& unit, const ScriptStep& step) {
        if (!step.log_lines.empty()) {
            std::ofstream log(log_of(unit), std::ios::app);
            for (const auto& line : step.log_lines)
                log << line << '\n';
        }
        if (step.reads) playing_[unit].reads = *step.reads;
        for (const auto& [job, result] : step.jobs_done)
            if (on_job_done_) on_job_done_(job, unit, result);
        for (const auto& state : step.announced)
            if (on_change_) on_change_(unit, state);
    }

    static bool block_until(std::chrono::steady_clock::time_point deadline, int interrupt_fd) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        const int timeout = static_cast<int>(std::max<long long>(0, left.count()));
        pollfd fd{interrupt_fd, POLLIN, 0};
        return poll(&fd, interrupt_fd >= 0 ? 1 : 0, timeout) > 0;
    }

    std::filesystem::path events_dir_;
    std::map<std::string, ServiceScript> scripts_;
    std::map<std::string, Playing> playing_;
    std::deque<std::function<void()>> due_;
    std::vector<std::string> calls_;
    OnChange on_change_;
    OnJobDone on_job_done_;
};

} // namespace crashloop::testing
