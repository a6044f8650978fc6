#pragma once
// A running crashloop-sandbox (see sandbox_main.cpp): it owns a cgroup, and
// whatever is in it dies when the keeper is told to go (EOF on its stdin) or
// when this process dies. Shared by the private systemd and the Jail.
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace crashloop {

class Keeper {
  public:
    // Starts the keeper and waits for its "ready …" line; returns after it, or
    // throws SupervisorError (its own message on stderr says why).
    Keeper(const std::filesystem::path& program, const std::vector<std::string>& args,
           std::chrono::milliseconds ready_timeout, const std::string& what);
    ~Keeper(); // shut_down()
    Keeper(const Keeper&) = delete;
    Keeper& operator=(const Keeper&) = delete;

    // The words after "ready" on the keeper's first line.
    const std::string& ready_words() const { return ready_words_; }
    int pid() const;
    // EOF to the keeper, then wait (bounded) for its teardown to end.
    void shut_down();

  private:
    struct Process;
    std::unique_ptr<Process> process_;
    std::string ready_words_;
};

} // namespace crashloop
