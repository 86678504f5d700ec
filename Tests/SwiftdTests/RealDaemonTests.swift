import Glibc
import Daemonize
import TestSupport
import Testing

/// Classic forking daemons nobody here wrote, as Debian installs them
/// (`.ci/run` installs redis-server, nginx and memcached), each started in
/// the background with its own pidfile and `--pidfile`: start says which pid
/// the daemon has, status, signal and reload reach it, a daemon that dies is
/// started again, and stop leaves nothing. Skipped where a program is missing
/// (failed under CI).
@Suite(.hangLimit) struct RealDaemonTests {
    /// One daemon: how to start it, and a request its port answers.
    struct Daemon {
        var name: String
        var pidfile: String
        var port: UInt16
        var command: [String]
        var request: String
        var answer: String
    }

    /// The pid the daemon wrote.
    func written(_ d: Daemon) -> pid_t? {
        (try? FileSystem.read(d.pidfile)).flatMap { PIDFile.parsePID($0) }
    }

    /// The adopted daemon once it answers: NAME.pid and FILE agree, and it is the supervisor's child.
    func adopted(_ h: Harness, _ d: Daemon, otherThan previous: pid_t? = nil) -> pid_t? {
        var pid: pid_t?
        let found = eventually(timeout: 20) {
            pid = h.pid(d.name)
            guard let pid, pid != previous, pid == written(d), let supervisor = h.lockHolder(d.name) else { return false }
            return ProcessTable.stat(of: pid)?.parent == supervisor && Loopback.ask(d.port, d.request)?.hasPrefix(d.answer) == true
        }
        return found ? pid : nil
    }

    /// Start, status, reload, signal (TERM: it ends, and is started again),
    /// a kill (started again), stop.
    func exercise(_ h: Harness, _ d: Daemon) throws {
        let start = try h.swiftd(["start", d.name, "--pidfile", d.pidfile, "--restart", "always", "--"] + d.command)
        #expect(start.code == 0, "\(start)")
        let first = try #require(adopted(h, d), "\(start)\n\(h.log(d.name))")
        #expect(start.stdout == "\(d.name) started (pid \(first))\n")
        let status = try h.swiftd(["status", d.name])
        #expect(status.code == 0 && status.stdout.hasPrefix("\(d.name): running (pid \(first))"), "\(status)")
        let reload = try h.swiftd(["reload", d.name])
        #expect(reload.code == 0 && reload.stdout.hasPrefix("sent HUP to \(d.name) (pid \(first))"), "\(reload)")

        let signal = try h.swiftd(["signal", d.name, "TERM"])
        #expect(signal.stdout == "sent TERM to \(d.name) (pid \(first))\n", "\(signal)")
        let second = try #require(adopted(h, d, otherThan: first), "it ended on TERM and was started again\n\(h.log(d.name))")
        kill(second, SIGKILL)
        let third = try #require(adopted(h, d, otherThan: second), "killed, it was started again\n\(h.log(d.name))")
        #expect(h.state(d.name)?.restarts == 2)
        #expect(h.log(d.name).contains("\(d.name) killed by signal KILL"))

        let stop = try h.swiftd(["stop", d.name])
        #expect(stop.code == 0 && stop.stdout == "\(d.name) stopped\n", "\(stop)")
        #expect(!h.isAlive(third))
        #expect(Loopback.ask(d.port, d.request, timeout: 1) == nil, "nothing answers")
        #expect(h.scratch.markedProcesses().isEmpty, "nothing of it left")
        #expect(try h.swiftd(["status", d.name]).code == 3)
    }

    @Test(.requires(.program("/usr/bin/redis-server", from: "redis-server")))
    func redisServerDaemonizeYes() throws {
        try withHarness("real-redis") { h throws in
            let port = try Loopback.freePort()
            let pidfile = h.scratch.file("redis.pid")
            try exercise(h, Daemon(name: "redis", pidfile: pidfile, port: port,
                                   command: ["/usr/bin/redis-server", "--port", "\(port)", "--bind", "127.0.0.1", "--daemonize", "yes",
                                             "--pidfile", pidfile, "--dir", h.scratch.path, "--save", "", "--appendonly", "no",
                                             "--logfile", h.scratch.file("redis.log")],
                                   request: "PING\r\n", answer: "+PONG"))
            #expect(h.text("redis.log").contains("Received SIGTERM"), "signal reached the daemon itself")
        }
    }

    @Test(.requires(.program("/usr/sbin/nginx", from: "nginx")))
    func nginxWithItsPidDirective() throws {
        try withHarness("real-nginx") { h throws in
            let port = try Loopback.freePort()
            let prefix = h.scratch.path + "/"
            let pidfile = h.scratch.file("nginx.pid")
            let temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map { "\($0)_temp_path \(prefix)\($0);" }.joined(separator: " ")
            // The test's mark reaches the workers (nginx clears their environment but for `env`).
            try FileSystem.writeAtomically(h.scratch.file("nginx.conf"), Array("""
                pid \(pidfile);
                error_log \(prefix)error.log;
                env SWIFTD_TEST_MARK;
                events {}
                http {
                    access_log off; \(temp)
                    server { listen 127.0.0.1:\(port); location / { return 200 "ok\\n"; } }
                }

                """.utf8))
            let daemon = Daemon(name: "nginx", pidfile: pidfile, port: port,
                                command: ["/usr/sbin/nginx", "-c", h.scratch.file("nginx.conf"), "-p", prefix, "-e", prefix + "error.log"],
                                request: "GET / HTTP/1.0\r\n\r\n", answer: "HTTP/1.1 200")
            // A reload reaches the master: it starts new workers.
            #expect(try h.swiftd(["start", "probe", "--pidfile", pidfile, "--"] + daemon.command).code == 0)
            let master = try #require(adopted(h, Daemon(name: "probe", pidfile: pidfile, port: port, command: [], request: daemon.request, answer: daemon.answer)))
            let workers = ProcessTable.children(of: master)
            #expect(!workers.isEmpty)
            #expect(try h.swiftd(["reload", "probe"]).code == 0)
            #expect(eventually(timeout: 20) { let now = ProcessTable.children(of: master); return !now.isEmpty && Set(now).isDisjoint(with: workers) },
                    "new workers after HUP")
            #expect(try h.swiftd(["stop", "probe"]).code == 0)
            #expect(h.scratch.markedProcesses().isEmpty)
            try exercise(h, daemon)
        }
    }

    @Test(.requires(.program("/usr/bin/memcached", from: "memcached")))
    func memcachedDashD() throws {
        try withHarness("real-memcached") { h throws in
            let port = try Loopback.freePort()
            let pidfile = h.scratch.file("memcached.pid")
            // memcached will not run as root unless told which user to be.
            let user = geteuid() == 0 ? ["-u", "root"] : []
            try exercise(h, Daemon(name: "memcached", pidfile: pidfile, port: port,
                                   command: ["/usr/bin/memcached", "-d", "-P", pidfile, "-p", "\(port)", "-U", "0", "-l", "127.0.0.1"] + user,
                                   request: "version\r\n", answer: "VERSION "))
        }
    }
}
