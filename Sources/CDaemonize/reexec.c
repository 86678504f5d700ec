// Running the program again in place (Daemon.reexec): where it was started
// from, and the exec itself with stdio flushed and signals reset.
#define _GNU_SOURCE
#include "cdaemonize.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

// The working directory the program started in, kept only when the path it
// was executed by (AT_EXECFN) is relative: Daemon.detach changes directory to
// /, and the program may change it too, so it must be read before main. An
// absolute path (the usual case: a shell's PATH lookup gives one) costs
// nothing here but getauxval.
static char *start_directory;

__attribute__((constructor))
static void dz_record_start_directory(void) {
    const char *path = (const char *)getauxval(AT_EXECFN);
    if (path != NULL && path[0] != '/') start_directory = getcwd(NULL, 0);
}

const char *dz_exec_filename(void) { return (const char *)getauxval(AT_EXECFN); }

const char *dz_start_directory(void) { return start_directory; }

int dz_exec_reset(const char *path, const char *fallback, char *const argv[], int *fell_back) {
    // Everything blocked first: nothing may be delivered to a handler that
    // is being taken away, nor to a default action before the exec.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    // A print just before the exec is not lost in a buffer the exec throws away.
    fflush(NULL);
    struct sigaction saved[NSIG];
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        // Invalid numbers (glibc's reserved real-time signals) fail harmlessly.
        (void)sigaction(sig, &dfl, &saved[sig]);
    }
    // The signals glibc reserves (its sigaction refuses them) through the kernel's own call.
    unsigned long kernel_default[8] = {0}, kernel_saved[8][8];
    for (int sig = 32; sig < SIGRTMIN && sig < 40; sig++) (void)dz_kernel_sigaction(sig, kernel_default, kernel_saved[sig - 32]);
    // The new image starts as a program started afresh: no signal blocked
    // (a pending one is delivered there, or here with its default action).
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    *fell_back = 0;
    execv(path, argv);
    if ((errno == ENOENT || errno == ENOTDIR) && fallback != NULL) {
        *fell_back = 1;
        execv(fallback, argv);
    }
    int error = errno;
    pthread_sigmask(SIG_SETMASK, &all, NULL);
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        (void)sigaction(sig, &saved[sig], NULL);
    }
    for (int sig = 32; sig < SIGRTMIN && sig < 40; sig++) (void)dz_kernel_sigaction(sig, kernel_saved[sig - 32], NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = error;
    return -1;
}
