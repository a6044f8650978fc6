#pragma once
// The list of drivers (registry.cpp): the one place that knows them all.
#include <memory>
#include <string>
#include <vector>

#include "supervisor.hpp"

namespace crashloop {

const std::vector<DriverInfo>& drivers();
// "supervisord", "systemctl:/usr/local/bin/mysystemctl" → a running driver.
// Throws InputError for an unknown name or a missing argument.
std::unique_ptr<Supervisor> make_supervisor(const std::string& spec, DriverContext context);

} // namespace crashloop
