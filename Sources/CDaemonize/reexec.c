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

// The path to execute again, as bytes: AT_EXECFN, joined to the start
// directory when relative. -1 with ENAMETOOLONG when it does not fit.
static int start_path(char *buffer, size_t size) {
    const char *path = (const char *)getauxval(AT_EXECFN);
    if (path == NULL || path[0] == '\0' || (path[0] != '/' && start_directory == NULL)) {
        path = "/proc/self/exe";
    }
    int n = path[0] == '/' ? snprintf(buffer, size, "%s", path) : snprintf(buffer, size, "%s/%s", start_directory, path);
    if (n < 0 || (size_t)n >= size) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

int dz_reexec(char *const argv[], char *path, size_t size) {
    if (start_path(path, size) != 0) return -1;
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
    execv(path, argv);
    if (errno == ENOENT || errno == ENOTDIR) {
        snprintf(path, size, "%s", "/proc/self/exe");
        execv(path, argv);
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
