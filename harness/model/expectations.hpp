#pragma once
// Known deviations: cells where a supervisor (and version) is known to answer
// differently from the manual, each with its reason
// (scenarios/expectations/<supervisor>-<major version>.toml).
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "exit_cause.hpp"
#include "restart_table.hpp"

namespace crashloop {

struct KnownDeviation {
    std::string cause;                  // cause id
    std::vector<RestartValue> restarts; // the Restart= values it applies to
    bool restarted = false;             // what the supervisor really does
    std::string reason;
    std::string file;
    int line = 0;
};

class Expectations {
  public:
    // Loads the file for this supervisor and version ("systemd", "252.38-1~deb12u1"
    // → systemd-252.toml, else systemd.toml, else none). Throws InputError.
    static Expectations for_supervisor(const std::filesystem::path& scenarios_dir,
                                       const std::string& supervisor, const std::string& version);
    static Expectations load(const std::filesystem::path& file);

    const KnownDeviation* find(const std::string& cause, RestartValue value) const;
    // InputError (file:line) for a deviation whose cause is none of `causes` (a typo).
    void check_causes(const std::vector<ExitCause>& causes) const;
    const std::string& source() const { return source_; } // file it came from, "" if none

  private:
    std::vector<KnownDeviation> deviations_;
    std::string source_;
};

} // namespace crashloop
