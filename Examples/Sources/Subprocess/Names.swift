// A stand-in for swift-subprocess: its top-level names, for `clash`.
public struct Signal: Sendable { public var rawValue: CInt; public init(rawValue: CInt) { self.rawValue = rawValue } }
public struct Environment: Sendable { public static let inherit = Environment() }
public struct Executable: Sendable { public static func name(_ name: String) -> Executable { Executable() } }
public struct Arguments: Sendable { public init(_ words: [String]) {} }
public struct Configuration: Sendable { public init(_ executable: Executable) {} }
public struct TerminationStatus: Sendable {}
public struct ProcessIdentifier: Sendable { public var value: CInt }
public enum PlatformOptions {}
public struct Execution {}
