// The fixture's side of the notify protocol, against a socket of the test's own standing in
// for the manager's: what sd_notify(), sd_notify_barrier() and sd_watchdog_enabled() do.
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <future>
#include <string>

#include "notify.hpp"
#include "temp_dir.hpp"

namespace crashloop {
namespace {

// A datagram socket bound where $NOTIFY_SOCKET says, for the duration of a test.
class FakeManager {
  public:
    FakeManager() {
        const std::string path = (dir_.path() / "notify").string();
        sock_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
        EXPECT_EQ(bind(sock_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
        setenv("NOTIFY_SOCKET", path.c_str(), 1);
    }
    ~FakeManager() {
        unsetenv("NOTIFY_SOCKET");
        close(sock_);
    }
    // One datagram: its text, and the fd it carried (-1 if none).
    std::pair<std::string, int> receive() {
        char buffer[4096];
        iovec iov{buffer, sizeof buffer};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
        msghdr message{};
        message.msg_iov = &iov;
        message.msg_iovlen = 1;
        message.msg_control = control;
        message.msg_controllen = sizeof control;
        pollfd p{sock_, POLLIN, 0};
        if (poll(&p, 1, 5000) != 1) return {"(nothing within 5 s)", -1};
        const ssize_t n = recvmsg(sock_, &message, MSG_CMSG_CLOEXEC);
        int fd = -1;
        for (cmsghdr* h = CMSG_FIRSTHDR(&message); h != nullptr; h = CMSG_NXTHDR(&message, h))
            if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
                std::memcpy(&fd, CMSG_DATA(h), sizeof fd);
        return {std::string(buffer, n > 0 ? static_cast<size_t>(n) : 0), fd};
    }

  private:
    TempDir dir_{"notify"};
    int sock_ = -1;
};

TEST(Notify, without_a_socket_nothing_is_sent_and_nothing_fails) {
    unsetenv("NOTIFY_SOCKET");
    EXPECT_EQ(notify::send("READY=1"), 0);
    EXPECT_EQ(notify::barrier(1000), 0);
}

TEST(Notify, a_message_arrives_whole) {
    FakeManager manager;
    EXPECT_EQ(notify::send("READY=1\nSTATUS=serving"), 1);
    const auto [text, fd] = manager.receive();
    EXPECT_EQ(text, "READY=1\nSTATUS=serving");
    EXPECT_EQ(fd, -1);
}

TEST(Notify, the_barrier_returns_once_the_manager_closes_the_pipe_it_was_given) {
    FakeManager manager;
    auto waiting = std::async(std::launch::async, [] { return notify::barrier(5'000'000); });
    const auto [text, fd] = manager.receive();
    EXPECT_EQ(text, "BARRIER=1");
    ASSERT_GE(fd, 0);
    EXPECT_EQ(waiting.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout)
        << "returned before the manager had read what came before";
    close(fd);
    EXPECT_EQ(waiting.get(), 1);
}

TEST(Notify, a_barrier_nobody_answers_times_out) {
    FakeManager manager;
    EXPECT_EQ(notify::barrier(100'000), -ETIMEDOUT);
    const auto [text, fd] = manager.receive();
    if (fd >= 0) close(fd);
}

TEST(Notify, the_watchdog_is_ours_only_when_its_pid_is_ours_or_unset) {
    uint64_t usec = 0;
    unsetenv("WATCHDOG_PID");
    unsetenv("WATCHDOG_USEC");
    EXPECT_EQ(notify::watchdog_enabled(&usec), 0);
    setenv("WATCHDOG_USEC", "500000", 1);
    EXPECT_EQ(notify::watchdog_enabled(&usec), 1);
    EXPECT_EQ(usec, 500000u);
    setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
    EXPECT_EQ(notify::watchdog_enabled(&usec), 1);
    setenv("WATCHDOG_PID", std::to_string(getpid() + 1).c_str(), 1);
    EXPECT_EQ(notify::watchdog_enabled(&usec), 0) << "meant for another process";
    setenv("WATCHDOG_USEC", "soon", 1);
    unsetenv("WATCHDOG_PID");
    EXPECT_LT(notify::watchdog_enabled(&usec), 0);
    unsetenv("WATCHDOG_USEC");
}

} // namespace
} // namespace crashloop
