#pragma once
// A ServiceSpec written as a systemd unit file, for supervisors that read unit
// files from a directory (systemctl-compatible programs, see
// command_driver.hpp). The syntax is systemd.syntax(7) and systemd.service(5):
// ExecStart= & co. take words quoted and C-escaped, with '%' doubled (a
// specifier otherwise) and '$' doubled (a variable otherwise); a lone ';' is
// written "\;" so that it is an argument, not a command separator.
// harness/unit_file.hpp reads what this writes (tests/unit/unit_file_writer_test.cpp).
#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "service_spec.hpp"

namespace crashloop {

// The whole file: [Unit] then [Service].
std::string unit_file_text(const ServiceSpec& service);

// Writes <dir>/<service.name> through a rename, so a reader never sees half a
// file; returns its path. Throws SupervisorError naming the file.
std::filesystem::path write_unit_file(const ServiceSpec& service, const std::filesystem::path& dir);

// One argument of an Exec*= line: "/usr/sbin/httpd", "\"two words\"", "100%%".
std::string exec_word(std::string_view argument);
// A command line for Exec*=: its words, quoted as needed, joined by spaces.
std::string exec_line(const std::vector<std::string>& argv);
// A time span as systemd's parse_sec() reads it: "100ms", "30s", "1500us", "infinity".
std::string timespan_text(std::chrono::microseconds span);

} // namespace crashloop
