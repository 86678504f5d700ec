import Glibc
import Daemonize
import TestSupport
import Testing

/// A real service: python3 -m http.server on a free loopback port.
@Suite(.hangLimit) struct HTTPServerTests {
    /// GET / on 127.0.0.1:port; the response's first line, or nil.
    func get(_ port: UInt16) -> String? {
        Loopback.ask(port, "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
    }

    @Test(.requires(.python3))
    func pythonHTTPServerServesAndStops() throws {
        try withHarness("http") { h throws in
            let port = try Loopback.freePort()
            let start = try h.swiftd(["start", "web", "--chdir", h.scratch.path, "--", "/usr/bin/python3", "-m", "http.server", "\(port)", "--bind", "127.0.0.1"])
            #expect(start.code == 0, "\(start)")
            var first: String?
            #expect(eventually(timeout: 15) { first = get(port); return first != nil })
            #expect(first?.hasPrefix("HTTP/1.0 200") == true, "\(first ?? "no answer")")
            let stop = try h.swiftd(["stop", "web"])
            #expect(stop.code == 0, "\(stop)")
            #expect(get(port) == nil)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }
}
