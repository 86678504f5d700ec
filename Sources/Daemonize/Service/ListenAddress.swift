package import Glibc

/// One `listen` setting: a socket the supervisor binds before the service
/// starts and holds across its restarts, passed to every instance by the
/// socket-activation protocol (`LISTEN_FDS`).
///
///     tcp:HOST:PORT        tcp:0.0.0.0:8080, tcp:localhost:80, tcp::8080 (every address)
///     tcp6:[ADDR]:PORT     tcp6:[::1]:8080, tcp6:[::]:443 (IPv6 only)
///     udp:HOST:PORT        udp:127.0.0.1:5353
///     unix:PATH            unix:/run/web.sock
///
/// followed by options, each after a comma: `name=NAME` (its entry in
/// `LISTEN_FDNAMES`; the service's name by default), and for `unix:` the
/// socket file's `mode=0660` (0666 by default, as systemd's `SocketMode=`)
/// and `owner=USER[:GROUP]` (`USER` alone changes the user, `:GROUP` the
/// group; the supervisor's by default).
package struct ListenAddress: Hashable, Sendable, CustomStringConvertible {
    package enum Kind: Hashable, Sendable {
        /// A TCP (stream) or UDP (datagram) socket; `host` nil for every
        /// address, `ipv6` for tcp6 (IPv6 only, so that tcp and tcp6 can
        /// share a port).
        case internet(host: String?, port: UInt16, ipv6: Bool, datagram: Bool)
        /// A unix stream socket at `path`.
        case unix(path: String, mode: mode_t, owner: String?)
    }

    package var kind: Kind
    /// The name in `LISTEN_FDNAMES`; nil: the service's name.
    package var name: String?
    /// The text it was parsed from.
    package let text: String

    /// Parses `text`; the error says what is wrong, and the forms it takes.
    package init(parsing text: String) throws(ConfigurationError) {
        self.text = text
        var parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let main = parts.removeFirst()
        guard let (scheme, rest) = main.splitAtFirst(":") else { throw Self.bad(text, "no kind (tcp:, tcp6:, udp: or unix:)") }
        var options: [String: String] = [:]
        for option in parts {
            guard let (key, value) = option.splitAtFirst("="), ["name", "mode", "owner"].contains(key), !value.isEmpty else {
                throw Self.bad(text, "unknown option '\(option)' (name=, and for unix: mode=, owner=)")
            }
            options[key] = value
        }
        if let name = options["name"] {
            // LISTEN_FDNAMES separates names with ":"; systemd allows at most 255 plain characters.
            guard name.utf8.count <= 255, name.unicodeScalars.allSatisfy({ $0.value > 32 && $0.value < 127 && $0 != ":" }) else {
                throw Self.bad(text, "name=\(name): at most 255 printable characters, no ':' or space")
            }
        }
        self.name = options["name"]
        switch scheme {
        case "unix":
            guard rest.isAbsolutePath, rest.utf8.count < 108, !rest.utf8.contains(0) else {
                throw Self.bad(text, "the path must be absolute and shorter than 108 bytes")
            }
            var mode: mode_t = 0o666
            if let text = options["mode"] {
                guard let value = mode_t(text, radix: 8), value <= 0o777 else { throw Self.bad(self.text, "mode=\(text) is not an octal mode like 0660") }
                mode = value
            }
            kind = .unix(path: rest, mode: mode, owner: options["owner"])
        case "tcp", "udp", "tcp6":
            guard options["mode"] == nil, options["owner"] == nil else { throw Self.bad(text, "mode= and owner= are for unix: sockets") }
            let ipv6 = scheme == "tcp6"
            guard let colon = rest.unicodeScalars.lastIndex(of: ":") else { throw Self.bad(text, "no port (\(scheme):HOST:PORT)") }
            var host = String(rest.unicodeScalars[..<colon])
            let portText = String(rest.unicodeScalars[rest.unicodeScalars.index(after: colon)...])
            guard let port = UInt16(portText), portText.allSatisfy(\.isASCII) else { throw Self.bad(text, "port '\(portText)' is not a number from 0 to 65535") }
            if ipv6 {
                guard host.begins(with: "["), host.hasSuffix("]") else { throw Self.bad(text, "an IPv6 address is written in brackets: tcp6:[::1]:\(port)") }
                host = String(host.unicodeScalars.dropFirst().dropLast())
            } else if host.contains(scalar: ":") {
                throw Self.bad(text, "an IPv6 address takes tcp6:[ADDR]:PORT")
            }
            if host == "*" { host = "" }
            kind = .internet(host: host.isEmpty ? nil : host, port: port, ipv6: ipv6, datagram: scheme == "udp")
        default:
            throw Self.bad(text, "unknown kind '\(scheme):' (tcp:, tcp6:, udp: or unix:)")
        }
    }

    private static func bad(_ text: String, _ reason: String) -> ConfigurationError {
        .badValue("listen", text, reason)
    }

    package var description: String { text }
}

extension ListenAddress {
    /// Binds every address in order, as the supervisor does before the first
    /// start (before any privilege is dropped: a `user` service can serve
    /// port 80). On a failure the sockets already bound are closed, and the
    /// error names the address and the errno: exit 4 for a permission, 1
    /// otherwise.
    package static func bindAll(_ addresses: [ListenAddress]) throws -> [ListeningSocket] {
        var bound: [ListeningSocket] = []
        for address in addresses {
            do {
                bound.append(try address.bind())
            } catch {
                for socket in bound { socket.close() }
                if let error = error as? ListenError { throw error }
                let system = error as? SystemError
                throw ListenError(address: address.text, reason: system.map { "\($0.operation): \($0.errno)" } ?? "\(error)", errno: system?.errno)
            }
        }
        return bound
    }

    func bind() throws -> ListeningSocket {
        switch kind {
        case .internet(let host, let port, let ipv6, let datagram):
            return try ListeningSocket.internet(host: host, port: port, ipv6: ipv6, datagram: datagram, label: text)
        case .unix(let path, let mode, let owner):
            let (uid, gid) = try ownerIDs(owner)
            return try ListeningSocket.unix(path: path, mode: mode, owner: uid, group: gid, label: text)
        }
    }

    /// `owner=USER[:GROUP]` as ids: nil for the part not given.
    private func ownerIDs(_ owner: String?) throws(ListenError) -> (uid_t?, gid_t?) {
        guard let owner else { return (nil, nil) }
        let (user, group) = owner.splitAtFirst(":").map { ($0.0, Optional($0.1)) } ?? (owner, nil)
        do {
            let credentials = try Credentials.lookup(user: user.isEmpty ? nil : user, group: group)
            return (user.isEmpty ? nil : credentials.uid, group == nil ? nil : credentials.gid)
        } catch {
            throw ListenError(address: text, reason: "owner=\(owner): \(error)", errno: nil)
        }
    }

    /// What can be known of a bind before it is made, without binding: a
    /// host name resolves; a unix socket's directory exists, nothing but a
    /// socket is at its path (anything else is never replaced), and its
    /// `owner=` exists. (A port or path someone holds is found only by the bind.)
    package func checkWithoutBinding() throws(ListenError) {
        func fail(_ reason: String, _ errno: Errno? = nil) -> ListenError { ListenError(address: text, reason: reason, errno: errno) }
        switch kind {
        case .internet(let host, let port, let ipv6, let datagram):
            do {
                try ListeningSocket.checkInternet(host: host, port: port, ipv6: ipv6, datagram: datagram, label: text)
            } catch {
                throw fail("\(host ?? "*") does not resolve to an \(ipv6 ? "IPv6" : "IPv4") address")
            }
        case .unix(let path, _, let owner):
            _ = try ownerIDs(owner)
            let directory = Path.directory(of: path)
            if let problem = FileSystem.directoryProblem(directory, inRoot: nil) {
                throw fail("directory \(directory): \(problem == .noSuchFile ? "no such directory" : problem.description)", problem)
            }
            // Anything but a socket there is never replaced: the bind would fail so.
            if let st = try? FileSystem.linkStatus(path), st.st_mode & S_IFMT != S_IFSOCK { throw fail("bind: \(Errno.exists)", .exists) }
        }
    }
}

/// An address the supervisor could not listen on, and why; its exit code
/// (`ExitCode.of`) follows the errno: 4 for a permission, 1 otherwise.
package struct ListenError: Error, CustomStringConvertible {
    package let address: String
    package let reason: String
    package let errno: Errno?

    package var description: String { "cannot listen on \(address): \(reason)" }
}
