// The daemon inject_test.cpp preloads libcrashloop-inject.so into: it installs its SIGUSR1 handler
// the way it is told, may fork workers that keep one, and says what happens on stdout. Plain libc,
// nothing of the project: the library must work in programs built without it.
//
//   inject-target --install sigaction|siginfo|signal|sysv_signal --handled FILE
//                 [--workers N --worker-mode fork|exec] [--abort-handler]
//   inject-target --worker READY_FD --handled FILE      (a worker started by --worker-mode exec)
//
// stdout: "oldact own" (or what is wrong with what sigaction() reports), "worker <pid>" for each
// worker, "ready"; then "handled <pid>" after each SIGUSR1 handled, by the main process or a
// worker, and "abort-handler <pid>" when its SIGABRT handler runs. SIGTERM ends it (default).

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

namespace {

// What errno holds while it waits: a handler that finds anything else found it clobbered.
constexpr int kErrnoWhileWaiting = 4242;

int handled_fd = -1;

// "<word> <pid>[ <note>]\n" to stdout (and to the handled file when asked), one write each; no
// stdio, this runs in signal handlers.
void say(const char* word, const char* note, bool to_handled_file) {
    char line[128];
    size_t size = 0;
    auto add = [&](const char* text) {
        for (; *text && size < sizeof line - 1; ++text)
            line[size++] = *text;
    };
    char digits[16];
    int count = 0;
    for (unsigned pid = unsigned(getpid()); pid != 0 || count == 0; pid /= 10)
        digits[count++] = char('0' + pid % 10);
    add(word);
    add(" ");
    while (count > 0 && size < sizeof line - 1)
        line[size++] = digits[--count];
    if (note) {
        add(" ");
        add(note);
    }
    line[size++] = '\n';
    if (to_handled_file && handled_fd >= 0) (void)!write(handled_fd, line, size);
    (void)!write(STDOUT_FILENO, line, size);
}

void on_usr1(int) {
    say("handled", errno == kErrnoWhileWaiting ? nullptr : "errno-changed", true);
}

void on_usr1_siginfo(int, siginfo_t* info, void*) {
    const char* wrong = !info || info->si_signo != SIGUSR1 ? "bad-siginfo"
                        : errno != kErrnoWhileWaiting      ? "errno-changed"
                                                           : nullptr;
    say("handled", wrong, true);
}

// As Apache's sig_coredump: say so, then die by the signal's default action.
void on_abort(int signo) {
    say("abort-handler", nullptr, false);
    signal(signo, SIG_DFL);
    raise(signo); // held until this handler returns
}

void install_sigaction(bool siginfo) {
    struct sigaction action = {};
    if (siginfo)
        action.sa_sigaction = on_usr1_siginfo;
    else
        action.sa_handler = on_usr1;
    sigemptyset(&action.sa_mask);
    sigaddset(&action.sa_mask, SIGUSR2); // a mask of its own, to see it come back
    action.sa_flags = SA_RESTART | (siginfo ? SA_SIGINFO : 0);
    if (sigaction(SIGUSR1, &action, nullptr) != 0) exit(2);
}

// What sigaction() reports for SIGUSR1 against what this program installed: "own" or the first
// difference.
const char* oldact_verdict(const struct sigaction& old, bool siginfo, bool mask_usr2) {
    if (bool(old.sa_flags & SA_SIGINFO) != siginfo) return "SA_SIGINFO differs";
    if (siginfo ? old.sa_sigaction != on_usr1_siginfo : old.sa_handler != on_usr1)
        return "not our handler";
    if (mask_usr2 && !sigismember(&old.sa_mask, SIGUSR2)) return "SIGUSR2 not in sa_mask";
    return "own";
}

// Installs the handler as `how` says, twice, and checks what both the query and the second
// install report as the old action.
const char* install_and_check(const char* how) {
    const bool siginfo = strcmp(how, "siginfo") == 0;
    struct sigaction queried = {};
    struct sigaction replaced = {};
    if (siginfo || strcmp(how, "sigaction") == 0) {
        install_sigaction(siginfo);
        sigaction(SIGUSR1, nullptr, &queried);
        struct sigaction again = queried;
        if (sigaction(SIGUSR1, &again, &replaced) != 0) exit(2);
        if (const char* wrong = oldact_verdict(queried, siginfo, true); strcmp(wrong, "own"))
            return wrong;
        return oldact_verdict(replaced, siginfo, true);
    }
    sighandler_t (*install)(int, sighandler_t) = strcmp(how, "signal") == 0        ? signal
                                                 : strcmp(how, "sysv_signal") == 0 ? sysv_signal
                                                                                   : nullptr;
    if (!install) exit(2);
    install(SIGUSR1, on_usr1);
    if (install(SIGUSR1, on_usr1) != on_usr1) return "signal() returned another handler";
    sigaction(SIGUSR1, nullptr, &queried);
    return oldact_verdict(queried, false, false);
}

// SIGUSR1 is blocked from the start of main() but in here, so its handler runs only with errno
// just set: any other value it finds, the library left behind.
[[noreturn]] void wait_for_signals() {
    sigset_t during_wait;
    sigprocmask(SIG_BLOCK, nullptr, &during_wait);
    sigdelset(&during_wait, SIGUSR1);
    for (;;) {
        errno = kErrnoWhileWaiting;
        sigsuspend(&during_wait);
    }
}

// A worker exec'd afresh: its own handler, then one byte on READY_FD.
[[noreturn]] void run_exec_worker(int ready_fd) {
    install_sigaction(false);
    (void)!write(ready_fd, "r", 1);
    close(ready_fd);
    wait_for_signals();
}

// Forks a worker that dies with the main process; in exec mode it runs this program again.
pid_t start_worker(const char* self, bool exec_mode, int ready_fd, const char* handled) {
    const pid_t main_pid = getpid();
    const pid_t pid = fork();
    if (pid != 0) return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != main_pid) _exit(0);
    if (!exec_mode) {
        (void)!write(ready_fd, "r", 1);
        wait_for_signals();
    }
    char fd_text[16];
    snprintf(fd_text, sizeof fd_text, "%d", ready_fd);
    execl(self, self, "--worker", fd_text, "--handled", handled, (char*)nullptr);
    _exit(127);
}

} // namespace

int main(int argc, char** argv) {
    const char *how = nullptr, *handled = nullptr, *worker_mode = "fork";
    int workers = 0, worker_ready_fd = -1;
    bool abort_handler = false;
    for (int i = 1; i < argc; ++i) {
        const bool has_value = i + 1 < argc;
        if (!strcmp(argv[i], "--install") && has_value)
            how = argv[++i];
        else if (!strcmp(argv[i], "--handled") && has_value)
            handled = argv[++i];
        else if (!strcmp(argv[i], "--workers") && has_value)
            workers = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--worker-mode") && has_value)
            worker_mode = argv[++i];
        else if (!strcmp(argv[i], "--worker") && has_value)
            worker_ready_fd = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--abort-handler"))
            abort_handler = true;
        else
            return 2;
    }
    if (!handled) return 2;
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, nullptr); // until wait_for_signals()
    handled_fd = open(handled, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (handled_fd < 0) return 2;
    if (worker_ready_fd >= 0) run_exec_worker(worker_ready_fd);
    if (!how) return 2;

    printf("oldact %s\n", install_and_check(how));
    if (abort_handler) signal(SIGABRT, on_abort);

    int ready[2];
    if (pipe(ready) != 0) return 2;
    for (int i = 0; i < workers; ++i) {
        fflush(stdout); // not twice, through a forked copy of the buffer
        const pid_t pid = start_worker(argv[0], !strcmp(worker_mode, "exec"), ready[1], handled);
        char byte;
        if (pid < 0 || read(ready[0], &byte, 1) != 1) return 2;
        printf("worker %d\n", int(pid));
    }
    close(ready[0]);
    close(ready[1]);
    printf("ready\n");
    fflush(stdout);
    wait_for_signals();
}
