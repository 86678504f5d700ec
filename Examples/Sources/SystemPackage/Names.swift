// A stand-in for swift-system (no package dependencies here): its top-level
// names, so that `clash` proves a file can import it beside Daemonize.
public struct FileDescriptor: Sendable { public var rawValue: CInt; public init(rawValue: CInt) { self.rawValue = rawValue } }
public struct FilePath: Sendable { public var string: String; public init(_ string: String) { self.string = string } }
public struct FilePermissions: Sendable { public var rawValue: UInt16; public init(rawValue: UInt16) { self.rawValue = rawValue } }
public struct Errno: Error, Sendable { public var rawValue: CInt; public init(rawValue: CInt) { self.rawValue = rawValue } }
public enum CInterop {}
