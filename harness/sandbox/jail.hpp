#pragma once
// A cgroup of our own for a supervisor that is not the built-in systemd
// (supervisord, a systemctl-compatible program, a user's own): everything it
// starts, daemons and their children included, is killed and the cgroup
// removed when the Jail goes, or when this process dies, even by SIGKILL.
// crashloop-sandbox keeps it (`--jail`); a command is put in it by prefixing
// its argv with enter_prefix() (`crashloop-sandbox --enter NAME --`), which
// moves itself into the cgroup and then execs the command.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace crashloop {

class Keeper;

class Jail {
  public:
    explicit Jail(const std::filesystem::path& keeper); // throws SupervisorError
    ~Jail();                                            // kills all inside, removes the cgroup
    Jail(const Jail&) = delete;
    Jail& operator=(const Jail&) = delete;

    // {"…/crashloop-sandbox", "--enter", "crashloop-1234", "--"}: put before a command's argv.
    std::vector<std::string> enter_prefix() const;
    // A private temporary directory, removed with the jail.
    const std::filesystem::path& dir() const { return dir_; }

  private:
    std::unique_ptr<Keeper> keeper_;
    std::filesystem::path keeper_path_;
    std::string cgroup_;
    std::filesystem::path dir_;
};

} // namespace crashloop
