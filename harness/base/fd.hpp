#pragma once
// One owner for every file descriptor the harness opens (pidfds, epoll,
// eventfds, sockets): closed by the destructor, never twice.
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <utility>

namespace crashloop {

class Fd {
  public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Fd& operator=(Fd&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    int release() { return std::exchange(fd_, -1); }
    void reset() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

  private:
    int fd_;
};

// pidfd_open(2): a handle on a process that turns readable when it ends, and
// that never names a recycled pid. Invalid (errno set) when the pid is gone.
inline Fd pidfd_of(uint32_t pid) {
    return Fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

} // namespace crashloop
