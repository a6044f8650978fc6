#include "supervisord_log.hpp"

#include <sys/wait.h>

#include <regex>

#include "restart_table.hpp"

namespace crashloop {

SupervisordExit decode_supervisord_exit(const std::string& text) {
    static const std::regex exit_status(R"(exit status (\d+))");
    static const std::regex terminated(
        R"(terminated by (SIG[A-Z0-9+-]+|signal \d+)( \(core dumped\))?)");
    std::smatch m;
    SupervisordExit exit;
    if (std::regex_search(text, m, exit_status)) {
        exit.code = CLD_EXITED;
        exit.status = std::stoi(m[1]);
    } else if (std::regex_search(text, m, terminated)) {
        exit.code = m[2].matched ? CLD_DUMPED : CLD_KILLED;
        const std::string name = m[1];
        if (auto number = parse_signal(name))
            exit.status = *number;
        else if (name.starts_with("signal "))
            exit.status = std::stoi(name.substr(7));
        else
            exit.status = 0;
    } else {
        exit.code = CLD_KILLED; // "unknown termination cause 0x…"
        exit.status = 0;
    }
    return exit;
}

std::optional<SupervisordLogLine> parse_supervisord_log_line(const std::string& line) {
    static const std::regex record(R"(^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ (.*)$)");
    static const std::regex spawned(R"(^spawned: '([^']+)' with pid (\d+)$)");
    static const std::regex success(R"(^success: (\S+) entered RUNNING state)");
    static const std::regex exited(R"(^exited: (\S+) \((.*); (expected|not expected)\)$)");
    static const std::regex stopped(R"(^stopped: (\S+) \((.*)\)$)");
    static const std::regex killing(R"(^killing (\S+) \(pid (\d+)\) (process group )?with signal)");
    static const std::regex gave_up(R"(^gave up: (\S+) entered FATAL state,? ?(.*)$)");
    static const std::regex backoff_stop(R"(^Attempted to kill (\S+), which is in BACKOFF state)");
    std::smatch m;
    if (!std::regex_match(line, m, record)) return std::nullopt;
    const std::string message = m[1];
    SupervisordLogLine parsed;
    using Kind = SupervisordLogLine::Kind;
    if (message.starts_with("supervisord started with pid")) {
        parsed.kind = Kind::started;
    } else if (std::regex_search(message, m, spawned)) {
        parsed.kind = Kind::spawned;
        parsed.program = m[1];
        parsed.pid = static_cast<uint32_t>(std::stoul(m[2]));
    } else if (std::regex_search(message, m, success)) {
        parsed.kind = Kind::success;
        parsed.program = m[1];
    } else if (std::regex_search(message, m, exited)) {
        parsed.kind = Kind::exited;
        parsed.program = m[1];
        parsed.exit = decode_supervisord_exit(m[2]);
        parsed.expected = m[3] == "expected";
    } else if (std::regex_search(message, m, stopped)) {
        parsed.kind = Kind::stopped;
        parsed.program = m[1];
        parsed.exit = decode_supervisord_exit(m[2]);
    } else if (std::regex_search(message, m, killing)) {
        parsed.kind = Kind::killing;
        parsed.program = m[1];
        parsed.pid = static_cast<uint32_t>(std::stoul(m[2]));
    } else if (std::regex_search(message, m, gave_up)) {
        parsed.kind = Kind::gave_up;
        parsed.program = m[1];
        parsed.why = m[2];
    } else if (std::regex_search(message, m, backoff_stop)) {
        parsed.kind = Kind::backoff_stop;
        parsed.program = m[1];
    }
    return parsed;
}

} // namespace crashloop
