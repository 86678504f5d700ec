/*
 * benchtool: the small helpers bench/run needs, in one program.
 *
 *   benchtool reaper -- CMD [ARG...]   run CMD as a child subreaper; when CMD ends, end every
 *                                      process left under us (TERM, then KILL), reap them, exit
 *                                      with CMD's status. INT/TERM/HUP are passed on to CMD.
 *   benchtool now                      print CLOCK_MONOTONIC in nanoseconds
 *   benchtool svc STAMPS [RUN_MS [CODE]]
 *                                      a service: appends "S <ns> <pid>" to STAMPS at start; with
 *                                      RUN_MS, sleeps that long, appends "E <ns> <pid>" and exits
 *                                      with CODE (default 1); without it, waits for a signal
 *                                      (TERM ends it at once, default action)
 *   benchtool gen BYTES                writes BYTES of 100-byte lines to stdout in 64 KiB writes
 *                                      (block boundaries fall inside lines, as with stdio)
 *   benchtool waitsize PATH BYTES TIMEOUT_MS
 *                                      polls every 1 ms until PATH (a file, or in a directory the
 *                                      files named "current" or "@...") holds BYTES; prints the
 *                                      CLOCK_MONOTONIC ns when it did; exit 1 on timeout
 *   benchtool waitstarts STAMPS COUNT TIMEOUT_MS
 *                                      polls every 0.2 ms until STAMPS has COUNT "S" lines; prints
 *                                      the last one's ns; exit 1 on timeout
 *   benchtool rewrite PATH TEXT        prints CLOCK_MONOTONIC ns, then rewrites PATH in place
 *                                      (O_TRUNC, write TEXT, close)
 *   benchtool evict FILE...            drops FILE's pages from the page cache (fadvise DONTNEED)
 *   benchtool withfds N CMD [ARG...]   opens N more descriptors (/dev/null), then execs CMD
 *   benchtool crowd N                  forks N processes that only wait (unrelated processes on
 *                                      the machine, for the machine-scale row); prints "ready"
 *                                      once all are there; on TERM, INT or HUP kills and reaps
 *                                      them all and exits (they die with it if it is killed)
 *   run                                (benchtool linked as a service directory's ./run) the
 *                                      same as svc, its arguments from $BENCH_SVC
 *
 * Our own code for the benchmark only; not part of swiftd.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ns(int64_t ns) {
    struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static void die(const char *what) {
    fprintf(stderr, "benchtool: %s: %s\n", what, strerror(errno));
    exit(2);
}

/* ---- reaper ---- */

static volatile pid_t reaper_child = 0;

static void pass_on(int sig) {
    if (reaper_child > 0) kill(reaper_child, sig);
}

/* Our direct children, from /proc (orphans re-parented to us included). */
static int children(pid_t *out, int max) {
    DIR *d = opendir("/proc");
    if (!d) return 0;
    pid_t self = getpid();
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        ssize_t len = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (len <= 0) continue;
        buf[len] = 0;
        char *p = strrchr(buf, ')');
        if (!p) continue;
        char state;
        int ppid;
        if (sscanf(p + 1, " %c %d", &state, &ppid) != 2) continue;
        if (ppid == self && state != 'Z') out[n++] = (pid_t)atoi(e->d_name);
    }
    closedir(d);
    return n;
}

static void reap_all(void) {
    while (waitpid(-1, NULL, WNOHANG) > 0) {}
}

static int cmd_reaper(int argc, char **argv) {
    if (argc < 1) { fprintf(stderr, "usage: benchtool reaper -- CMD [ARG...]\n"); return 2; }
    if (strcmp(argv[0], "--") == 0) { argv++; argc--; }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) die("PR_SET_CHILD_SUBREAPER");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = pass_on;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        execvp(argv[0], argv);
        die(argv[0]);
    }
    reaper_child = pid;
    int status = 0;
    for (;;) {
        int st;
        pid_t r = waitpid(-1, &st, 0);
        if (r == pid) { status = st; break; }
        if (r < 0 && errno == ECHILD) break;
    }
    reaper_child = 0;
    /* Whatever is left under us was started by the run: TERM, a grace period, then KILL. */
    pid_t list[4096];
    int64_t deadline = now_ns() + 3000000000LL;
    int signalled_kill = 0;
    for (;;) {
        reap_all();
        int n = children(list, 4096);
        if (n == 0) break;
        int late = now_ns() > deadline;
        for (int i = 0; i < n; i++) kill(list[i], late ? SIGKILL : SIGTERM);
        if (late) signalled_kill = 1;
        sleep_ns(late ? 20000000 : 50000000);
        if (signalled_kill && now_ns() > deadline + 5000000000LL) break;
    }
    reap_all();
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 1;
}

/* ---- svc ---- */

static void stamp(int fd, char kind) {
    char line[64];
    int n = snprintf(line, sizeof line, "%c %lld %d\n", kind, (long long)now_ns(), (int)getpid());
    if (write(fd, line, (size_t)n) < 0) _exit(3);
}

static int cmd_svc(int argc, char **argv) {
    if (argc < 1) { fprintf(stderr, "usage: benchtool svc STAMPS [RUN_MS [CODE]]\n"); return 2; }
    int fd = open(argv[0], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) die(argv[0]);
    stamp(fd, 'S');
    if (argc < 2) {
        for (;;) pause();
    }
    sleep_ns((int64_t)atoll(argv[1]) * 1000000);
    int code = argc >= 3 ? atoi(argv[2]) : 1;
    stamp(fd, 'E');
    _exit(code);
}

/* ---- gen ---- */

static int cmd_gen(int argc, char **argv) {
    if (argc < 1) { fprintf(stderr, "usage: benchtool gen BYTES\n"); return 2; }
    long long total = atoll(argv[0]);
    enum { LINE = 100, BLOCK = 65536 };
    /* One period of lines long enough to fill any block from any offset. */
    static char pattern[BLOCK + LINE];
    for (int i = 0; i < (int)sizeof pattern; i++) {
        int col = i % LINE;
        pattern[i] = col == LINE - 1 ? '\n' : (char)('a' + (col % 26));
    }
    long long written = 0;
    while (written < total) {
        size_t offset = (size_t)(written % LINE);
        size_t n = BLOCK;
        if ((long long)n > total - written) n = (size_t)(total - written);
        ssize_t w = write(1, pattern + offset, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            die("write");
        }
        written += w;
    }
    return 0;
}

/* ---- waitsize / waitstarts ---- */

static long long size_of(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    if (!S_ISDIR(st.st_mode)) return (long long)st.st_size;
    long long total = 0;
    DIR *d = opendir(path);
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, "current") != 0 && e->d_name[0] != '@') continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) total += (long long)st.st_size;
    }
    closedir(d);
    return total;
}

static int cmd_waitsize(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: benchtool waitsize PATH BYTES TIMEOUT_MS\n"); return 2; }
    long long want = atoll(argv[1]);
    int64_t deadline = now_ns() + (int64_t)atoll(argv[2]) * 1000000;
    for (;;) {
        if (size_of(argv[0]) >= want) { printf("%lld\n", (long long)now_ns()); return 0; }
        if (now_ns() > deadline) { fprintf(stderr, "benchtool: waitsize %s: timeout\n", argv[0]); return 1; }
        sleep_ns(1000000);
    }
}

/* The ns of the COUNT-th "S" line of STAMPS, or -1 while there is none. */
static long long nth_start(const char *path, int count) {
    FILE *f = fopen(path, "re");
    if (!f) return -1;
    char line[128];
    int seen = 0;
    long long ns = -1;
    while (fgets(line, sizeof line, f)) {
        if (line[0] != 'S' || !strchr(line, '\n')) continue;
        if (++seen == count) { ns = atoll(line + 2); break; }
    }
    fclose(f);
    return ns;
}

static int cmd_waitstarts(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: benchtool waitstarts STAMPS COUNT TIMEOUT_MS\n"); return 2; }
    int count = atoi(argv[1]);
    int64_t deadline = now_ns() + (int64_t)atoll(argv[2]) * 1000000;
    for (;;) {
        long long ns = nth_start(argv[0], count);
        if (ns >= 0) { printf("%lld\n", ns); return 0; }
        if (now_ns() > deadline) { fprintf(stderr, "benchtool: waitstarts %s %d: timeout\n", argv[0], count); return 1; }
        sleep_ns(200000);
    }
}

/* ---- rewrite / evict / withfds ---- */

static int cmd_rewrite(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: benchtool rewrite PATH TEXT\n"); return 2; }
    printf("%lld\n", (long long)now_ns());
    fflush(stdout);
    int fd = open(argv[0], O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) die(argv[0]);
    size_t len = strlen(argv[1]);
    if (write(fd, argv[1], len) != (ssize_t)len || write(fd, "\n", 1) != 1) die("write");
    if (close(fd) != 0) die("close");
    return 0;
}

static int cmd_evict(int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0) die(argv[i]);
        fdatasync(fd);
        int e = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        if (e != 0) { errno = e; die("posix_fadvise"); }
        close(fd);
    }
    return 0;
}

static int cmd_withfds(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: benchtool withfds N CMD [ARG...]\n"); return 2; }
    int n = atoi(argv[0]);
    for (int i = 0; i < n; i++) {
        if (open("/dev/null", O_RDONLY) < 0) die("open /dev/null");
    }
    execvp(argv[1], argv + 1);
    die(argv[1]);
    return 2;
}

/* ---- crowd ---- */

static volatile sig_atomic_t crowd_done = 0;

static void crowd_stop(int sig) {
    (void)sig;
    crowd_done = 1;
}

static int cmd_crowd(int argc, char **argv) {
    if (argc < 1) { fprintf(stderr, "usage: benchtool crowd N\n"); return 2; }
    int n = atoi(argv[0]);
    pid_t *pids = calloc((size_t)(n > 0 ? n : 1), sizeof *pids);
    if (!pids) die("calloc");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = crowd_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    /* Blocked until sigsuspend: a TERM never falls between the test and the wait. */
    sigset_t stops, old;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGHUP);
    sigprocmask(SIG_BLOCK, &stops, &old);
    pid_t parent = getpid();
    int made = 0;
    for (; made < n; made++) {
        pid_t pid = fork();
        if (pid < 0) { perror("benchtool crowd: fork"); break; }
        if (pid == 0) {
            /* Gone with the crowd, whatever becomes of it; holds no descriptor of the run. */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent) _exit(0);
            int null = open("/dev/null", O_RDWR);
            if (null >= 0) { dup2(null, 0); dup2(null, 1); dup2(null, 2); if (null > 2) close(null); }
            signal(SIGINT, SIG_DFL);
            signal(SIGTERM, SIG_DFL);
            signal(SIGHUP, SIG_DFL);
            sigprocmask(SIG_SETMASK, &old, NULL);
            for (;;) pause();
        }
        pids[made] = pid;
    }
    if (made == n) {
        printf("ready\n");
        fflush(stdout);
        while (!crowd_done) sigsuspend(&old);
    }
    for (int i = 0; i < made; i++) kill(pids[i], SIGKILL);
    for (int i = 0; i < made; i++) while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR) {}
    return made == n ? 0 : 1;
}

int main(int argc, char **argv) {
    /* Installed as a supervision directory's ./run (runsv, s6-supervise, supervise run it
     * without arguments): the service, with its arguments from BENCH_SVC. */
    const char *base = strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];
    if (strcmp(base, "run") == 0) {
        const char *spec = getenv("BENCH_SVC");
        if (!spec) { fprintf(stderr, "benchtool run: BENCH_SVC is not set\n"); return 2; }
        static char copy[4096];
        snprintf(copy, sizeof copy, "%s", spec);
        char *words[4];
        int n = 0;
        for (char *w = strtok(copy, " "); w && n < 3; w = strtok(NULL, " ")) words[n++] = w;
        words[n] = NULL;
        return cmd_svc(n, words);
    }
    if (argc < 2) {
        fprintf(stderr, "usage: benchtool reaper|now|svc|gen|waitsize|waitstarts|rewrite|evict|withfds|crowd ...\n");
        return 2;
    }
    const char *c = argv[1];
    argc -= 2;
    argv += 2;
    if (strcmp(c, "reaper") == 0) return cmd_reaper(argc, argv);
    if (strcmp(c, "now") == 0) { printf("%lld\n", (long long)now_ns()); return 0; }
    if (strcmp(c, "svc") == 0) return cmd_svc(argc, argv);
    if (strcmp(c, "gen") == 0) return cmd_gen(argc, argv);
    if (strcmp(c, "waitsize") == 0) return cmd_waitsize(argc, argv);
    if (strcmp(c, "waitstarts") == 0) return cmd_waitstarts(argc, argv);
    if (strcmp(c, "rewrite") == 0) return cmd_rewrite(argc, argv);
    if (strcmp(c, "evict") == 0) return cmd_evict(argc, argv);
    if (strcmp(c, "withfds") == 0) return cmd_withfds(argc, argv);
    if (strcmp(c, "crowd") == 0) return cmd_crowd(argc, argv);
    fprintf(stderr, "benchtool: unknown command %s\n", c);
    return 2;
}
