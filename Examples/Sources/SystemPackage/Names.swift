// A stand-in for swift-system (no package dependencies here): its top-level
// names, so that `clash` proves a file can import it beside Daemonize.
public struct FileDescriptor: Sendable { public var rawValue: CInt; public init(rawValue: CInt) { self.rawValue = rawValue } }
public struct FilePath: Sendable { public var string: String; public init(_ string: String) { self.string = string } }
public struct FilePermissions: Sendable { public var rawValue: UInt16; public init(rawValue: UInt16) { self.rawValue = rawValue } }
public struct Errno: Error, Sendable, Equatable {
    public var rawValue: CInt
    public init(rawValue: CInt) { self.rawValue = rawValue }
    // Some of swift-system's names, and its pattern match (Sources/System/Errno.swift, 1.8.1).
    public static var noSuchFileOrDirectory: Errno { Errno(rawValue: 2) }
    public static var notPermitted: Errno { Errno(rawValue: 1) }
    public static var wouldBlock: Errno { Errno(rawValue: 11) }
    public static func ~= (_ lhs: Errno, _ rhs: Error) -> Bool {
        guard let value = rhs as? Errno else { return false }
        return lhs == value
    }
}
public enum CInterop {}
