package import Glibc

/// The local user and group databases, `/etc/passwd` and `/etc/group`, read
/// directly. swiftd is linked fully static, where the C library's lookups
/// (`getpwnam` and friends) would need the dynamic NSS modules of the exact C
/// library it was built with; reading the files has no such tie. Users known
/// only to other sources (LDAP, SSSD) are given by number.
package struct UserDatabase: Sendable {
    /// One line of `/etc/passwd`.
    package struct User: Hashable, Sendable {
        package var name: String
        package var uid: uid_t
        package var gid: gid_t
        package var home: String
        package var shell: String
    }

    /// One line of `/etc/group`.
    package struct Group: Hashable, Sendable {
        package var name: String
        package var gid: gid_t
        package var members: [String]
    }

    package var users: [User]
    package var groups: [Group]

    /// Reads the databases (missing or unreadable files count as empty).
    package init(passwd: String = "/etc/passwd", group: String = "/etc/group") {
        users = UserDatabase.lines(passwd).compactMap { fields in
            guard fields.count >= 7, !fields[0].isEmpty, let uid = uid_t(fields[2]), let gid = gid_t(fields[3]) else { return nil }
            return User(name: fields[0], uid: uid, gid: gid, home: fields[5], shell: fields[6])
        }
        groups = UserDatabase.lines(group).compactMap { fields in
            guard fields.count >= 4, !fields[0].isEmpty, let gid = gid_t(fields[2]) else { return nil }
            return Group(name: fields[0], gid: gid, members: fields[3].split(separator: ",").map(String.init))
        }
    }

    /// The user named `name`, else the one with that number.
    package func user(_ name: String) -> User? {
        users.first { $0.name == name } ?? uid_t(name).flatMap { uid in users.first { $0.uid == uid } }
    }

    /// The group id for a group name or number; nil when it is neither.
    package func groupID(_ name: String) -> gid_t? {
        groups.first { $0.name == name }?.gid ?? gid_t(name)
    }

    /// What `initgroups` sets: `primary` and every group listing `user` as a member.
    package func supplementaryGroups(of user: String, primary: gid_t) -> [gid_t] {
        var result = [primary]
        for group in groups where group.members.contains(user) && !result.contains(group.gid) { result.append(group.gid) }
        return result
    }

    /// The colon-separated fields of each line (comments and blank lines left out).
    static func lines(_ path: String) -> [[String]] {
        guard let bytes = try? FileSystem.read(path, limit: 1 << 24) else { return [] }
        return bytes.split(separator: 10).compactMap { line in
            guard let first = line.first, first != UInt8(ascii: "#") else { return nil }
            return line.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false).map { String(platformBytes: $0) }
        }
    }
}
