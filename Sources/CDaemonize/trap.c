// Signals trapped for a SignalSequence: a handler that writes the signal's
// number, one byte, to the sequence's pipe, and restores errno. Nothing else
// runs in it. A handler rather than a blocked mask and a signalfd: under an
// async main, libdispatch parks the main thread in sigsuspend with no signal
// blocked, so a signal blocked everywhere else would reach that thread's
// default action; a handler catches it in whichever thread it reaches.
#define _GNU_SOURCE
#include "cdaemonize.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

static _Atomic int trap_fd[NSIG];
static _Atomic int trap_used[NSIG];
static struct sigaction trap_previous[NSIG];

static void trap_handler(int sig) {
    int saved = errno;
    if (sig > 0 && sig < NSIG) {
        int fd = atomic_load(&trap_fd[sig]);
        unsigned char byte = (unsigned char)sig;
        // A full pipe drops it: the signal is still pending for the reader, as the kernel coalesces it.
        if (fd >= 0 && atomic_load(&trap_used[sig])) (void)write(fd, &byte, 1);
    }
    errno = saved;
}

int dz_trap_signal(int sig, int fd) {
    if (sig <= 0 || sig >= NSIG || sig == SIGKILL || sig == SIGSTOP) {
        errno = EINVAL;
        return -1;
    }
    atomic_store(&trap_fd[sig], fd);
    if (atomic_load(&trap_used[sig])) return 0;  // taken over from an earlier sequence
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = trap_handler;
    sigfillset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    atomic_store(&trap_used[sig], 1);
    if (sigaction(sig, &sa, &trap_previous[sig]) != 0) {
        atomic_store(&trap_used[sig], 0);
        return -1;
    }
    return 0;
}

int dz_untrap_signal(int sig, int fd) {
    if (sig <= 0 || sig >= NSIG || !atomic_load(&trap_used[sig]) || atomic_load(&trap_fd[sig]) != fd) return 0;
    // The old disposition first: a signal from now on meets it, never a closed descriptor.
    int rc = sigaction(sig, &trap_previous[sig], NULL);
    atomic_store(&trap_used[sig], 0);
    atomic_store(&trap_fd[sig], -1);
    return rc;
}
