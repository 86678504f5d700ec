// CDaemonize: the part of swiftd that must be C.
//
// Everything that runs between fork and exec lives here (only async-signal-safe
// calls, no allocation), together with the few libc pieces Swift cannot import:
// wait-status macros, variadic calls (prctl, fcntl with a struct), and raw
// system calls that glibc does not wrap on every version we support.
#ifndef CDAEMONIZE_H
#define CDAEMONIZE_H

#if defined(__swift__) && __has_feature(modules)
// Imported into Swift: the system types (pid_t, siginfo_t...) are the Glibc
// module's, so that a Swift file that imports both sees one pid_t, not two.
#pragma clang module import SwiftGlibc
#else
#include <stdint.h>
#include <sys/types.h>
#include <signal.h>
#endif
#ifdef __linux__
// Not in Swift's Glibc module: exported from here for the supervisor's loop.
#include <sys/signalfd.h>
#include <sys/inotify.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

// MARK: - Launch: fork (or not) and exec with a fully prepared configuration

/// One descriptor the launched program receives: `target` in the child is a
/// duplicate of `source` in the parent. Every descriptor not named is closed.
struct dz_fd_map {
    int target;
    int source;
};

/// One resource limit of a launched program (`setrlimit`); ~0ULL is unlimited.
struct dz_rlimit {
    int resource;                // RLIMIT_*
    unsigned long long soft;
    unsigned long long hard;
};

/// A launch, prepared entirely before the fork: every string and array is
/// already allocated, every path resolved.
struct dz_launch_attr {
    const char *path;            // executable, already resolved (absolute or relative to cwd)
    char *const *argv;           // NULL-terminated
    char *const *envp;           // NULL-terminated
    const char *cwd;             // NULL: unchanged
    int set_umask;               // 0 or 1
    mode_t umask;
    int set_nice;                // 0 or 1
    int nice;                    // absolute value for setpriority
    int new_session;             // 1: setsid() (own session and process group)
    int new_process_group;       // 1: setpgid(0, 0) when not new_session
    int set_groups;              // 1: setgroups(ngroups, groups)
    const gid_t *groups;
    int ngroups;
    int set_gid;
    gid_t gid;
    int set_uid;
    uid_t uid;
    int pdeathsig;               // 0: none; set after the privilege drop
    const struct dz_fd_map *fds; // descriptors the program receives
    int nfds;
    int report_fd;               // in-place exec: a close-on-exec descriptor to keep open (-1: none)
    const char *oom_score_adj;   // NULL: unchanged; else the text written to /proc/self/oom_score_adj
    int set_root;                // 1: fchdir(root_fd), chroot("."), before the descriptors are placed
    int root_fd;                 // an open directory (O_PATH is enough)
    const struct dz_rlimit *limits; // setrlimit each, before the privilege drop
    int nlimits;
    int set_ioprio;              // 1: ioprio_set(IOPRIO_WHO_PROCESS, 0, ioprio_class << 13 | ioprio_level)
    int ioprio_class;            // 1 real-time, 2 best-effort, 3 idle
    int ioprio_level;            // 0 to 7
    int set_sched;               // 1: sched_setscheduler(0, sched_policy, {sched_priority})
    int sched_policy;
    int sched_priority;
    char *listen_pid_entry;      // NULL, or an envp entry "LISTEN_PID=" followed by room for 20 digits:
                                 // the child writes its own pid there (socket activation)
};

/// The step of a launch that failed; the Swift side names it.
enum dz_step {
    DZ_STEP_NONE = 0,
    DZ_STEP_PIPE = 1,
    DZ_STEP_FORK = 2,
    DZ_STEP_SIGNALS = 3,
    DZ_STEP_SESSION = 4,
    DZ_STEP_DESCRIPTORS = 5,
    DZ_STEP_CHDIR = 6,
    DZ_STEP_NICE = 7,
    DZ_STEP_SETGROUPS = 8,
    DZ_STEP_SETGID = 9,
    DZ_STEP_SETUID = 10,
    DZ_STEP_PDEATHSIG = 11,
    DZ_STEP_CLOSE = 12,
    DZ_STEP_EXEC = 13,
    DZ_STEP_OOM = 14,
    DZ_STEP_CHROOT = 15,
    DZ_STEP_RLIMIT = 16,
    DZ_STEP_IOPRIO = 17,
    DZ_STEP_SCHED = 18,
};

/// Spawn and exec: a CLONE_VM|CLONE_VFORK child (as posix_spawn makes, see
/// launch.c), the caller suspended until it execs. On success returns 0 with the child's pid (and a pidfd, or
/// -1 where the kernel has none) once the exec has happened. On failure returns
/// the errno and sets *step; a child that failed has been reaped.
int dz_launch(const struct dz_launch_attr *attr, pid_t *pid, int *pidfd, int *step);

/// Exec in this process after the same preparation as the child of dz_launch,
/// keeping attr->report_fd (close-on-exec) open. Returns only on failure: the
/// errno, with *step set and *report_fd the descriptor that now carries the
/// report channel (it may have been moved above the targets).
int dz_exec_in_place(const struct dz_launch_attr *attr, int *step, int *report_fd);

// MARK: - Process control

pid_t dz_fork(void);
/// renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE): fails with
/// EEXIST rather than replace `to`.
int dz_rename_noreplace(const char *from, const char *to);
/// renameat2(olddirfd, oldname, newdirfd, newname, flags): names taken in
/// directories reached through descriptors; flags 1 RENAME_NOREPLACE,
/// 2 RENAME_EXCHANGE.
int dz_renameat2(int olddirfd, const char *oldname, int newdirfd, const char *newname, unsigned int flags);
/// openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC | flags): a descriptor
/// that only names what is at `name` in the directory `dirfd` (a symlink
/// itself, never its target).
int dz_open_path_at(int dirfd, const char *name, int flags);
/// fchownat(fd, "", uid, gid, AT_EMPTY_PATH): chown(2) of the very file an
/// O_PATH descriptor names.
int dz_chown_fd(int fd, uid_t uid, gid_t gid);
/// Accepts the next connection waiting at the listening unix socket `fd`,
/// closes it, and returns the pid of the process that made it (SO_PEERCRED);
/// -1 on error.
pid_t dz_accept_peer_pid(int fd);
/// openat2(rootfd, path, O_PATH, RESOLVE_IN_ROOT): `path` resolved inside
/// `rootfd` as if it were "/" (absolute symbolic links and ".." included),
/// as a process chrooted there would see it; close-on-exec.
int dz_open_path_in_root(int rootfd, const char *path);
/// open(path, O_PATH | O_CLOEXEC | flags): a descriptor that only names a file.
int dz_open_path(const char *path, int flags);
/// faccessat(fd, "", mode, AT_EMPTY_PATH): access(2) on an open descriptor.
int dz_access_fd(int fd, int mode);
/// The calling thread's id (gettid).
pid_t dz_gettid(void);
int dz_pidfd_open(pid_t pid);
int dz_pidfd_send_signal(int pidfd, int sig);
/// Queue `sig` with an integer payload (si_code SI_QUEUE), through a pidfd.
int dz_pidfd_send_signal_value(int pidfd, int sig, int64_t value);
/// waitid(P_PIDFD, ...), for children only.
int dz_waitid_pidfd(int pidfd, siginfo_t *info, int options);
int dz_set_child_subreaper(void);
int dz_set_pdeathsig(int sig);
int dz_set_name(const char *name);
int dz_close_range(unsigned int first, unsigned int last, int cloexec);
/// Close every descriptor >= first except those listed (sorted or not).
int dz_close_all_except(int first, const int *keep, int nkeep);

// MARK: - Children

/// waitid(P_ALL, WEXITED|WNOHANG [|WNOWAIT]): the pid of an exited child
/// (0 when children exist but none has exited), or -1 with errno (ECHILD: none at all).
pid_t dz_wait_any(siginfo_t *info, int nowait);
/// waitid(P_PID, pid, WEXITED): reaps `pid`.
int dz_reap(pid_t pid, siginfo_t *info);

// MARK: - Sockets

/// Turns on SO_PASSCRED.
int dz_enable_passcred(int fd);
/// Receives one datagram with the sender's credentials; returns its length
/// (or -1) and sets *pid (0 when no credentials came along).
ssize_t dz_recv_credentials(int fd, void *buf, size_t len, pid_t *pid);

// MARK: - Descriptors

int dz_pipe2(int fds[2], int flags);
int dz_set_cloexec(int fd, int on);
/// 1 when `fd` is an open descriptor, else 0.
int dz_fd_is_open(int fd);
int dz_set_nonblock(int fd, int on);
int dz_dup_cloexec(int fd, int minfd);
int dz_set_pipe_size(int fd, int size);
/// malloc_trim(0): returns free heap memory to the kernel.
int dz_malloc_trim(void);

struct pollfd;
/// Drops the page-table entries of `nranges` address ranges (start, length
/// pairs) with MADV_DONTNEED, then polls: nothing runs in between that would
/// fault pages straight back in. The ranges must be clean private file mappings.
/// With `stack_start` (the start of the main thread's stack mapping, 0 for
/// none), also drops the stack pages below the caller's frame, which earlier
/// deeper calls touched and nothing uses any more.
int dz_release_and_poll(const uintptr_t *ranges, int nranges, uintptr_t stack_start, struct pollfd *fds, unsigned long nfds,
                        int timeout);

// MARK: - Wait status and siginfo

int dz_wifexited(int status);
int dz_wexitstatus(int status);
int dz_wifsignaled(int status);
int dz_wtermsig(int status);
int dz_wcoredump(int status);
pid_t dz_siginfo_pid(const siginfo_t *info);
int dz_siginfo_status(const siginfo_t *info);
int dz_siginfo_code(const siginfo_t *info);

// MARK: - Signals

int dz_nsig(void);
/// The kernel's own rt_sigaction, for the signals glibc reserves (32 and 33,
/// below SIGRTMIN), whose sigaction refuses them. `act` and `old` are the
/// kernel's struct, opaque here (64 bytes is room enough): all zeros is
/// SIG_DFL with no flags.
int dz_kernel_sigaction(int sig, const void *act, void *old);
/// Block every signal, saving the old mask in *old.
int dz_block_all_signals(sigset_t *old);
int dz_restore_signals(const sigset_t *old);
int dz_signal_default(int sig);
/// Ignores `sig`, saving its disposition in *old when `old` is not NULL.
int dz_signal_ignore(int sig, struct sigaction *old);
/// Puts back the disposition dz_signal_ignore saved.
int dz_signal_restore(int sig, const struct sigaction *old);

// MARK: - Signals for a SignalSequence (trap.c)

/// Installs a handler (SA_RESTART) that writes `sig`'s number as one byte to
/// `fd`, saving the disposition it replaces; a signal trapped already is
/// handed to `fd` instead. -1 with EINVAL for SIGKILL, SIGSTOP or no signal.
int dz_trap_signal(int sig, int fd);
/// Puts back the disposition dz_trap_signal replaced, when `sig` still goes to `fd`.
int dz_untrap_signal(int sig, int fd);

// MARK: - Running the program again (reexec.c)

/// execv(argv) of the path this program was executed by (AT_EXECFN, symlinks
/// not resolved; joined to the working directory recorded before main when
/// relative), or of /proc/self/exe when that path does not exist; with C
/// streams flushed, every signal disposition set to default and no signal
/// blocked. On failure everything is put back, -1 is returned with errno set,
/// and `path` (of `size` bytes) holds the path that failed.
int dz_reexec(char *const argv[], char *path, size_t size);

#ifdef __cplusplus
}
#endif

#endif
