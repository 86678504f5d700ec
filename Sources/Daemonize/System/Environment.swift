internal import Glibc

/// The process environment, as "NAME=VALUE" entries.
package enum Environment {
    /// The calling process's environment.
    package static func current() -> [String] {
        var result: [String] = []
        guard var pointer = environ as UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? else { return [] }
        while let entry = pointer.pointee {
            result.append(String(cString: entry))
            pointer += 1
        }
        return result
    }

    /// `entries` with `name` set to `value` (replacing any earlier setting),
    /// or removed when `value` is nil.
    package static func setting(_ name: String, to value: String?, in entries: [String]) -> [String] {
        let prefix = name + "="
        var result = entries.filter { !$0.hasPrefix(prefix) }
        if let value { result.append(prefix + value) }
        return result
    }

    /// The value of `name` in the calling process's environment.
    package static func value(_ name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        return String(cString: raw)
    }

    /// Sets `name` to `value` in the calling process's environment, or
    /// removes it when `value` is nil (`setenv`, `unsetenv`).
    package static func set(_ name: String, to value: String?) {
        if let value { setenv(name, value, 1) } else { unsetenv(name) }
    }
}
