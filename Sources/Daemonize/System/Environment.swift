internal import Glibc

/// The process environment, as "NAME=VALUE" entries: bytes, UTF-8 or not,
/// held as `String(platformBytes:)` holds them.
package enum Environment {
    /// The calling process's environment.
    package static func current() -> [String] {
        var result: [String] = []
        guard var pointer = environ as UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? else { return [] }
        while let entry = pointer.pointee {
            result.append(String(platformString: entry))
            pointer += 1
        }
        return result
    }

    /// `entries` with `name` set to `value` (replacing any earlier setting),
    /// or removed when `value` is nil.
    package static func setting(_ name: String, to value: String?, in entries: [String]) -> [String] {
        let prefix = name + "="
        var result = entries.filter { !$0.hasScalarPrefix(prefix) }
        if let value { result.append(prefix + value) }
        return result
    }

    /// The value of `name` in the calling process's environment.
    package static func value(_ name: String) -> String? {
        guard let raw = name.withPlatformString(getenv) else { return nil }
        return String(platformString: raw)
    }

    /// Sets `name` to `value` in the calling process's environment, or
    /// removes it when `value` is nil (`setenv`, `unsetenv`).
    package static func set(_ name: String, to value: String?) {
        name.withPlatformString { name in
            if let value { _ = value.withPlatformString { setenv(name, $0, 1) } } else { _ = unsetenv(name) }
        }
    }
}
