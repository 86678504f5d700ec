#!/usr/bin/python3
"""Writes bench/results.md (to stdout) from the raw numbers of one bench/run (bench/raw/)."""
import csv
import json
import os
import statistics
import sys

RAW = sys.argv[1]


def meta():
    values = {}
    with open(os.path.join(RAW, "meta.txt")) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                values[k] = v
    return values


M = meta()


def hf(name):
    """Median (ms) of one hyperfine benchmark, or None when it was not run."""
    path = os.path.join(RAW, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)["results"][0]["median"] * 1e3


def rows(name):
    path = os.path.join(RAW, name)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return list(csv.reader(f))


def by_tool(name, value_column, tool_column=0):
    out = {}
    for r in rows(name):
        out.setdefault(r[tool_column], []).append(float(r[value_column]))
    return out


def median(xs):
    return statistics.median(xs) if xs else None


def pct(xs, q):
    if not xs:
        return None
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, int(round(q * (len(xs) - 1)))))
    return xs[k]


def fmt_ms(v):
    if v is None:
        return "n/a"
    if v >= 100:
        return "%.0f ms" % v
    if v >= 10:
        return "%.1f ms" % v
    return "%.2f ms" % v


def fmt_ratio(a, b):
    if a is None or b is None:
        return "n/a"
    if b == 0:
        return "—" if a == 0 else "∞"
    r = a / b
    if r == 0:
        return "0"
    if r >= 100:
        return "%.0f" % r
    if r >= 10:
        return "%.1f" % r
    if r >= 0.1:
        return "%.2f" % r
    return "%.3f" % r


def yes(ok):
    return "**yes**" if ok else "**no**"


table = []   # (row, what, swiftd figure, peer, peer figure, ratio, target, met)
missed = []  # row numbers whose target is missed


def line(row, what, s, peer, p, fmt, target="report", judge=None):
    if judge is None:
        met = "—"
    elif s is None or p is None:
        met = "n/a"
    else:
        ok = judge(s, p)
        met = yes(ok)
        if not ok and row not in missed:
            missed.append(row)
    table.append((row, what, fmt(s), peer, fmt(p), fmt_ratio(s, p), target, met))


IDLE = M.get("idle_seconds", "0.2")
after = "after %s s idle" % IDLE

# ---- 1: start
s0 = hf("r1_swiftd_min0")
sd = hf("r1_swiftd_default")
w1 = "start, `--min-uptime 0`, " + after
line("1", w1, s0, "start-stop-daemon -b -m", hf("r1_ssd"), fmt_ms,
     "≤ 1.5× start-stop-daemon", lambda s, p: s <= 1.5 * p)
line("1", "start, `--min-uptime 0`, back to back", hf("r1_swiftd_min0_b2b"), "start-stop-daemon -b -m",
     hf("r1_ssd_b2b"), fmt_ms, "≤ 1.5× start-stop-daemon", lambda s, p: s <= 1.5 * p)
line("1", "start `--no-supervise --min-uptime 0` (exec mode), " + after, hf("r1_swiftd_exec"), "start-stop-daemon -b -m",
     hf("r1_ssd"), fmt_ms, "≤ 1.2× start-stop-daemon", lambda s, p: s <= 1.2 * p)
line("1", "start `--no-supervise --min-uptime 0` (exec mode), back to back", hf("r1_swiftd_exec_b2b"),
     "start-stop-daemon -b -m", hf("r1_ssd_b2b"), fmt_ms, "≤ 1.2× start-stop-daemon", lambda s, p: s <= 1.2 * p)
line("1", w1, s0, "daemon", hf("r1_daemon"), fmt_ms)
line("1", w1, s0, "daemonize", hf("r1_daemonize"), fmt_ms)
line("1", w1, s0, "supervisorctl start (startsecs=0)", hf("r1_supervisorctl_startsecs0"), fmt_ms)
line("1", "start, defaults (100 ms start window), " + after, sd, "start-stop-daemon -b -m", hf("r1_ssd"), fmt_ms)
line("1", "start, defaults (100 ms start window), " + after, sd, "supervisorctl start (startsecs=1, its default)",
     hf("r1_supervisorctl_startsecs1"), fmt_ms)

# ---- 2: stop
s = hf("r2_swiftd")
w2 = "stop (service exits on TERM at once), " + after
t2 = "< 5 ms"
j2 = lambda s, p: s < 5
line("2", w2, s, "start-stop-daemon --stop --retry TERM/5/KILL/5", hf("r2_ssd"), fmt_ms, t2, j2)
line("2", "stop, right after the start", hf("r2_swiftd_b2b"), "start-stop-daemon --stop --retry TERM/5/KILL/5",
     hf("r2_ssd_b2b"), fmt_ms, t2, j2)
line("2", w2, s, "daemon --stop, then --running until it says no", hf("r2_daemon"), fmt_ms)
line("2", w2, s, "supervisorctl stop", hf("r2_supervisorctl"), fmt_ms)
line("2", w2, s, "sv stop", hf("r2_sv"), fmt_ms)

# ---- 3: status
s = hf("r3_swiftd")
w3 = "status of a running service, " + after
line("3", w3, s, "start-stop-daemon --status", hf("r3_ssd"), fmt_ms,
     "≤ 1.0× start-stop-daemon", lambda s, p: s <= p)
line("3", "status of a running service, back to back", hf("r3_swiftd_b2b"), "start-stop-daemon --status",
     hf("r3_ssd_b2b"), fmt_ms, "≤ 1.0× start-stop-daemon", lambda s, p: s <= p)
line("3", w3, s, "daemon --running", hf("r3_daemon"), fmt_ms)
line("3", w3, s, "supervisorctl status", hf("r3_supervisorctl"), fmt_ms)
line("3", w3, s, "sv status", hf("r3_sv"), fmt_ms)

# ---- 4, 5: memory and wake-ups
mem = {}   # tool -> {settle seconds: (vmrss, anon, file, pss)}
for r in rows("memory.csv"):
    tool, pid, at, vmrss, anon, filerss, pss = r
    mem.setdefault(tool, {})[int(at)] = tuple(int(x) if x else None for x in (vmrss, anon, filerss, pss))
wake = {r[0]: int(r[5]) for r in rows("wakeups.csv")}
PEERS45 = ["daemon", "runsv", "supervise", "s6-supervise", "supervisord"]
fmt_kb = lambda v: "n/a" if v is None else "%d kB" % v
two_mb = 2048
sw = mem.get("swiftd", {}).get(1, (None,) * 4)
for peer in PEERS45:
    pv = mem.get(peer, {}).get(1, (None,) * 4)
    line("4", "supervisor VmRSS, quiet service, 1 s after start", sw[0], peer, pv[0], fmt_kb,
         "≤ 2 MB (2,048 kB)", lambda s, p: s <= two_mb)
for peer in PEERS45:
    pv = mem.get(peer, {}).get(1, (None,) * 4)
    line("4", "… of it anonymous (RssAnon)", sw[1], peer, pv[1], fmt_kb)
fmt_n = lambda v: "n/a" if v is None else "%d" % v
for peer in PEERS45:
    line("5", "supervisor wake-ups in 10 s, quiet service", wake.get("swiftd"), peer, wake.get(peer), fmt_n,
         "0", lambda s, p: s == 0)

# ---- 6: respawn
resp = by_tool("respawn.csv", 2)
PEERS6 = [("daemon", "daemon -r -A 100"), ("runsv", "runsv"), ("s6-supervise", "s6-supervise"),
          ("supervisord", "supervisord (autorestart)")]
for key, label in PEERS6:
    line("6", "respawn: service exit → next exec (median)", median(resp.get("swiftd")), label, median(resp.get(key)),
         fmt_ms, "< 5 ms", lambda s, p: s < 5)

# ---- 7: watch
watch = by_tool("watch.csv", 2)
for key, label in [("entr", "entr -r"), ("naive", "1 s mtime-polling loop")]:
    line("7", "watch: file rewritten → new instance runs (median)", median(watch.get("swiftd")), label,
         median(watch.get(key)), fmt_ms, "< 50 ms", lambda s, p: s < 50)

# ---- 8: log throughput
logs = {}
for r in rows("logs.csv"):
    tool, run, nbytes, millis = r[0], r[1], int(r[2]), float(r[3])
    logs.setdefault(tool, []).append(nbytes / 1e6 / (millis / 1e3))
thr = {k: median(v) for k, v in logs.items()}
fmt_mbs = lambda v: "n/a" if v is None else "%.0f MB/s" % v
nbytes = int(M.get("log_bytes", "0"))
what8 = "log throughput, %d MB of lines (median MB/s)" % (nbytes // 1000000)
line("8", what8, thr.get("swiftd"), "`cat > file` (the limit)", thr.get("cat > file"), fmt_mbs,
     "≥ 0.8× `cat > file`", lambda s, p: s >= 0.8 * p)
for key, label in [("svlogd", "svlogd"), ("multilog", "multilog"), ("s6-log", "s6-log"), ("supervisord", "supervisord")]:
    line("8", what8, thr.get("swiftd"), label, thr.get(key), fmt_mbs, "faster", lambda s, p: s > p)

# ---- 9: --version and size
line("9", "`--version`, cold (binary not in page cache)", hf("r9_swiftd_cold"), "`true`, cold", hf("r9_true_cold"), fmt_ms)
line("9", "`--version`, cold (binary not in page cache)", hf("r9_swiftd_cold"), "start-stop-daemon --version, cold",
     hf("r9_ssd_cold"), fmt_ms)
line("9", "`--version`, warm", hf("r9_swiftd_warm"), "`true`, warm", hf("r9_true_warm"), fmt_ms)
line("9", "`--version`, warm", hf("r9_swiftd_warm"), "start-stop-daemon --version, warm", hf("r9_ssd_warm"), fmt_ms,
     "≤ 1.0× start-stop-daemon", lambda s, p: s <= p)
sizes = {r[0]: int(r[1]) for r in rows("size.csv")}
fmt_size = lambda v: "n/a" if v is None else ("%.1f MB" % (v / 1e6) if v >= 1e6 else "%.1f kB" % (v / 1e3))
for key in ["true", "start-stop-daemon"]:
    line("9", "binary size (as built: fully static)", sizes.get("swiftd"), key,
         sizes.get(key), fmt_size)
line("9", "binary size, stripped", sizes.get("swiftd (stripped)"), "start-stop-daemon", sizes.get("start-stop-daemon"), fmt_size,
     "≤ 6 MB", lambda s, p: s <= 6e6)

# ---- 10: a thousand services (the fleet section)
fleet = {}   # (tool, n, what) -> ms
for r in rows("fleet.csv"):
    fleet[(r[0], int(r[1]), r[2])] = float(r[3])
fmem = {}    # (tool, n, role) -> (count, pss, anon, wakeups)
for r in rows("fleet_memory.csv"):
    fmem[(r[0], int(r[1]), r[2])] = tuple(int(x) if x else 0 for x in r[3:7])
FLEET_NS = [int(x) for x in M.get("fleet_sizes", "").split()]
NMAX = max(FLEET_NS) if FLEET_NS else None
FLEET_PEERS = [("runit", "runsvdir"), ("s6", "s6-svscan"), ("daemontools", "svscan"), ("supervisord", "supervisord")]
fleet_status = lambda tool, n: hf("fleet_status_%s_n%d" % (tool, n))
if NMAX:
    for what, label in [("up", "%d services brought up (`swiftd start NAME...`)"),
                        ("stop", "%d services stopped (`swiftd stop NAME...`)")]:
        for key, peer in FLEET_PEERS:
            judge = (lambda s, p: s <= p) if key == "runit" else None
            line("10", label % NMAX, fleet.get(("swiftd", NMAX, what)), peer, fleet.get((key, NMAX, what)), fmt_ms,
                 "no slower than runsvdir" if judge else "report", judge)
    for cmd, label in [("status", "`swiftd status` of %d services"), ("list", "`swiftd list` of %d services")]:
        line("10", label % NMAX, hf("fleet_%s_swiftd_n%d" % (cmd, NMAX)), "sv status", fleet_status("runit", NMAX),
             fmt_ms, "no slower than `sv status`", lambda s, p: s <= p)
    pss_of = lambda key: fmem.get((key, NMAX, "supervisors"), (None, None))[1]
    line("10", "summed Pss of the %d resident supervisors" % NMAX, pss_of("swiftd"), "s6-supervise", pss_of("s6"),
         fmt_kb, "no more than s6-supervise's", lambda s, p: s <= p)
    for key, peer in [("runit", "runsv"), ("daemontools", "supervise"), ("supervisord", "supervisord (one process)")]:
        line("10", "summed Pss of the %d resident supervisors" % NMAX, pss_of("swiftd"), peer, pss_of(key), fmt_kb)

# ---- 12: machine scale
MACH_NS = [int(x) for x in M.get("machine_sizes", "").split()]
MSMALL, MBIG = (MACH_NS[0], MACH_NS[-1]) if MACH_NS else (None, None)
MACH_CMDS = [("start_sup", "`start --min-uptime 0`"), ("stop_sup", "`stop`"),
             ("start_exec", "`start --no-supervise --min-uptime 0` (exec mode)"), ("stop_exec", "`stop`, exec mode"),
             ("status", "`status NAME`"), ("list", "`list`"), ("restart_sup", "`restart`"),
             ("restart_exec", "`restart`, exec mode"), ("stop_tree", "`stop` of a service with 100 children")]
# What reads the process table: the trust model's reads (a session's members, exec mode's lock holders).
MACH_STATED = {"stop_exec", "restart_exec"}
msys = {}    # (name, n) -> (total, openat, read, getdents64, getsid)
for r in rows("machine_syscalls.csv"):
    msys[(r[0], int(r[1]))] = tuple(int(x) if x else 0 for x in r[2:7])
mhf = lambda cmd, tag, n: hf("m_%s_%s_n%d" % (cmd, tag, n))
count = lambda n: "{:,}".format(n)
if MACH_NS:
    line("12", "stop, exec mode, with %s unrelated processes" % count(MSMALL), mhf("stop_exec", "after", MSMALL),
         "start-stop-daemon --stop --pidfile", hf("m_ssd_stop_pidfile_n%d" % MSMALL), fmt_ms, "< 5 ms", lambda s, p: s < 5)
    for cmd, label in MACH_CMDS:
        stated = cmd in MACH_STATED
        line("12", "%s with %s unrelated processes" % (label, count(MBIG)), mhf(cmd, "after", MBIG),
             "the same with %s" % count(MSMALL), mhf(cmd, "after", MSMALL), fmt_ms,
             "stated: reads the process table (notes)" if stated else "≤ 3× (with %s)" % count(MSMALL),
             None if stated else (lambda s, p: s <= 3 * p))
    line("12", "stop, exec mode, with %s unrelated processes" % count(MBIG), mhf("stop_exec", "after", MBIG),
         "start-stop-daemon --stop --exec (reads every process)", hf("m_ssd_stop_exec_n%d" % MBIG), fmt_ms)

# ---------------------------------------------------------------------------
def ms(v):
    return fmt_ms(v)


def diff(a, b):
    return None if a is None or b is None else a - b


def build_notes():
    n = []
    v_sw, v_ssd, v_true = hf("r9_swiftd_warm"), hf("r9_ssd_warm"), hf("r9_true_warm")
    if any(r in missed for r in ("1", "2", "3")):
        n.append("**Rows 1-3: what a swiftd command costs that start-stop-daemon's does not.** Every command is one "
                 "process start of a %s fully static Swift binary: `swiftd --version` takes %s warm against %s for "
                 "`start-stop-daemon --version` and %s for `true` (row 9). The difference is the Swift runtime's "
                 "start-up and the pages of a larger program. Liveness is a non-blocking shared `flock` on the pidfile "
                 "(not `/proc/locks`, which waits for an RCU grace period after a quiet spell), so `status` and `stop` "
                 "cost about the same after quiet as back to back." %
                 (fmt_size(sizes.get("swiftd")), ms(v_sw), ms(v_ssd), ms(v_true)))
    if "1" in missed:
        s_idle, s_b2b, p_idle, p_b2b = hf("r1_swiftd_min0"), hf("r1_swiftd_min0_b2b"), hf("r1_ssd"), hf("r1_ssd_b2b")
        n.append("**Row 1, start.** `swiftd start --min-uptime 0` took %s after quiet and %s back to back; "
                 "start-stop-daemon %s and %s. Besides the process start, swiftd does work start-stop-daemon does "
                 "not, before it may say \"started\": the double fork, the supervisor's set-up (signal descriptor, log, "
                 "relay pipe, `NAME.state` written by rename), the spawn of the service (a CLONE_VM|CLONE_VFORK child, as "
                 "posix_spawn makes, since d06aa82; a fork before) with the exec confirmed through a close-on-exec "
                 "pipe, the pid written, and the report back to the caller. "
                 "start-stop-daemon forks and returns. In exec mode (`--no-supervise`, no resident supervisor) "
                 "swiftd took %s and %s." % (ms(s_idle), ms(s_b2b), ms(p_idle), ms(p_b2b), ms(hf("r1_swiftd_exec")),
                                             ms(hf("r1_swiftd_exec_b2b"))))
    if "2" in missed:
        s_idle, s_b2b, p_idle = hf("r2_swiftd"), hf("r2_swiftd_b2b"), hf("r2_ssd")
        n.append("**Row 2, stop.** `swiftd stop` took %s after quiet and %s right after the start (`true`: %s)." %
                 (ms(s_idle), ms(s_b2b), ms(v_true)))
    if "3" in missed:
        s_idle, s_b2b, p_idle, p_b2b = hf("r3_swiftd"), hf("r3_swiftd_b2b"), hf("r3_ssd"), hf("r3_ssd_b2b")
        n.append("**Row 3, status.** `swiftd status` took %s after quiet and %s back to back; start-stop-daemon %s and "
                 "%s. The difference is the process start (above) plus reading the state file for the details "
                 "(uptime, restarts, last exit); the lock probe itself takes microseconds." %
                 (ms(s_idle), ms(s_b2b), ms(p_idle), ms(p_b2b)))
    if "9" in missed:
        n.append("**Row 9, `--version` and size.** swiftd's stripped binary is %s (the Swift runtime and standard "
                 "library linked in statically; the tool is compiled without the implicit `_StringProcessing` import, "
                 "which alone was 1.3 MB). Of its 5.5 MB of code, 3 MB are the standard library's: its metadata "
                 "and conformance records keep it from being dropped at link time, and most of it is one section "
                 "that cannot even be reordered. Cold, `--version` took %s against start-stop-daemon's %s: "
                 "readahead reads the binary whole. Warm, %s against %s%s." %
                 (fmt_size(sizes.get("swiftd (stripped)")), ms(hf("r9_swiftd_cold")), ms(hf("r9_ssd_cold")),
                  ms(v_sw), ms(v_ssd),
                  "" if v_sw is not None and v_ssd is not None and v_sw <= v_ssd else
                  ": the Swift runtime's start-up before `main` (it registers the standard library's prespecialized "
                  "generic metadata at their first use, its backtracer looks for `swift-backtrace`) and the pages "
                  "of a larger program"))
    if "10" in missed and NMAX:
        sup = fmem.get(("swiftd", NMAX, "supervisors"))
        s6 = fmem.get(("s6", NMAX, "supervisors"))
        t = ("**Row 10, a thousand services.** Up: swiftd %s, runsvdir %s; stop: swiftd %s, runit %s. The one "
             "`swiftd start` forks each service's supervisor itself (the double fork, the supervisor's set-up, the "
             "confirmed exec), 32 under way at a time on %s cores (a `swiftd start` of its own a name took 2,172 ms "
             "against runsvdir's 2,131 in an earlier run); runsvdir forks one small runsv a directory. The stop of all asks every supervisor from the one command and waits on their pidfds "
             "together (it started a `swiftd stop` per name before: 2,687 ms against runsvdir's 1,282 in the run "
             "before). Status of all: `swiftd status` %s and `swiftd list` %s against `sv status` %s: per service "
             "swiftd takes a shared lock on the pidfile to probe it (nine system calls in all with reading the "
             "pidfile and `NAME.state`) and decodes the whole record in `NAME.state`, its configuration included "
             "(about 28,600 instructions a service in all, counted with callgrind over 1,000 services; 31,800 before "
             "the status shared the snapshot's boxed record instead of copying it, 40,000 before the record was "
             "decoded over a buffer with memchr and memcmp, 44,000 before the statuses were read in place, 64,000 "
             "before the record was read by byte); sv reads "
             "two small files." % (ms(fleet.get(("swiftd", NMAX, "up"))), ms(fleet.get(("runit", NMAX, "up"))),
                         ms(fleet.get(("swiftd", NMAX, "stop"))), ms(fleet.get(("runit", NMAX, "stop"))),
                         M.get("cores"), ms(fleet_status("swiftd", NMAX)), ms(hf("fleet_list_swiftd_n%d" % NMAX)),
                         ms(fleet_status("runit", NMAX))))
        if sup and s6:
            t += (" Memory: %d kB of Pss a swiftd supervisor (%d kB anonymous) against %d kB (%d kB) an s6-supervise "
                  "(the supervisors of the one start share the pages they inherited from it: each counts them in its "
                  "RssAnon, their Pss divides them). Seen in `/proc/PID/pagemap` of an idle supervisor while developing this: of its 148 kB "
                  "anonymous, 52 kB are the static binary's zero-initialised data (`.bss`: the Swift runtime's "
                  "metadata pool, the standard library's metadata caches, which lie spread over its one 86 kB "
                  "section, and the variables swiftd and libc write), 20 kB its written data, 12 kB relocated "
                  "read-only data, 40 kB the heap after `malloc_trim` (much of it what the `start` before the fork "
                  "left: its tables of commands and options, the caller's environment), 20 kB the stack down to "
                  "the waiting frame (what lies below it is given back when idle); the file-backed pages are "
                  "shared by every supervisor and given back when idle. Before the written variables were laid "
                  "out together (link/data.py), the binary's data alone took 35 pages and a supervisor 204 kB." % (sup[1] // max(sup[0], 1), sup[2] // max(sup[0], 1), s6[1] // max(s6[0], 1),
                                             s6[2] // max(s6[0], 1)))
        n.append(t)
    if "4" in missed:
        n.append("**Row 4, memory.** The supervisor's VmRSS is %s kB; the details table shows what it is made of."
                 % (mem.get("swiftd", {}).get(1, (None,))[0]))
    if "5" in missed:
        n.append("**Row 5, wake-ups.** The swiftd supervisor woke %s times in 10 s with a quiet service." %
                 wake.get("swiftd"))
    if "6" in missed:
        xs = resp.get("swiftd", [])
        n.append("**Row 6, respawn.** swiftd's median respawn took %s (max %s) at `--restart-delay 0`." %
                 (ms(median(xs)), ms(max(xs) if xs else None)))
    if "7" in missed:
        m = median(watch.get("swiftd", []))
        n.append("**Row 7, watch.** A rewrite reached a new instance in %s (median). swiftd's file watcher compares "
                 "contents once no inotify event came for 40 ms (`FileWatcher.debounce`: a burst of writes is one "
                 "change, a save of the same bytes none); the rest is stopping the old instance and starting the new "
                 "one." % ms(m))
    if "8" in missed:
        t = ("**Row 8, log throughput.** swiftd moved %s against %s for `cat > file`." %
             (fmt_mbs(thr.get("swiftd")), fmt_mbs(thr.get("cat > file"))))
        slower = [k for k in ["svlogd", "multilog", "s6-log", "supervisord"]
                  if thr.get(k) is not None and thr.get("swiftd") is not None and thr["swiftd"] <= thr[k]]
        if slower:
            t += " Not faster than: %s." % ", ".join(slower)
        t += (" The supervisor reads the pipe 128 KiB at a time, looks backwards for the last newline, writes the "
              "complete lines and moves the rest to the front of its buffer; `cat` only reads and writes.")
        n.append(t)
    # Not misses, but worth knowing.
    sw = mem.get("swiftd", {}).get(1)
    anon_peers = [a for a in (mem.get(k, {}).get(1, (None, None))[1] for k in ["daemon", "runsv", "supervise",
                                                                               "s6-supervise"]) if a]
    if sw and anon_peers:
        n.append("**Row 4, what the figure is made of.** The supervisor's %s kB of VmRSS are %s kB anonymous and %s kB "
                 "file-backed. It stays under 2 MB because an idle supervisor hands its clean file-backed pages "
                 "(code and read-only data of the binary and libraries) back to the page cache with `MADV_DONTNEED` "
                 "(`ResidentMemory.swift`); they fault back in at the next event. Its anonymous memory is %.0f–%.0f× "
                 "the C supervisors' (%d–%d kB)." % (sw[0], sw[1], sw[2], sw[1] / max(anon_peers),
                                                     sw[1] / min(anon_peers), min(anon_peers), max(anon_peers)))
    slow = [k for k in ["s6-supervise", "supervisord"] if median(resp.get(k, [])) and median(resp.get(k, [])) > 500]
    if slow:
        n.append("**Row 6, the one-second peers.** %s started the next instance about a second after each exit, "
                 "although the service had run 1.1 s (longer than the minimum run both runsv and s6 ask for). Seen "
                 "with strace while developing this benchmark: s6-supervise 2.11 reaps at once, then waits in `ppoll` with a 1 s timeout before it "
                 "forks `./run`; supervisord reaps at once (the child's output pipe wakes it) but spawns only on the "
                 "next pass of its main loop, after a `poll` with a 1 s timeout. Neither has a setting that shortens "
                 "it." % " and ".join(slow))
    ck = {(r[0], r[1]): (int(r[3]), int(r[4])) for r in rows("checks.csv")}
    late = [t for (k, t), (ok, total) in ck.items() if k == "start" and ok < total]
    if MACH_NS:
        e = [msys.get(("m_stop_exec_after", n)) for n in MACH_NS]
        n.append("**Row 12, what reads the process table.** Only a stop without a supervisor (exec mode, or what a "
                 "dead supervisor left) does, because the trust model asks for a session's members and exec mode's "
                 "lock holders, and no kernel interface lists either: it enumerates `/proc` (getdents64) and asks "
                 "each process its session (`getsid`, one system call that formats nothing) once as it begins and once "
                 "more when all it found is gone (for what was forked meanwhile), and waits on pidfds in between; stat "
                 "lines are read only in the sessions that can be the service's, descriptors only of the processes that "
                 "can hold its lock. An exec-mode stop made %s system calls with %s unrelated processes and %s with %s "
                 "(%s getsid). Everything else costs what the service costs: the supervisor walks its own tree "
                 "(`/proc/PID/task/*/children`) as a stop step begins, then reads only its own children as orphans "
                 "come to it." % (count(e[0][0]) if e[0] else "n/a", count(MSMALL), count(e[-1][0]) if e[-1] else "n/a",
                                  count(MBIG), count(e[-1][4]) if e[-1] else "n/a"))
    if late:
        n.append("**Starts that return early.** %s returned before their pidfile was written (or before their process "
                 "ran) in some runs (table \"What holds when the command returns\"): their start figures cover less "
                 "work than swiftd's and start-stop-daemon's." % " and ".join(late))
    return n


# ---------------------------------------------------------------------------
out = []
w = out.append
duration = int(M.get("duration_seconds", "0"))
w("# swiftd against its peers: results")
w("")
w("Written by `bench/run` (see `bench/README.md`); every figure below comes from the one run described here.")
w("")
w("- **When**: %s; load average (1, 5, 15 min) %s at the start, %s at the end." %
  (M.get("date"), M.get("loadavg_start"), M.get("loadavg_end")))
w("- **Machine**: %s, %s cores, %s MB RAM; %s; kernel %s." %
  (M.get("cpu"), M.get("cores"), M.get("mem_mb"), M.get("os"), M.get("kernel")))
w("- **swiftd**: %s at commit %s, built as installed: `swift build %s` (%s)." %
  (M.get("swiftd_version"), M.get("git_commit"), M.get("build_flags", "-c release --static-swift-stdlib -Xswiftc -static-executable"),
   M.get("swift")))
installed = M.get("installed", "")
w("- **Duration**: bench/run took %d min %02d s in all: %s, building swiftd (%s s), measuring." %
  (duration // 60, duration % 60,
   ("installing %s from Debian (%s s)" % (installed, M.get("install_seconds", "?"))) if installed
   else "nothing to install (the peers were already there)",
   M.get("build_seconds", "?")))
if M.get("quick") == "1":
    w("- **Quick mode** (`--quick`): fewer runs and a smaller log; not the figures to quote.")
w("")
w("Times are medians: hyperfine's for rows 1-3 and 9 (each command run directly, no shell, after 3 warm-up runs), "
  "of the samples for rows 6-8. In rows 1-3 every command runs after %s s of quiet (\"after %s s idle\"), as when a "
  "person or a script runs it, and again for swiftd and start-stop-daemon in quick succession (\"back to back\", "
  "hyperfine's usual way); the difference matters to swiftd (notes). \"swiftd ÷ peer\" divides swiftd's figure by "
  "the peer's: below 1 means swiftd's is smaller (faster, smaller, fewer), except in row 8 where the figures are "
  "throughputs and above 1 means swiftd is faster." % (M.get("idle_seconds", "0.2"), M.get("idle_seconds", "0.2")))
w("")
w("| # | what | swiftd | peer | peer's figure | swiftd ÷ peer | target | met |")
w("|---|---|---|---|---|---|---|---|")
for r in table:
    w("| %s |" % " | ".join(r))
w("")

# ---- scaling
w("## How the figures grow")
w("")
w("`swiftd status NAME` and `swiftd stop NAME` with 1, 10 and 100 swiftd services running (all in the same run "
  "directory; the stopped one is started again before each run). Back to back, so that the growth is not hidden "
  "behind the grace period of rows 1-3:")
w("")
w("| command | 1 service | 10 services | 100 services | 100 ÷ 1 |")
w("|---|---|---|---|---|")
for cmd in ["status", "stop"]:
    v = [hf("scale_%s_n%d" % (cmd, n)) for n in (1, 10, 100)]
    w("| `swiftd %s NAME` | %s | %s | %s | %s |" % (cmd, fmt_ms(v[0]), fmt_ms(v[1]), fmt_ms(v[2]), fmt_ratio(v[2], v[0])))
w("")
w("`start --min-uptime 0`, back to back, with a larger caller: 100 extra environment variables (passed on to the service), "
  "1,000 extra open descriptors in the caller (descriptor limit %s; none may reach the service):" % M.get("nofile_limit", "?"))
w("")
w("| caller | swiftd start | start-stop-daemon -b -m |")
w("|---|---|---|")
base_sw, base_ssd = hf("scale_start_plain"), hf("scale_start_ssd_plain")
w("| plain | %s | %s |" % (fmt_ms(base_sw), fmt_ms(base_ssd)))
w("| + 100 environment entries | %s | |" % fmt_ms(hf("scale_start_env100")))
w("| + 1,000 open descriptors | %s | |" % fmt_ms(hf("scale_start_fds1000")))
w("| + both | %s | %s |" % (fmt_ms(hf("scale_start_env100_fds1000")), fmt_ms(hf("scale_start_ssd_env100_fds1000"))))
w("")
opts = M.get("disk_run_dir_mount_options", "")
w("The run directory (pidfiles, state files) is on a %s for every measurement above, as `/run` and "
  "`$XDG_RUNTIME_DIR` are. With it on the disk instead (%s%s), where replacing `NAME.state` by rename makes the "
  "file system write the new file's data out first:" %
  (M.get("run_dir_fs", "?"), M.get("disk_run_dir_fs", "?"),
   ", mounted with `discard`" if "discard" in opts.split(",") else ""))
w("")
w("| command (back to back) | run dir on %s | run dir on %s |" % (M.get("run_dir_fs", "?"), M.get("disk_run_dir_fs", "?")))
w("|---|---|---|")
w("| `swiftd start --min-uptime 0` | %s | %s |" % (fmt_ms(hf("scale_start_plain")), fmt_ms(hf("scale_start_diskrun"))))
w("| `swiftd stop` | %s | %s |" % (fmt_ms(hf("scale_stop_n1")), fmt_ms(hf("scale_stop_diskrun"))))
fds = {r[0]: r[1:] for r in rows("fds.csv")}
if fds:
    w("")
    parts = []
    if "swiftd" in fds:
        parts.append("under swiftd the service had %s open descriptors and the supervisor %s" % (fds["swiftd"][0], fds["swiftd"][1]))
    if "start-stop-daemon" in fds:
        parts.append("under start-stop-daemon the service had %s" % fds["start-stop-daemon"][0])
    w("Started from a caller holding 1,000 extra descriptors, " + "; ".join(parts) + " (`ls /proc/PID/fd`).")
w("")

# ---- machine scale
if MACH_NS:
    procs = [M.get("machine_processes_n%d" % n, "?") for n in MACH_NS]
    tags = [("after", "this build")] + ([("before", "before (%s)" % M.get("baseline_commit"))] if M.get("baseline_commit") else [])
    w("## Row 12: costs that grow with the machine")
    w("")
    w("Each command with %s unrelated processes added to the machine (`benchtool crowd N`: processes that only wait; "
      "%s processes in all). Back to back, hyperfine medians (%s runs; %s with %s); the service is `/bin/sleep` "
      "(exec mode: `--no-supervise`), stopped or started again between runs as the command needs; the last row's "
      "service is a shell with 100 `sleep` children, which its supervisor stops. System calls: `strace -c` of one run "
      "of the command itself (`-f` where what it forks ends: an exec-mode start until its child's `execve`; a "
      "supervisor runs on, so a supervised start or restart counts the command alone, and the supervisor's own calls "
      "during a stop are in the table below it)%s." %
      (", ".join(count(n) for n in MACH_NS), ", ".join(procs), 30 if M.get("quick") != "1" else 10, 10,
       count(MBIG), "; \"before\" is the same commands with swiftd built from commit %s, in the same run" %
       M.get("baseline_commit") if M.get("baseline_commit") else ""))
    w("")
    head = " | ".join(count(n) for n in MACH_NS)
    w("| command | swiftd | %s | %s ÷ %s | system calls: %s |" % (head, count(MBIG), count(MSMALL), head))
    w("|---|---|%s---|%s" % ("---|" * len(MACH_NS), "---|" * len(MACH_NS)))
    for cmd, label in MACH_CMDS:
        for tag, tag_label in tags:
            v = [mhf(cmd, tag, n) for n in MACH_NS]
            calls = [msys.get(("m_%s_%s" % (cmd, tag), n)) for n in MACH_NS]
            w("| %s | %s | %s | %s | %s |" % (label, tag_label, " | ".join(fmt_ms(x) for x in v), fmt_ratio(v[-1], v[0]),
                                              " | ".join(count(c[0]) if c else "n/a" for c in calls)))
    for key, label in [("pidfile", "start-stop-daemon --stop --pidfile"), ("exec", "start-stop-daemon --stop --exec")]:
        v = [hf("m_ssd_stop_%s_n%d" % (key, n)) for n in MACH_NS]
        calls = [msys.get(("m_ssd_stop_%s" % key, n)) for n in MACH_NS]
        w("| `%s --retry TERM/5/KILL/5` | | %s | %s | %s |" % (label, " | ".join(fmt_ms(x) for x in v), fmt_ratio(v[-1], v[0]),
                                                           " | ".join(count(c[0]) if c else "n/a" for c in calls)))
    w("")
    w("Where the system calls of the commands that read the process table go (openat / read / getdents64 / getsid), "
      "and the supervisor's own calls while it stops its service:")
    w("")
    w("| what | swiftd | %s |" % head)
    w("|---|---|%s" % ("---|" * len(MACH_NS)))
    detail = lambda c: "n/a" if not c else "%s (%s / %s / %s / %s)" % (count(c[0]), count(c[1]), count(c[2]), count(c[3]), count(c[4]))
    for name, label in [("stop_exec", "`stop`, exec mode"), ("restart_exec", "`restart`, exec mode"),
                        ("stop_sup_supervisor", "the supervisor, `stop`"),
                        ("stop_tree_supervisor", "the supervisor, `stop` of a service with 100 children")]:
        for tag, tag_label in tags:
            w("| %s | %s | %s |" % (label, tag_label, " | ".join(detail(msys.get(("m_%s_%s" % (name, tag), n))) for n in MACH_NS)))
    w("| `start-stop-daemon --stop --exec` | | %s |" % " | ".join(detail(msys.get(("m_ssd_stop_exec", n))) for n in MACH_NS))
    w("")

# ---- fleet
if FLEET_NS:
    w("## A thousand services")
    w("")
    w("%s services at once under each supervisor (row 10): swiftd by its several-names commands (`swiftd start "
      "fleet1 ... fleetN -- /bin/sleep ARG`, each supervisor forked by the command itself, 32 starts under way at a time; `stop` asks them all from the one command), runit by `runsvdir` over N service directories, "
      "s6 by `s6-svscan`, daemontools by `svscan`, supervisord with N programs (`startsecs=0`). Each service is "
      "`/bin/sleep` (under the scanners `./run` is `#!/bin/sh` + `exec /bin/sleep ARG`). Up: from the command (or "
      "the scanner's start) until N services run (a count of the processes with that exact command line, every "
      "5 ms); stop: from the command until none runs (`swiftd stop NAME...`, `sv -w 120 down DIR...`, `s6-svc -d` "
      "for each directory in one shell loop, `svc -d DIR...`, `supervisorctl stop all`). Status of all: one command "
      "(`swiftd status`, `swiftd list`, `sv status DIR...`, `svstat DIR...`, `supervisorctl status`; s6-svstat takes "
      "one directory: a loop in one shell). Memory: Pss and RssAnon summed over the per-service supervisors "
      "(swiftd's supervisors, runsv, s6-supervise, supervise; supervisord's one process) 1 s after the status runs, "
      "every tool's services running side by side; the scanners' own figures in parentheses. Wake-ups: context "
      "switches of the same processes in the next 10 s." % ", ".join(str(n) for n in FLEET_NS))
    w("")
    w("| tool | N | up | stop | status of all | Pss (kB) | RssAnon (kB) | wake-ups in 10 s |")
    w("|---|---|---|---|---|---|---|---|")
    for tool in ["swiftd", "runit", "s6", "daemontools", "supervisord"]:
        for n in FLEET_NS:
            sup = fmem.get((tool, n, "supervisors"))
            scan = fmem.get((tool, n, "scanner"))
            st = fmt_ms(fleet_status(tool, n))
            if tool == "swiftd":
                st += " (`list` %s)" % fmt_ms(hf("fleet_list_swiftd_n%d" % n))
            f = lambda i: "n/a" if sup is None else ("%d" % sup[i]) + ("" if scan is None else " (+%d)" % scan[i])
            w("| %s | %d | %s | %s | %s | %s | %s | %s |" % (tool, n, fmt_ms(fleet.get((tool, n, "up"))),
                                                          fmt_ms(fleet.get((tool, n, "stop"))), st, f(1), f(2), f(3)))
    w("")

# ---- instruction counts
icount = rows("icount.csv")
if icount:
    w("## Instructions per command")
    w("")
    w("Counted by valgrind's callgrind (`Ir`, every instruction of the process, the dynamic loader's and libc's "
      "included; start-stop-daemon is dynamically linked). Unlike times, these do not move with the machine's load.")
    w("")
    w("| command | instructions |")
    w("|---|---|")
    for name, count in icount:
        w("| `%s` | %s |" % (name, "{:,}".format(int(count)) if count else "n/a"))
    w("")

# ---- correctness at return
checks = rows("checks.csv")
if checks:
    w("## What holds when the command returns")
    w("")
    w("Checked while benchmarking (not timed), %s times each:" % checks[0][4])
    w("")
    w("| command | tool | check | held |")
    w("|---|---|---|---|")
    for kind, tool, what, ok, total in checks:
        w("| %s | %s | %s | %s of %s |" % (kind, tool, what, ok, total))
    w("")

# ---- details of rows 4-8
w("## Details")
w("")
w("Row 4, resident memory of each supervisor process (kB) 1 s and 11 s after its start: VmRSS / RssAnon / RssFile / Pss.")
w("")
w("| supervisor | at 1 s | at 11 s | wake-ups in 10 s |")
w("|---|---|---|---|")
for t in ["swiftd"] + PEERS45:
    m = mem.get(t, {})
    f = lambda v: " / ".join("n/a" if x is None else str(x) for x in v) if v else "n/a"
    w("| %s | %s | %s | %s |" % (t, f(m.get(1)), f(m.get(11)), wake.get(t, "n/a")))
w("")
w("Row 6, respawn latency (ms) over %d respawns each:" % max((len(v) for v in resp.values()), default=0))
w("")
w("| supervisor | min | median | 90th pct | max |")
w("|---|---|---|---|---|")
for t in ["swiftd", "daemon", "runsv", "s6-supervise", "supervisord"]:
    xs = resp.get(t, [])
    w("| %s | %s | %s | %s | %s |" % (t, fmt_ms(min(xs) if xs else None), fmt_ms(median(xs)), fmt_ms(pct(xs, 0.9)),
                                      fmt_ms(max(xs) if xs else None)))
w("")
w("Row 7, watch latency (ms) over %d rewrites each:" % max((len(v) for v in watch.values()), default=0))
w("")
w("| watcher | min | median | max |")
w("|---|---|---|---|")
for t in ["swiftd", "entr", "naive"]:
    xs = watch.get(t, [])
    w("| %s | %s | %s | %s |" % (t, fmt_ms(min(xs) if xs else None), fmt_ms(median(xs)), fmt_ms(max(xs) if xs else None)))
w("")
w("Row 8, seconds until all %d bytes were in the log, each run:" % nbytes)
w("")
w("| logger | runs (s) | median MB/s |")
w("|---|---|---|")
secs = {}
for r in rows("logs.csv"):
    secs.setdefault(r[0], []).append(float(r[3]) / 1e3)
for t in ["cat > file", "swiftd", "svlogd", "multilog", "s6-log", "supervisord"]:
    xs = secs.get(t, [])
    w("| %s | %s | %s |" % (t, ", ".join("%.2f" % x for x in xs) or "n/a", fmt_mbs(thr.get(t))))
w("")
needed = M.get("swiftd_needed", "").strip()
w("swiftd binary: %s." % (("needs " + needed) if needed else "fully static, needs no shared library"))
w("")

# ---- peers
w("## Peers and flags")
w("")
w("Debian 12 packages: " + ", ".join("%s %s" % (p, M.get("version_" + p, "?")) for p in
                                      ["dpkg", "daemon", "daemonize", "supervisor", "runit", "daemontools", "s6", "entr",
                                       "hyperfine"]) + ". Each peer as its documentation recommends, with only what "
  "the comparison needs added (details in `bench/README.md`). Everything runs under one child subreaper that "
  "reaps every orphan at once, as init does; the run directory is on a tmpfs, logs on the disk.")
w("")
w("| row | swiftd | peers |")
w("|---|---|---|")
for r in [
    ("1", "`swiftd start N --run-dir R --log-dir L [--min-uptime 0] -- /bin/sleep 100000`",
     "`start-stop-daemon --start --background --make-pidfile --pidfile P --exec /bin/sleep -- 100000`; "
     "`daemon --name=N --pidfiles=R -- /bin/sleep 100000`; `daemonize -p P -l LOCK /bin/sleep 100000`; "
     "`supervisorctl start N` (`autostart=false`; `startsecs` 1, its default, or 0)"),
    ("2", "`swiftd stop N`",
     "`start-stop-daemon --stop --retry TERM/5/KILL/5 --remove-pidfile --pidfile P`; `daemon --name=N --stop` then "
     "`daemon --name=N --running` until it says no; `supervisorctl stop N`; `sv stop DIR`"),
    ("3", "`swiftd status N`",
     "`start-stop-daemon --status --pidfile P`; `daemon --name=N --running`; `supervisorctl status N`; `sv status DIR`"),
    ("4, 5", "`swiftd start q` (defaults)",
     "`daemon --name=N`; `runsv DIR`; `supervise DIR`; `s6-supervise DIR`; `supervisord` with one program"),
    ("6", "`--restart on-failure --restart-delay 0 --start-limit none`",
     "`daemon --respawn --attempts=100`; `runsv DIR`; `s6-supervise DIR`; supervisord (program defaults)"),
    ("7", "`--watch FILE`", "`entr -n -r`; a shell loop polling `stat -c %y` every second"),
    ("8", "`--restart no --min-uptime 0 --log-max-size 1G` (no rotation within the 500 MB)",
     "`cat > FILE`; `svlogd DIR` (`s0`: no rotation); `multilog s16777215 n40 DIR`; `s6-log n40 s1000000000 DIR`; "
     "supervisord `stdout_logfile_maxbytes=0`; no timestamps anywhere"),
]:
    w("| %s | %s | %s |" % r)
w("")

# ---- row 11: restarts under load (bench/zero-downtime)
restarts = os.path.join(RAW, "zero-downtime.md")
if os.path.exists(restarts):
    w("## Row 11: restarts under load")
    w("")
    w("`bench/zero-downtime`: the same HTTP server restarted back to back while `Tests/fixtures/load-client.py` asks all "
      "the while (two threads GET / every 5 ms, one GET /slow of 200 ms back to back, so a request is always in flight), "
      "for three servers: `Tests/fixtures/listen-server.py` (graceful on SIGTERM), gunicorn 27.0.1 with default settings "
      "(sync worker, no `--preload`) and uvicorn 0.55.0 (`--fd 3`; ready by `--min-uptime`). Refused: ECONNREFUSED, "
      "nothing listened. Failed: a reset or a cut answer. A refused client asks again after 5 ms, so the refused count "
      "measures how long nothing listened. With overlap each restart waits `--settle` (2s) once the new instance is "
      "ready, which is most of its time. uvicorn's failures under overlap are its own shutdown's: it closes the "
      "connections it accepted and has not read yet.")
    w("")
    with open(restarts) as f:
        w(f.read().rstrip())
    w("")

# ---- notes
w("## Notes on the targets")
w("")
notes = build_notes()
if not missed:
    w("Every target is met.")
else:
    w("Missed: row%s %s." % ("s" if len(missed) > 1 else "", ", ".join(missed)))
w("")
for n in notes:
    w(n)
    w("")
print("\n".join(out).rstrip() + "\n")
