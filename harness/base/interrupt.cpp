#include "interrupt.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "errors.hpp"

namespace crashloop::interrupt {

namespace {

int pipe_fds[2] = {-1, -1};

void on_signal(int) {
    const int saved = errno;
    char byte = 1;
    [[maybe_unused]] auto ignored = write(pipe_fds[1], &byte, 1);
    errno = saved;
}

} // namespace

void install() {
    if (pipe_fds[0] >= 0 || pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) return;
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP})
        sigaction(sig, &action, nullptr);
}

int fd() {
    return pipe_fds[0];
}

bool requested() {
    if (pipe_fds[0] < 0) return false;
    pollfd p{pipe_fds[0], POLLIN, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

void throw_if_requested() {
    if (requested()) throw Interrupted();
}

} // namespace crashloop::interrupt
