internal import Glibc

/// A resource limit of a launched program (`setrlimit`): soft and hard
/// values, nil for unlimited (`RLIM_INFINITY`).
public struct ResourceLimit: Hashable, Sendable {
    /// A resource `setrlimit` limits, named as `prlimit(1)` and `--limit` name it.
    public enum Resource: String, Hashable, Sendable, CaseIterable {
        /// Open descriptors (`RLIMIT_NOFILE`).
        case nofile
        /// Processes of the user (`RLIMIT_NPROC`).
        case nproc
        /// Core file size in bytes (`RLIMIT_CORE`).
        case core
        /// Locked memory in bytes (`RLIMIT_MEMLOCK`).
        case memlock
        /// Address space in bytes (`RLIMIT_AS`).
        case `as`
        /// File size in bytes (`RLIMIT_FSIZE`).
        case fsize
        /// CPU time in seconds (`RLIMIT_CPU`).
        case cpu
        /// Stack size in bytes (`RLIMIT_STACK`).
        case stack
        /// Data segment in bytes (`RLIMIT_DATA`).
        case data
        /// Resident set in bytes (`RLIMIT_RSS`, ignored by Linux).
        case rss
        /// POSIX message queues in bytes (`RLIMIT_MSGQUEUE`).
        case msgqueue
        /// Ceiling of the nice value, as 20 - nice (`RLIMIT_NICE`).
        case nice
        /// Ceiling of the real-time priority (`RLIMIT_RTPRIO`).
        case rtprio
        /// Queued signals (`RLIMIT_SIGPENDING`).
        case sigpending
        /// File locks (`RLIMIT_LOCKS`).
        case locks

        /// True for the limits counted in bytes.
        public var isSize: Bool { [.core, .memlock, .as, .fsize, .stack, .data, .rss, .msgqueue].contains(self) }

        /// The `RLIMIT_` number.
        var code: Int32 {
            switch self {
            case .nofile: return Int32(RLIMIT_NOFILE.rawValue)
            case .nproc: return Int32(__RLIMIT_NPROC.rawValue)
            case .core: return Int32(RLIMIT_CORE.rawValue)
            case .memlock: return Int32(__RLIMIT_MEMLOCK.rawValue)
            case .as: return Int32(RLIMIT_AS.rawValue)
            case .fsize: return Int32(RLIMIT_FSIZE.rawValue)
            case .cpu: return Int32(RLIMIT_CPU.rawValue)
            case .stack: return Int32(RLIMIT_STACK.rawValue)
            case .data: return Int32(RLIMIT_DATA.rawValue)
            case .rss: return Int32(__RLIMIT_RSS.rawValue)
            case .msgqueue: return Int32(__RLIMIT_MSGQUEUE.rawValue)
            case .nice: return Int32(__RLIMIT_NICE.rawValue)
            case .rtprio: return Int32(__RLIMIT_RTPRIO.rawValue)
            case .sigpending: return Int32(__RLIMIT_SIGPENDING.rawValue)
            case .locks: return Int32(__RLIMIT_LOCKS.rawValue)
            }
        }
    }

    /// What is limited.
    public var resource: Resource
    /// The soft limit (what the kernel enforces); nil: unlimited.
    public var soft: UInt64?
    /// The hard limit (the ceiling of the soft one); nil: unlimited.
    public var hard: UInt64?

    /// `resource` limited to `soft` and `hard` (nil: unlimited).
    public init(_ resource: Resource, soft: UInt64?, hard: UInt64?) {
        self.resource = resource
        self.soft = soft
        self.hard = hard
    }

    /// The calling process's own limit of `resource`.
    ///
    /// The corresponding C function is `getrlimit`.
    package static func current(_ resource: Resource) -> ResourceLimit? {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(UInt32(resource.code)), &limit) == 0 else { return nil }
        func value(_ v: rlim_t) -> UInt64? { v == rlim_t.max ? nil : UInt64(v) }  // RLIM_INFINITY
        return ResourceLimit(resource, soft: value(limit.rlim_cur), hard: value(limit.rlim_max))
    }
}

/// An I/O scheduling class and level of a launched program (`ioprio_set`).
public struct IOScheduling: Hashable, Sendable {
    /// The I/O scheduling class, as `ionice(1)` names it.
    public enum Class: String, Hashable, Sendable, CaseIterable {
        /// Only when no other program wants the disk.
        case idle
        /// The normal class, levels 0 (first) to 7.
        case bestEffort = "best-effort"
        /// First, before every other class, levels 0 to 7 (root only).
        case realTime = "real-time"

        /// The kernel's `IOPRIO_CLASS_` number.
        var code: Int32 {
            switch self {
            case .realTime: return 1
            case .bestEffort: return 2
            case .idle: return 3
            }
        }
    }

    /// The class.
    public var `class`: Class
    /// The level within the class, 0 (first) to 7; 0 for `idle`.
    public var level: Int32

    /// `level` (0 to 7) within `class`.
    public init(_ class: Class, level: Int32 = 4) {
        self.class = `class`
        self.level = `class` == .idle ? 0 : level
    }
}

/// A CPU scheduling policy and priority of a launched program (`sched_setscheduler`).
public struct CPUScheduling: Hashable, Sendable {
    /// A scheduling policy, as `chrt(1)` names it.
    public enum Policy: String, Hashable, Sendable, CaseIterable {
        /// The normal time-sharing policy (`SCHED_OTHER`).
        case other
        /// For batch jobs (`SCHED_BATCH`).
        case batch
        /// Only when the CPU is otherwise idle (`SCHED_IDLE`).
        case idle
        /// Real-time, first in first out (`SCHED_FIFO`), priority 1 to 99.
        case fifo
        /// Real-time, round robin (`SCHED_RR`), priority 1 to 99.
        case rr

        /// The `SCHED_` number.
        var code: Int32 {
            switch self {
            case .other: return 0
            case .fifo: return 1
            case .rr: return 2
            case .batch: return 3
            case .idle: return 5
            }
        }

        /// True for the real-time policies, which take a priority from 1 to 99.
        public var isRealTime: Bool { self == .fifo || self == .rr }
    }

    /// The policy.
    public var policy: Policy
    /// The static priority: 1 to 99 for `fifo` and `rr`, 0 for the others.
    public var priority: Int32

    /// `policy` with `priority` (1 to 99 for the real-time policies, else 0).
    public init(_ policy: Policy, priority: Int32 = 0) {
        self.policy = policy
        self.priority = priority
    }
}
