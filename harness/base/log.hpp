#pragma once
// One spdlog logger per component ("harness", "systemd", "supervisord",
// "supervisor", "fixture"). The CLI registers them with their levels
// (--verbose, SPDLOG_LEVEL); library code and tests that run without the CLI
// get a clone of the default logger under the same name.
#include <spdlog/spdlog.h>

#include <memory>

namespace crashloop {

std::shared_ptr<spdlog::logger> logger(const char* component);

} // namespace crashloop
