internal import Glibc

/// Writing the service's log to a file: whole lines, rotation at the
/// file's size, and a file that was deleted or could not be written opened
/// again.
extension ServiceLog {
    /// Writes whole lines, rotating between lines when the file would pass
    /// its size; a line longer than the room left is cut, never let grow the
    /// file past its size.
    func write(_ bytes: UnsafeRawBufferPointer) {
        if output != nil {
            writeToOutput(bytes)
            return
        }
        guard ensureOpen(dropping: bytes) else { return }
        guard maxSize > 0 else {
            writeOut(bytes)
            return
        }
        var offset = 0
        while offset < bytes.count {
            let remaining = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            let room = Int(max(0, min(maxSize - size, Int64(remaining.count))))
            if remaining.count <= room {
                writeOut(remaining)
                return
            }
            // The last newline that still fits.
            var cut = room - 1
            while cut >= 0 && remaining[cut] != 10 { cut -= 1 }
            if cut >= 0 {
                writeOut(UnsafeRawBufferPointer(rebasing: remaining[...cut]))
                offset += cut + 1
            } else if size == 0 || (midLine && room > 0) {
                // A line longer than the room: as much as fits, the rest in the next file.
                writeOut(UnsafeRawBufferPointer(rebasing: remaining[..<max(room, 1)]))
                offset += max(room, 1)
            }
            rotate()
            guard fd != nil else {
                drop(UnsafeRawBufferPointer(rebasing: bytes[offset...]), reason: dropReason ?? .noSuchFile)
                return
            }
        }
    }

    func writeOut(_ bytes: UnsafeRawBufferPointer) {
        guard let fd, !bytes.isEmpty else { return }
        var ok: Bool
        if droppedSinceWarning > 0 {
            // The warning goes out with the next lines or not at all, so that
            // it is written once, when space has returned.
            var combined = dropWarning()
            combined.append(contentsOf: bytes)
            ok = combined.withUnsafeBytes { writeWhole($0, to: fd) }
            if ok { droppedSinceWarning = 0 }
        } else {
            ok = writeWhole(bytes, to: fd)
        }
        if ok {
            midLine = bytes[bytes.count - 1] != 10
        } else {
            drop(bytes, reason: dropReason ?? .noSpace)
        }
    }

    func dropWarning() -> [UInt8] {
        Array("swiftd: dropped \(droppedSinceWarning) line\(droppedSinceWarning == 1 ? "" : "s") (\(dropReason ?? .noSpace))\n".utf8)
    }

    /// Writes all of `bytes` to the log file or none: a write cut short (a
    /// full disk) is cut back off the file, so no torn line stays in the log.
    func writeWhole(_ bytes: UnsafeRawBufferPointer, to fd: FileDescriptor) -> Bool {
        var written = 0
        while written < bytes.count {
            do {
                let n = try fd.write(UnsafeRawBufferPointer(rebasing: bytes[written...]))
                if n > 0 { written += n; continue }
                dropReason = .noSpace
            } catch let error as SystemError {
                dropReason = error.errno
            } catch {}
            if written > 0 {
                if (try? fd.truncate(to: off_t(size))) != nil { return false }
                size += Int64(written)
                midLine = true
            }
            return false
        }
        size += Int64(written)
        return true
    }

    /// Makes sure a file target is open and still linked, reopening at once
    /// a file that was deleted (lines written into it would be lost) and at
    /// most once a second after a failure. False drops `bytes`.
    func ensureOpen(dropping bytes: UnsafeRawBufferPointer) -> Bool {
        guard let path else { return fd != nil }
        if let current = fd, let st = try? current.status(), st.st_nlink == 0 {
            current.close()
            fd = nil
            lastReopenAttempt = 0
        }
        let now = Monotonic.now()
        if fd == nil && now - lastReopenAttempt >= 1_000_000_000 {
            lastReopenAttempt = now
            do {
                // A log dir removed meanwhile is made again, and checked as at the start.
                let opened = try ServicePaths.openLog(path, creatingDirectory: true)
                fd = opened
                size = Int64((try? opened.status().st_size) ?? 0)
                midLine = false
            } catch let error as SystemError {
                dropReason = error.errno
            } catch {
                dropReason = .accessDenied
            }
        }
        if fd == nil {
            drop(bytes, reason: dropReason ?? .noSuchFile)
            return false
        }
        return true
    }

    /// NAME.log -> NAME.log.1 -> ... -> NAME.log.KEEP (the oldest removed), then a new NAME.log,
    /// all in the log dir opened and checked once for the rotation.
    func rotate() {
        guard let path else { return }
        fd?.close()
        fd = nil
        do {
            let directory = try ServicePaths.openLogDirectory(of: path)
            defer { directory.close() }
            let name = Path.fileName(of: path)
            if keep == 0 {
                try? directory.remove(name)
            } else {
                try? directory.remove("\(name).\(keep)")
                for i in stride(from: keep - 1, through: 1, by: -1) { try? directory.rename("\(name).\(i)", to: "\(name).\(i + 1)") }
                try? directory.rename(name, to: "\(name).1")
            }
            fd = try FileSystem.openLog(name, in: directory)
            size = 0
            midLine = false
        } catch let error as SystemError {
            dropReason = error.errno
            lastReopenAttempt = Monotonic.now()
        } catch {
            dropReason = .accessDenied
            lastReopenAttempt = Monotonic.now()
        }
    }

    /// Closes and reopens the log file (`swiftd reopen`, after an external
    /// logrotate), or connects to syslog again (after its daemon restarted).
    func reopen() {
        if case .syslog(let sink, _) = target { return sink.reconnect() }
        guard path != nil else { return }
        fd?.close()
        fd = nil
        lastReopenAttempt = 0
        let nothing = UnsafeRawBufferPointer(start: nil, count: 0)
        if !ensureOpen(dropping: nothing) { lastReopenAttempt = Monotonic.now() }
    }
}
