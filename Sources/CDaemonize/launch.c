// The fork/exec path. Between fork and exec only async-signal-safe calls run:
// no allocation, no stdio, no locks. Every input was prepared by the caller.
#define _GNU_SOURCE
#include "cdaemonize.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

// More descriptors than any service asks for; keeps the child allocation-free.
#define DZ_MAX_FDS 64

struct dz_report {
    int step;
    int err;
};

static void report_and_exit(int fd, int step, int err) {
    struct dz_report r = { step, err };
    if (fd >= 0) {
        ssize_t n;
        do {
            n = write(fd, &r, sizeof r);
        } while (n < 0 && errno == EINTR);
    }
    _exit(127);
}

static void reset_signal_dispositions(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        // Invalid numbers (glibc's reserved real-time signals) fail harmlessly.
        (void)sigaction(sig, &sa, NULL);
    }
    // Those glibc reserves: an ignored one would stay ignored in the program.
    unsigned long kernel_default[8] = {0};
    for (int sig = 32; sig < SIGRTMIN && sig < 40; sig++) (void)dz_kernel_sigaction(sig, kernel_default, NULL);
}

int dz_close_range(unsigned int first, unsigned int last, int cloexec) {
#ifdef SYS_close_range
    return (int)syscall(SYS_close_range, first, last, cloexec ? 4u /* CLOSE_RANGE_CLOEXEC */ : 0u);
#else
    (void)first; (void)last; (void)cloexec;
    errno = ENOSYS;
    return -1;
#endif
}

static void close_slow(int from, int to_inclusive) {
    for (int fd = from; fd <= to_inclusive; fd++) (void)close(fd);
}

int dz_close_all_except(int first, const int *keep, int nkeep) {
    int sorted[DZ_MAX_FDS + 2];
    int n = 0;
    if (nkeep > DZ_MAX_FDS + 2) { errno = EINVAL; return -1; }
    for (int i = 0; i < nkeep; i++) {
        int v = keep[i];
        if (v < first) continue;
        int j = n;
        while (j > 0 && sorted[j - 1] > v) { sorted[j] = sorted[j - 1]; j--; }
        sorted[j] = v;
        n++;
    }
    int use_range = 1;
    int cur = first;
    struct rlimit rl;
    int limit = 65536;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)1 << 30) {
        limit = (int)rl.rlim_cur;
    }
    for (int i = 0; i <= n; i++) {
        int stop = (i < n) ? sorted[i] : -1;
        if (i < n && stop < cur) continue; // duplicate
        if (i < n && stop == cur) { cur = stop + 1; continue; }
        unsigned int last = (i < n) ? (unsigned int)(stop - 1) : ~0u;
        if (use_range && dz_close_range((unsigned int)cur, last, 0) != 0) {
            if (errno != ENOSYS && errno != EINVAL) return -1;
            use_range = 0;
        }
        if (!use_range) close_slow(cur, (i < n) ? stop - 1 : limit - 1);
        if (i < n) cur = stop + 1;
    }
    return 0;
}

// Writes `text` to /proc/self/oom_score_adj (open, write, close: all
// async-signal-safe).
static int write_oom_score_adj(const char *text) {
    size_t len = 0;
    while (text[len] != '\0') len++;
    int fd;
    do { fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC); } while (fd < 0 && errno == EINTR);
    if (fd < 0) return -1;
    ssize_t n;
    do { n = write(fd, text, len); } while (n < 0 && errno == EINTR);
    int saved = errno;
    (void)close(fd);
    if (n == (ssize_t)len) return 0;
    errno = n < 0 ? saved : EIO;
    return -1;
}

// Writes this process's pid after the "=" of `entry` ("LISTEN_PID=" and room
// for 20 digits): socket activation names the pid that may take the sockets,
// which only the child knows.
static void write_listen_pid(char *entry) {
    char *p = entry;
    while (*p != '\0' && *p != '=') p++;
    if (*p != '=') return;
    p++;
    char digits[24];
    int n = 0;
    unsigned long v = (unsigned long)getpid();
    do { digits[n++] = (char)('0' + v % 10); v /= 10; } while (v > 0 && n < 20);
    while (n > 0) *p++ = digits[--n];
    *p = '\0';
}

// Resource limits, then the nice value, I/O and CPU scheduling: all before the
// privilege drop, which would forbid raising a limit or a priority.
static int apply_limits_and_scheduling(const struct dz_launch_attr *a, int *step) {
    for (int i = 0; i < a->nlimits; i++) {
        struct rlimit rl = { (rlim_t)a->limits[i].soft, (rlim_t)a->limits[i].hard };
        if (setrlimit(a->limits[i].resource, &rl) < 0) { *step = DZ_STEP_RLIMIT; return -1; }
    }
    if (a->set_nice && setpriority(PRIO_PROCESS, 0, a->nice) < 0) { *step = DZ_STEP_NICE; return -1; }
    if (a->set_ioprio) {
#ifdef SYS_ioprio_set
        if (syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (a->ioprio_class << 13) | a->ioprio_level) < 0) {
            *step = DZ_STEP_IOPRIO;
            return -1;
        }
#else
        errno = ENOSYS;
        *step = DZ_STEP_IOPRIO;
        return -1;
#endif
    }
    if (a->set_sched) {
        struct sched_param param;
        memset(&param, 0, sizeof param);
        param.sched_priority = a->sched_priority;
        if (sched_setscheduler(0, a->sched_policy, &param) < 0) { *step = DZ_STEP_SCHED; return -1; }
    }
    return 0;
}

// The supplementary groups, the group, then the user, each only when asked.
// In the child of dz_launch these are the kernel's calls, not glibc's
// wrappers: in a process with threads, glibc takes a lock and marks and
// signals every thread it knows of, which in a CLONE_VM child are the
// parent's (still running, one of them perhaps holding that lock); the
// kernel's calls change the calling process, which is all the child is. In
// place (dz_exec_in_place), glibc's wrappers, for a caller that has threads.
static int set_credentials(const struct dz_launch_attr *a, int raw, int *step) {
    if (a->set_groups) {
        *step = DZ_STEP_SETGROUPS;
        if ((raw ? syscall(SYS_setgroups, (size_t)a->ngroups, a->groups) : setgroups((size_t)a->ngroups, a->groups)) < 0) return -1;
    }
    if (a->set_gid) {
        *step = DZ_STEP_SETGID;
        if ((raw ? syscall(SYS_setgid, a->gid) : setgid(a->gid)) < 0) return -1;
    }
    if (a->set_uid) {
        *step = DZ_STEP_SETUID;
        if ((raw ? syscall(SYS_setuid, a->uid) : setuid(a->uid)) < 0) return -1;
    }
    return 0;
}

// The common preparation of a launched program. Reports through report_fd
// (fork mode) or returns the errno with *step set (in-place mode, report_fd
// is then only kept open).
static int prepare(const struct dz_launch_attr *a, int report_fd, int forked, pid_t parent, int *step, int *report_fd_out) {
#define FAIL(s) do { int e__ = errno; if (forked) report_and_exit(report_fd, (s), e__); *step = (s); *report_fd_out = report_fd; return e__; } while (0)
    if (a->nfds < 0 || a->nfds > DZ_MAX_FDS) { errno = EINVAL; FAIL(DZ_STEP_DESCRIPTORS); }
    if (a->nlimits < 0 || a->nlimits > 64) { errno = EINVAL; FAIL(DZ_STEP_RLIMIT); }

    reset_signal_dispositions();
    if (a->listen_pid_entry != NULL) write_listen_pid(a->listen_pid_entry);

    if (a->new_session) {
        if (setsid() < 0) FAIL(DZ_STEP_SESSION);
    } else if (a->new_process_group) {
        if (setpgid(0, 0) < 0) FAIL(DZ_STEP_SESSION);
    }

    // Through /proc, so before the chroot; lowering it needs privilege.
    if (a->oom_score_adj != NULL && write_oom_score_adj(a->oom_score_adj) < 0) FAIL(DZ_STEP_OOM);
    // Before the descriptors are placed, which could reuse the directory's
    // number; the working directory below is then taken inside the new root.
    if (a->set_root && (fchdir(a->root_fd) < 0 || chroot(".") < 0)) FAIL(DZ_STEP_CHROOT);

    // Move every source and the report descriptor above all targets first,
    // so that no dup2 below can clobber a source still to be placed.
    int minfd = 3;
    for (int i = 0; i < a->nfds; i++) {
        if (a->fds[i].target < 0) { errno = EBADF; FAIL(DZ_STEP_DESCRIPTORS); }
        if (a->fds[i].target >= minfd) minfd = a->fds[i].target + 1;
    }
    if (report_fd >= 0) {
        int moved = fcntl(report_fd, F_DUPFD_CLOEXEC, minfd);
        if (moved < 0) FAIL(DZ_STEP_DESCRIPTORS);
        report_fd = moved;
    }
    int tmp[DZ_MAX_FDS];
    for (int i = 0; i < a->nfds; i++) {
        tmp[i] = fcntl(a->fds[i].source, F_DUPFD_CLOEXEC, minfd);
        if (tmp[i] < 0) FAIL(DZ_STEP_DESCRIPTORS);
    }
    for (int i = 0; i < a->nfds; i++) {
        int r;
        do { r = dup2(tmp[i], a->fds[i].target); } while (r < 0 && errno == EINTR);
        if (r < 0) FAIL(DZ_STEP_DESCRIPTORS);
    }

    if (a->cwd != NULL && chdir(a->cwd) < 0) FAIL(DZ_STEP_CHDIR);
    if (a->set_umask) (void)umask(a->umask);
    int limit_step = DZ_STEP_NONE;
    if (apply_limits_and_scheduling(a, &limit_step) < 0) FAIL(limit_step);

    int credentials_step = DZ_STEP_NONE;
    if (set_credentials(a, forked, &credentials_step) < 0) FAIL(credentials_step);
    // Never run as root after a requested drop that did not take.
    if (a->set_uid && a->uid != 0 && (geteuid() == 0 || getuid() == 0)) { errno = EPERM; FAIL(DZ_STEP_SETUID); }
    if (a->set_gid && a->gid != 0 && (getegid() == 0 || getgid() == 0)) { errno = EPERM; FAIL(DZ_STEP_SETGID); }

    // After the privilege drop: a credential change clears the death signal.
    if (a->pdeathsig > 0) {
        if (prctl(PR_SET_PDEATHSIG, (unsigned long)a->pdeathsig, 0, 0, 0) < 0) FAIL(DZ_STEP_PDEATHSIG);
        if (getppid() != parent) { errno = ESRCH; FAIL(DZ_STEP_PDEATHSIG); }
    }

    int keep[DZ_MAX_FDS + 1];
    int nkeep = 0;
    for (int i = 0; i < a->nfds; i++) keep[nkeep++] = a->fds[i].target;
    if (report_fd >= 0) keep[nkeep++] = report_fd;
    if (dz_close_all_except(0, keep, nkeep) < 0) FAIL(DZ_STEP_CLOSE);

    sigset_t none;
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
    execve(a->path, a->argv, a->envp);
    FAIL(DZ_STEP_EXEC);
#undef FAIL
}

struct dz_child {
    const struct dz_launch_attr *attr;
    int report_fd;
    int unused_read_end;
    pid_t parent;
};

static int child_main(void *arg) {
    struct dz_child *c = arg;
    (void)close(c->unused_read_end);
    int step, unused;
    prepare(c->attr, c->report_fd, 1, c->parent, &step, &unused);
    _exit(127); // not reached
}

// The child's own stack: it shares the caller's memory (CLONE_VM) until it
// execs, and needs no more than prepare's few arrays. A guard page below.
#define DZ_CHILD_STACK (64 * 1024)
#define DZ_GUARD 4096

// Starts the program in a child made with CLONE_VM|CLONE_VFORK, as
// posix_spawn does: no copy of the page tables and no copy-on-write faults
// after it, in a parent whose binary is large. The caller is suspended until
// the child execs or exits, so nothing it holds can change under the child.
// Every call in prepare is a plain system call on the child's own process
// (descriptors, signal dispositions and credentials are not shared: no
// CLONE_FILES, CLONE_SIGHAND or CLONE_THREAD); all signals stay blocked until
// just before the exec, so no handler of the parent's runs on this stack.
int dz_launch(const struct dz_launch_attr *attr, pid_t *pid_out, int *pidfd_out, int *step) {
    int p[2];
    *pid_out = -1;
    *pidfd_out = -1;
    *step = DZ_STEP_NONE;
    char *stack = mmap(NULL, DZ_CHILD_STACK + DZ_GUARD, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) { *step = DZ_STEP_FORK; return errno; }
    // The stack is part of the spawn (as fork's own memory would be); the pipe is its own step.
    *step = mprotect(stack, DZ_GUARD, PROT_NONE) < 0 ? DZ_STEP_FORK : pipe2(p, O_CLOEXEC) < 0 ? DZ_STEP_PIPE : DZ_STEP_NONE;
    if (*step != DZ_STEP_NONE) {
        int e = errno;
        (void)munmap(stack, DZ_CHILD_STACK + DZ_GUARD);
        return e;
    }

    sigset_t old;
    dz_block_all_signals(&old);
    struct dz_child child = { attr, p[1], p[0], getpid() };
    pid_t pid = clone(child_main, stack + DZ_GUARD + DZ_CHILD_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &child);
    int fork_errno = errno;
    dz_restore_signals(&old);
    (void)munmap(stack, DZ_CHILD_STACK + DZ_GUARD);
    (void)close(p[1]);
    if (pid < 0) {
        (void)close(p[0]);
        *step = DZ_STEP_FORK;
        return fork_errno;
    }

    struct dz_report r;
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t n = read(p[0], (char *)&r + got, sizeof r - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    (void)close(p[0]);
    if (got == sizeof r) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        *step = r.step;
        return r.err;
    }
    *pid_out = pid;
    *pidfd_out = dz_pidfd_open(pid);
    return 0;
}

int dz_exec_in_place(const struct dz_launch_attr *attr, int *step, int *report_fd) {
    sigset_t old;
    dz_block_all_signals(&old);
    pid_t parent = getppid();
    *report_fd = attr->report_fd;
    int err = prepare(attr, attr->report_fd, 0, parent, step, report_fd);
    dz_restore_signals(&old);
    return err;
}
