// Process control and descriptor helpers Swift cannot call directly:
// variadic functions (prctl, fcntl), raw system calls, wait-status macros.
#define _GNU_SOURCE
#include "cdaemonize.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <sys/mman.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

pid_t dz_fork(void) { return fork(); }
pid_t dz_gettid(void) { return (pid_t)syscall(SYS_gettid); }

int dz_rename_noreplace(const char *from, const char *to) {
#ifdef SYS_renameat2
    return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, 1u /* RENAME_NOREPLACE */);
#else
    (void)from; (void)to;
    errno = ENOSYS;
    return -1;
#endif
}

int dz_renameat2(int olddirfd, const char *oldname, int newdirfd, const char *newname, unsigned int flags) {
#ifdef SYS_renameat2
    return (int)syscall(SYS_renameat2, olddirfd, oldname, newdirfd, newname, flags);
#else
    (void)olddirfd; (void)oldname; (void)newdirfd; (void)newname; (void)flags;
    errno = ENOSYS;
    return -1;
#endif
}

int dz_open_path(const char *path, int flags) { return open(path, O_PATH | O_CLOEXEC | flags); }

int dz_open_path_at(int dirfd, const char *name, int flags) { return openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC | flags); }

int dz_chown_fd(int fd, uid_t uid, gid_t gid) { return fchownat(fd, "", uid, gid, AT_EMPTY_PATH); }

pid_t dz_accept_peer_pid(int fd) {
    int accepted = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (accepted < 0) return -1;
    struct ucred cred;
    socklen_t length = sizeof cred;
    int got = getsockopt(accepted, SOL_SOCKET, SO_PEERCRED, &cred, &length);
    close(accepted);
    return got == 0 ? cred.pid : -1;
}

int dz_open_path_in_root(int rootfd, const char *path) {
#ifdef SYS_openat2
    // struct open_how of <linux/openat2.h>, spelt out: the header is not on every system.
    struct { unsigned long long flags, mode, resolve; } how = {
        (unsigned long long)(O_PATH | O_CLOEXEC), 0,
        0x10 /* RESOLVE_IN_ROOT */ | 0x02 /* RESOLVE_NO_MAGICLINKS */,
    };
    return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
#else
    (void)rootfd; (void)path;
    errno = ENOSYS;
    return -1;
#endif
}

int dz_access_fd(int fd, int mode) { return faccessat(fd, "", mode, AT_EMPTY_PATH); }

int dz_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

int dz_pidfd_send_signal(int pidfd, int sig) {
#ifdef SYS_pidfd_send_signal
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
#else
    (void)pidfd; (void)sig;
    errno = ENOSYS;
    return -1;
#endif
}

int dz_pidfd_send_signal_value(int pidfd, int sig, int64_t value) {
#ifdef SYS_pidfd_send_signal
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_signo = sig;
    info.si_code = SI_QUEUE;
    info.si_pid = getpid();
    info.si_uid = getuid();
    info.si_value.sival_ptr = (void *)(intptr_t)value;
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, &info, 0);
#else
    (void)pidfd; (void)sig; (void)value;
    errno = ENOSYS;
    return -1;
#endif
}

int dz_waitid_pidfd(int pidfd, siginfo_t *info, int options) {
    memset(info, 0, sizeof *info);
    return waitid((idtype_t)P_PIDFD, (id_t)pidfd, info, options);
}

int dz_set_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }
int dz_set_pdeathsig(int sig) { return prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0, 0, 0); }
int dz_set_name(const char *name) { return prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0); }

int dz_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }

int dz_set_cloexec(int fd, int on) {
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0) return -1;
    flags = on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC);
    return fcntl(fd, F_SETFD, flags);
}

int dz_fd_is_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

int dz_set_nonblock(int fd, int on) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -1;
    flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
    return fcntl(fd, F_SETFL, flags);
}

int dz_dup_cloexec(int fd, int minfd) { return fcntl(fd, F_DUPFD_CLOEXEC, minfd); }
int dz_set_pipe_size(int fd, int size) { return fcntl(fd, F_SETPIPE_SZ, size); }

int dz_wifexited(int status) { return WIFEXITED(status); }
int dz_wexitstatus(int status) { return WEXITSTATUS(status); }
int dz_wifsignaled(int status) { return WIFSIGNALED(status); }
int dz_wtermsig(int status) { return WTERMSIG(status); }
int dz_wcoredump(int status) { return WCOREDUMP(status); }
pid_t dz_siginfo_pid(const siginfo_t *info) { return info->si_pid; }
int dz_siginfo_status(const siginfo_t *info) { return info->si_status; }
int dz_siginfo_code(const siginfo_t *info) { return info->si_code; }

int dz_nsig(void) { return NSIG; }

int dz_kernel_sigaction(int sig, const void *act, void *old) {
    return (int)syscall(SYS_rt_sigaction, sig, act, old, (size_t)(_NSIG / 8));
}

int dz_block_all_signals(sigset_t *old) {
    sigset_t all;
    sigfillset(&all);
    return sigprocmask(SIG_SETMASK, &all, old);
}

int dz_restore_signals(const sigset_t *old) { return sigprocmask(SIG_SETMASK, old, NULL); }

int dz_signal_default(int sig) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, NULL);
}

int dz_signal_ignore(int sig, struct sigaction *old) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, old);
}

int dz_signal_restore(int sig, const struct sigaction *old) { return sigaction(sig, old, NULL); }

pid_t dz_wait_any(siginfo_t *info, int nowait) {
    memset(info, 0, sizeof *info);
    int r;
    do {
        r = waitid(P_ALL, 0, info, WEXITED | WNOHANG | (nowait ? WNOWAIT : 0));
    } while (r < 0 && errno == EINTR);
    if (r < 0) return -1;
    return info->si_pid;
}

int dz_reap(pid_t pid, siginfo_t *info) {
    memset(info, 0, sizeof *info);
    int r;
    do {
        r = waitid(P_PID, (id_t)pid, info, WEXITED);
    } while (r < 0 && errno == EINTR);
    return r;
}

int dz_enable_passcred(int fd) {
    int on = 1;
    return setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
}

ssize_t dz_recv_credentials(int fd, void *buf, size_t len, pid_t *pid) {
    struct iovec iov = { buf, len };
    union {
        char bytes[CMSG_SPACE(sizeof(struct ucred))];
        struct cmsghdr align;
    } control;
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.bytes;
    msg.msg_controllen = sizeof control.bytes;
    *pid = 0;
    ssize_t n;
    do {
        n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return n;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
            struct ucred cred;
            memcpy(&cred, CMSG_DATA(c), sizeof cred);
            *pid = cred.pid;
        } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            // Descriptors nobody asked for: close them.
            int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            int *fds = (int *)CMSG_DATA(c);
            for (int i = 0; i < count; i++) close(fds[i]);
        }
    }
    return n;
}

int dz_malloc_trim(void) { return malloc_trim(0); }

int dz_release_and_poll(const uintptr_t *ranges, int nranges, uintptr_t stack_start, struct pollfd *fds, unsigned long nfds,
                        int timeout) {
    for (int i = 0; i < nranges; i++) {
        (void)madvise((void *)ranges[2 * i], (size_t)ranges[2 * i + 1], MADV_DONTNEED);
    }
    if (stack_start != 0) {
        // What lies below this frame is dead (nothing of the process lives
        // under the stack pointer but the 128-byte red zone); this frame's
        // page and the one below are kept for madvise and poll themselves
        // (a few hundred bytes). The range is bounded below by the stack
        // mapping's own start, so no other mapping is touched.
        volatile char here = 0;
        uintptr_t low = ((uintptr_t)&here & ~(uintptr_t)4095) - 4096;
        if (low > stack_start) (void)madvise((void *)stack_start, low - stack_start, MADV_DONTNEED);
    }
    return poll(fds, (nfds_t)nfds, timeout);
}
