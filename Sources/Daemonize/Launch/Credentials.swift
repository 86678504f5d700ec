public import Glibc

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

    /// Credentials made of these values (no lookup).
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
    /// supplementary groups as `initgroups` would set them, from
    /// `/etc/passwd` and `/etc/group` (see `UserDatabase`).
    public static func lookup(user: String?, group: String?) throws -> Credentials {
        let database = UserDatabase()
        var result = Credentials()
        if let user {
            if let entry = database.user(user) {
                result = Credentials(userName: entry.name, uid: entry.uid, gid: entry.gid,
                                     groups: database.supplementaryGroups(of: entry.name, primary: entry.gid),
                                     home: entry.home, shell: entry.shell)
            } else if let uid = uid_t(user) {
                // A number without a passwd entry is still a valid uid.
                result = Credentials(userName: nil, uid: uid, gid: gid_t(uid), groups: [gid_t(uid)])
            } else {
                throw CredentialsError.unknownUser(user)
            }
        }
        if let group {
            guard let gid = database.groupID(group) else { throw CredentialsError.unknownGroup(group) }
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

    /// Resolves a group name or number.
    package static func groupID(_ group: String) throws -> gid_t? {
        UserDatabase().groupID(group)
    }
}

/// A user or group that does not exist.
public enum CredentialsError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No such user name in `/etc/passwd`.
    case unknownUser(String)
    /// No such group name in `/etc/group`.
    case unknownGroup(String)

    /// "unknown user 'x'".
    public var description: String {
        switch self {
        case .unknownUser(let name): return "unknown user '\(name)'"
        case .unknownGroup(let name): return "unknown group '\(name)'"
        }
    }
}
