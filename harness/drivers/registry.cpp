// The list of supervisor drivers. Adding one: a new folder or file in drivers/ that
// defines `DriverInfo NAME_driver()`, and its NAME in this line.
#define CRASHLOOP_DRIVERS(X) X(systemd) X(systemd_host) X(supervisord) X(systemctl) X(exec)

#include <algorithm>

#include "errors.hpp"
#include "registry.hpp"

namespace crashloop {

#define CRASHLOOP_DECLARE(name) DriverInfo name##_driver();
CRASHLOOP_DRIVERS(CRASHLOOP_DECLARE)
#undef CRASHLOOP_DECLARE

const std::vector<DriverInfo>& drivers() {
#define CRASHLOOP_ENTRY(name) name##_driver(),
    static const std::vector<DriverInfo> list = {CRASHLOOP_DRIVERS(CRASHLOOP_ENTRY)};
#undef CRASHLOOP_ENTRY
    return list;
}

std::unique_ptr<Supervisor> make_supervisor(const std::string& spec, DriverContext context) {
    const auto colon = spec.find(':');
    const std::string name = spec.substr(0, colon);
    const auto& list = drivers();
    const auto driver = std::find_if(list.begin(), list.end(), [&](const DriverInfo& d) { return d.name == name; });
    if (driver == list.end()) {
        std::string known;
        for (const auto& d : list) known += (known.empty() ? "" : ", ") + d.usage;
        throw InputError("--supervisor", 0, "unknown supervisor '" + spec + "'; expected one of: " + known);
    }
    if (driver->takes_argument && !driver->argument_optional && (colon == std::string::npos || colon + 1 == spec.size()))
        throw InputError("--supervisor", 0, "'" + name + "' needs an argument: " + driver->usage);
    if (!driver->takes_argument && colon != std::string::npos)
        throw InputError("--supervisor", 0, "'" + name + "' takes no argument: " + driver->usage);
    if (colon != std::string::npos) context.argument = spec.substr(colon + 1);
    return driver->make(context);
}

} // namespace crashloop
