#include "jail.hpp"

#include <sstream>

#include "keeper.hpp"
#include "errors.hpp"

namespace crashloop {

Jail::Jail(const std::filesystem::path& keeper)
    : keeper_(std::make_unique<Keeper>(keeper, std::vector<std::string>{"--jail"}, std::chrono::seconds(10),
                                       "cgroup jail")),
      keeper_path_(keeper) {
    // "ready crashloop-1234 /tmp/crashloop-jail-1234"
    std::istringstream words(keeper_->ready_words());
    std::string dir;
    words >> cgroup_ >> dir;
    if (cgroup_.empty() || dir.empty())
        throw SupervisorError("crashloop-sandbox --jail said: ready " + keeper_->ready_words());
    dir_ = dir;
}

Jail::~Jail() = default; // the keeper kills everything in the cgroup and removes it and dir()

std::vector<std::string> Jail::enter_prefix() const {
    return {keeper_path_.string(), "--enter", cgroup_, "--"};
}

} // namespace crashloop
