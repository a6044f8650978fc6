#include "unit_file_writer.hpp"
#include "errors.hpp"

#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "restart_table.hpp"
#include "service_settings.hpp"
#include "service_spec.hpp"

namespace crashloop {

namespace {

// Characters a word of an Exec*= line may hold unquoted: nothing that splits
// (whitespace), quotes, escapes or continues a line.
bool plain(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("_./:,=+@-%$^~#[]{}()<>|&*?!").find(c) != std::string_view::npos;
}

// Inside double quotes: the C escapes systemd's unquoting undoes (systemd.syntax(7), "Quoting").
std::string c_escaped(std::string_view text) {
    std::string out;
    for (char c : text) {
        switch (c) {
        case '\\':
            out += "\\\\";
            break;
        case '"':
            out += "\\\"";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\r':
            out += "\\r";
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
                char hex[5];
                std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(c));
                out += hex;
            } else {
                out += c;
            }
        }
    }
    return out;
}

std::string doubled(std::string_view text, char special) {
    std::string out;
    for (char c : text) {
        out += c;
        if (c == special) out += c;
    }
    return out;
}

// Values that are not command lines still have their specifiers expanded, and
// cannot span lines.
std::string one_line(std::string_view text) {
    std::string out = doubled(text, '%');
    for (char& c : out)
        if (c == '\n' || c == '\r') c = ' ';
    // A trailing backslash would continue the line (systemd.syntax(7)).
    while (!out.empty() && out.back() == '\\')
        out.pop_back();
    return out;
}

} // namespace

std::string exec_word(std::string_view argument) {
    // '%' is a specifier and '$' a variable in Exec*= lines: "%%" and "$$" are the literals.
    const std::string text = doubled(doubled(argument, '%'), '$');
    // config_parse_exec() looks for an unquoted lone ';' (a separator) and "\;" (a literal).
    if (text == ";") return "\\;";
    bool quote = text.empty();
    for (char c : text)
        quote = quote || !plain(c);
    return quote ? "\"" + c_escaped(text) + "\"" : text;
}

std::string exec_line(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& word : argv)
        out += (out.empty() ? "" : " ") + exec_word(word);
    return out;
}

std::string timespan_text(std::chrono::microseconds span) {
    if (span == infinite_time) return "infinity";
    const long long us = span.count();
    if (us != 0 && us % 1000000 == 0) return std::to_string(us / 1000000) + "s";
    if (us != 0 && us % 1000 == 0) return std::to_string(us / 1000) + "ms";
    return std::to_string(us) + "us";
}

std::string unit_file_text(const ServiceSpec& s) {
    std::ostringstream out;
    out << "# Written by crashloop for one cell; removed with the run.\n";
    out << "[Unit]\n";
    if (!s.description.empty()) out << "Description=" << one_line(s.description) << "\n";
    if (!s.after.empty()) {
        out << "After=";
        for (size_t i = 0; i < s.after.size(); ++i)
            out << (i ? " " : "") << one_line(s.after[i]);
        out << "\n";
    }
    // The rate limit lives in [Unit] since systemd 230 (systemd.unit(5)).
    if (s.start_limit_interval)
        out << "StartLimitIntervalSec=" << timespan_text(*s.start_limit_interval) << "\n";
    if (s.start_limit_burst) out << "StartLimitBurst=" << *s.start_limit_burst << "\n";

    out << "\n[Service]\n";
    out << "Type=" << s.type << "\n";
    out << "Restart=" << to_string(s.restart) << "\n";
    out << "RestartSec=" << timespan_text(s.restart_sec) << "\n";
    out << "TimeoutStartSec=" << timespan_text(s.timeout_start) << "\n";
    out << "TimeoutStopSec=" << timespan_text(s.timeout_stop) << "\n";
    if (s.watchdog.count() > 0) out << "WatchdogSec=" << timespan_text(s.watchdog) << "\n";
    out << "ExecStart=" << exec_line(s.exec_start) << "\n";
    if (!s.exec_reload.empty()) out << "ExecReload=" << exec_line(s.exec_reload) << "\n";
    if (!s.exec_stop.empty()) out << "ExecStop=" << exec_line(s.exec_stop) << "\n";
    if (!s.pid_file.empty()) out << "PIDFile=" << one_line(s.pid_file) << "\n";
    if (s.kill_signal != 0) out << "KillSignal=" << signal_name(s.kill_signal) << "\n";
    if (!s.kill_mode.empty()) out << "KillMode=" << s.kill_mode << "\n";
    if (!s.rules.success_exit_status.empty())
        out << "SuccessExitStatus=" << status_text(s.rules.success_exit_status) << "\n";
    if (!s.rules.restart_prevent_exit_status.empty())
        out << "RestartPreventExitStatus=" << status_text(s.rules.restart_prevent_exit_status)
            << "\n";
    if (!s.rules.restart_force_exit_status.empty())
        out << "RestartForceExitStatus=" << status_text(s.rules.restart_force_exit_status) << "\n";
    // Environment= takes words quoted as Exec*= does, but expands no '$'.
    for (const auto& assignment : s.environment) {
        const std::string text = doubled(assignment, '%');
        bool quote = false;
        for (char c : text)
            quote = quote || !plain(c);
        out << "Environment=" << (quote ? "\"" + c_escaped(text) + "\"" : text) << "\n";
    }
    return out.str();
}

std::filesystem::path write_unit_file(const ServiceSpec& service,
                                      const std::filesystem::path& dir) {
    const std::filesystem::path file = dir / service.name;
    const std::filesystem::path tmp = dir / ("." + service.name + ".tmp");
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << unit_file_text(service);
        out.flush();
        if (!out) throw SupervisorError("cannot write the unit file " + tmp.string());
    }
    std::error_code error;
    std::filesystem::rename(tmp, file, error);
    if (error)
        throw SupervisorError("cannot write the unit file " + file.string() + ": " +
                              error.message());
    return file;
}

} // namespace crashloop
