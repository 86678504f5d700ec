internal import Glibc

/// Writing the service's log to a descriptor that may be full (swiftd run's
/// own output): what it does not take waits in a bounded backlog.
extension ServiceLog {
    /// Writes to a descriptor that may be full: what it does not take waits
    /// in the backlog (bounded; beyond it lines are dropped and counted).
    func writeToOutput(_ bytes: UnsafeRawBufferPointer) {
        guard backlog.isEmpty else {
            hold(bytes)
            return
        }
        var offset = 0
        if droppedSinceWarning > 0 {
            backlog = dropWarning()
            droppedSinceWarning = 0
            flushBacklog()
            if !backlog.isEmpty {
                hold(bytes)
                return
            }
        }
        while offset < bytes.count, let output {
            do {
                let n = try output.write(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
                if n == 0 { break }
                offset += n
            } catch let error as SystemError {
                drop(UnsafeRawBufferPointer(rebasing: bytes[offset...]), reason: error.errno)
                return
            } catch {
                return
            }
        }
        midLine = bytes[bytes.count - 1] != 10
        if offset < bytes.count { hold(UnsafeRawBufferPointer(rebasing: bytes[offset...])) }
    }

    func hold(_ bytes: UnsafeRawBufferPointer) {
        if backlog.count + bytes.count > ServiceLog.backlogLimit {
            drop(bytes, reason: .wouldBlock)
            return
        }
        backlog.append(contentsOf: bytes)
        midLine = bytes[bytes.count - 1] != 10
    }

    /// Writes what the backlog holds, as far as the descriptor takes it.
    func flushBacklog() {
        if case .syslog(let sink, _) = target { return sink.flush() }
        guard let output, !backlog.isEmpty else { return }
        var offset = 0
        while offset < backlog.count {
            let n = (try? backlog.withUnsafeBytes { try output.write(UnsafeRawBufferPointer(rebasing: $0[offset...])) }) ?? -1
            if n < 0 {
                // The reader is gone: what waited for it is lost.
                backlog.withUnsafeBytes { drop(UnsafeRawBufferPointer(rebasing: $0[offset...]), reason: .brokenPipe) }
                offset = backlog.count
            }
            if n <= 0 { break }
            offset += n
        }
        backlog.removeFirst(offset)
    }

    /// Before exiting: writes the backlog, waiting at most this long for room.
    func drainBacklog(timeoutMilliseconds: Int32) {
        let deadline = Monotonic.now() + Int64(timeoutMilliseconds) * 1_000_000
        while let blocked = blockedOn, Monotonic.now() < deadline {
            guard (try? blocked.waitWritable(timeoutMilliseconds: Monotonic.millisecondsUntil(deadline))) == true else { return }
            flushBacklog()
        }
    }
}
