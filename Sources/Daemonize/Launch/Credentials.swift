/// Who a launched program runs as: uid, primary gid and supplementary groups,
/// resolved before any fork (the C side only applies numbers).
public struct Credentials: Hashable, Sendable {
    /// The user name (for messages and `HOME`), when known.
    public var userName: String?
    /// The user id to switch to; nil keeps the caller's.
    public var uid: uid_t?
    /// The primary group id to switch to; nil keeps the caller's.
    public var gid: gid_t?
    /// Supplementary groups; nil keeps the caller's.
    public var groups: [gid_t]?
    /// The user's home directory, when looked up.
    public var home: String?
    /// The user's login shell, when looked up.
    public var shell: String?

    public init(userName: String? = nil, uid: uid_t? = nil, gid: gid_t? = nil, groups: [gid_t]? = nil, home: String? = nil, shell: String? = nil) {
        self.userName = userName
        self.uid = uid
        self.gid = gid
        self.groups = groups
        self.home = home
        self.shell = shell
    }

    /// Resolves `user` (a name or a number) and an optional `group` (name or
    /// number; the user's primary group by default), with the user's
    /// supplementary groups as `initgroups` would set them.
    public static func lookup(user: String?, group: String?) throws -> Credentials {
        var result = Credentials()
        if let user {
            guard let entry = try passwordEntry(user) else { throw CredentialsError.unknownUser(user) }
            result = entry
            if let uid = entry.uid, let gid = entry.gid {
                result.groups = supplementaryGroups(of: entry.userName ?? user, primary: gid, uid: uid)
            }
        }
        if let group {
            guard let gid = try groupID(group) else { throw CredentialsError.unknownGroup(group) }
            result.gid = gid
            if user == nil {
                result.groups = [gid]
            } else if var groups = result.groups, !groups.contains(gid) {
                groups.insert(gid, at: 0)
                result.groups = groups
            }
        }
        return result
    }

    private static func passwordEntry(_ user: String) throws -> Credentials? {
        var entry = passwd()
        var found: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        let byName = buffer.withUnsafeMutableBufferPointer { getpwnam_r(user, &entry, $0.baseAddress!, $0.count, &found) }
        if byName == 0, found != nil { return credentials(from: entry) }
        if let uid = uid_t(user) {
            let byID = buffer.withUnsafeMutableBufferPointer { getpwuid_r(uid, &entry, $0.baseAddress!, $0.count, &found) }
            if byID == 0, found != nil { return credentials(from: entry) }
            // A number without a passwd entry is still a valid uid.
            return Credentials(userName: nil, uid: uid, gid: gid_t(uid), groups: [gid_t(uid)])
        }
        return nil
    }

    private static func credentials(from entry: passwd) -> Credentials {
        Credentials(userName: entry.pw_name.map { String(cString: $0) }, uid: entry.pw_uid, gid: entry.pw_gid,
                    home: entry.pw_dir.map { String(cString: $0) }, shell: entry.pw_shell.map { String(cString: $0) })
    }

    /// Resolves a group name or number.
    public static func groupID(_ group: String) throws -> gid_t? {
        var entry = Glibc.group()
        var found: UnsafeMutablePointer<Glibc.group>?
        var buffer = [CChar](repeating: 0, count: 65536)
        let byName = buffer.withUnsafeMutableBufferPointer { getgrnam_r(group, &entry, $0.baseAddress!, $0.count, &found) }
        if byName == 0, found != nil { return entry.gr_gid }
        return gid_t(group)
    }

    private static func supplementaryGroups(of user: String, primary: gid_t, uid: uid_t) -> [gid_t] {
        var count: Int32 = 64
        while true {
            var groups = [gid_t](repeating: 0, count: Int(count))
            let n = getgrouplist(user, primary, &groups, &count)
            if n >= 0 { return Array(groups.prefix(Int(count))) }
            if count > 65536 { return [primary] }
            count *= 2
        }
    }
}

/// A user or group that does not exist.
public enum CredentialsError: Error, Hashable, Sendable, CustomStringConvertible {
    case unknownUser(String)
    case unknownGroup(String)

    public var description: String {
        switch self {
        case .unknownUser(let name): return "unknown user '\(name)'"
        case .unknownGroup(let name): return "unknown group '\(name)'"
        }
    }
}
