#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import SkiffCore

/// Copies every container's stdout and stderr FIFOs into its CRI-format log file, rotating
/// the file by size as the kubelet's container log manager does.
///
/// One thread polls every FIFO of every container (hundreds of containers cost hundreds
/// of descriptors in one `poll`, not a task or thread each). The FIFOs are opened
/// O_RDONLY|O_NONBLOCK; EOF on both means every process holding the write ends has gone.
public final class ContainerLogCopier: @unchecked Sendable {
    /// Size-based rotation: the kubelet's containerLogMaxSize and containerLogMaxFiles.
    public struct Rotation: Sendable {
        /// The current file is rotated before a record would take it past this many bytes.
        public var maxSize: Int
        /// Files kept per container, the current one included.
        public var maxFiles: Int

        public init(maxSize: Int = 10 << 20, maxFiles: Int = 5) {
            self.maxSize = maxSize
            self.maxFiles = max(1, maxFiles)
        }
    }

    /// One FIFO being copied: its descriptor (-1 after EOF) and the start of a line whose
    /// newline has not arrived yet.
    private final class Stream {
        let name: String
        var fd: Int32
        var pending: [UInt8] = []

        init(name: String, fd: Int32) {
            self.name = name
            self.fd = fd
        }
    }

    /// One container's copy.
    private final class Copy {
        let containerID: String
        let logPath: String
        var logFD: Int32
        var size: Int
        var streams: [Stream]
        var waiters: [CheckedContinuation<Void, Never>] = []

        init(containerID: String, logPath: String, logFD: Int32, size: Int, streams: [Stream]) {
            self.containerID = containerID
            self.logPath = logPath
            self.logFD = logFD
            self.size = size
            self.streams = streams
        }
    }

    // All mutable state below is guarded by `lock`; the poll thread holds it while it
    // reads FIFOs and writes logs, never while it waits in poll().
    private let lock = NSLock()
    private var copies: [String: Copy] = [:]
    private var drainedIDs: Set<String> = []
    private var closed = false
    private var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)
    /// Attached clients by container, under a lock of their own: a subscription's end runs
    /// its termination handler at once, possibly where `lock` is held.
    private let subscribersLock = NSLock()
    private var subscribers: [String: [UUID: AsyncStream<(stream: String, bytes: [UInt8])>.Continuation]] = [:]

    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let rotation: Rotation
    private let now: @Sendable () -> Timestamp
    private let logger: Logger

    /// Starts the poll thread. `now` stamps the records (tests pass a fixed clock).
    public init(rotation: Rotation = Rotation(), now: @escaping @Sendable () -> Timestamp = { Timestamp.now() },
                logger: Logger = Logger(label: "skiff.runtime.logs")) throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw LogCopyError(operation: "pipe", path: "", errno: errno) }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        self.rotation = rotation
        self.now = now
        self.logger = logger
        let thread = Thread { [self] in pollLoop() }
        thread.name = "skiff-container-logs"
        thread.start()
    }

    /// Starts copying a container's output, appending to `logPath` (created with its
    /// directory). Idempotent: a container already being copied, or already drained, is left
    /// alone, so the agent may call it again after a restart for every running container.
    public func start(containerID: String, stdoutFIFO: String, stderrFIFO: String, logPath: String) throws {
        if isKnown(containerID) { return }
        var opened: [Int32] = []
        for fifo in [stdoutFIFO, stderrFIFO] {
            let fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
            guard fd >= 0 else {
                let e = LogCopyError(operation: "open", path: fifo, errno: errno)
                for fd in opened { close(fd) }
                throw e
            }
            opened.append(fd)
        }
        try begin(containerID: containerID, streams: [Stream(name: "stdout", fd: opened[0]), Stream(name: "stderr", fd: opened[1])],
                  logPath: logPath)
    }

    /// Starts copying a container's terminal (its master, which this takes over): one
    /// stream, recorded as stdout, that ends when the container's side closes.
    public func start(containerID: String, terminal: Int32, logPath: String) throws {
        _ = fcntl(terminal, F_SETFL, fcntl(terminal, F_GETFL) | O_NONBLOCK)
        _ = fcntl(terminal, F_SETFD, FD_CLOEXEC)
        try begin(containerID: containerID, streams: [Stream(name: "stdout", fd: terminal)], logPath: logPath)
    }

    private func begin(containerID: String, streams: [Stream], logPath: String) throws {
        let opened = streams.map(\.fd)
        do {
            try FileManager.default.createDirectory(atPath: (logPath as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
        } catch {
            for fd in opened { close(fd) }
            throw error
        }
        let logFD = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard logFD >= 0 else {
            let e = LogCopyError(operation: "open", path: logPath, errno: errno)
            for fd in opened { close(fd) }
            throw e
        }
        var st = stat()
        fstat(logFD, &st)
        let copy = Copy(containerID: containerID, logPath: logPath, logFD: logFD, size: Int(st.st_size), streams: streams)
        lock.lock()
        if copies[containerID] != nil || drainedIDs.contains(containerID) || closed {
            lock.unlock()
            for fd in opened + [logFD] { close(fd) }
            return
        }
        copies[containerID] = copy
        // A FIFO whose writers were all gone before we opened it never reports POLLHUP:
        // read once now, so such a container drains at once.
        for index in copy.streams.indices { pump(copy, index) }
        lock.unlock()
        wake()
    }

    /// The container's output as it is read from now on, raw (`kubectl attach` shows a
    /// prompt before its line ends); finishes when the container's output ends.
    public func subscribe(containerID: String) -> AsyncStream<(stream: String, bytes: [UInt8])> {
        let (stream, continuation) = AsyncStream.makeStream(of: (stream: String, bytes: [UInt8]).self)
        let id = UUID()
        // Under both locks (in the order the poll thread takes them): a copy that ends
        // meanwhile finishes this subscription too.
        let copying = lock.withLock {
            guard copies[containerID] != nil else { return false }
            subscribersLock.withLock { subscribers[containerID, default: [:]][id] = continuation }
            return true
        }
        guard copying else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            self.subscribersLock.withLock { _ = self.subscribers[containerID]?.removeValue(forKey: id) }
        }
        return stream
    }

    /// Returns once both of the container's FIFOs reached EOF and every byte is in the log
    /// file (at once for a container not being copied): the kubelet waits on it before it
    /// reports the container's exit, so `kubectl logs` of an exited container is complete.
    public func drained(containerID: String) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.lock()
            if let copy = copies[containerID] {
                copy.waiters.append(continuation)
                lock.unlock()
            } else {
                lock.unlock()
                continuation.resume()
            }
        }
    }

    /// Whether the container's output has been copied to the end (false while copying).
    public func isDrained(containerID: String) -> Bool {
        lock.withLock { copies[containerID] == nil }
    }

    /// Stops copying (what was read is written out) and forgets the container: call it when
    /// the container is removed.
    public func stop(containerID: String) {
        lock.lock()
        if let copy = copies[containerID] {
            for index in copy.streams.indices { endStream(copy, index) }
        }
        drainedIDs.remove(containerID)
        lock.unlock()
        wake()
    }

    /// Stops every copy and the poll thread (graceful shutdown of the agent; a restarted
    /// agent resumes with `start`).
    public func shutdown() {
        lock.lock()
        closed = true
        lock.unlock()
        wake()
    }

    private func isKnown(_ containerID: String) -> Bool {
        lock.withLock { copies[containerID] != nil || drainedIDs.contains(containerID) }
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    // MARK: The poll thread

    private func pollLoop() {
        var pollFDs: [pollfd] = []
        var owners: [(Copy, Int)] = []
        while true {
            pollFDs.removeAll(keepingCapacity: true)
            owners.removeAll(keepingCapacity: true)
            pollFDs.append(pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0))
            lock.lock()
            if closed {
                for copy in copies.values { finish(copy) }
                lock.unlock()
                close(wakeRead)
                close(wakeWrite)
                return
            }
            for copy in copies.values {
                for (index, stream) in copy.streams.enumerated() where stream.fd >= 0 {
                    pollFDs.append(pollfd(fd: stream.fd, events: Int16(POLLIN), revents: 0))
                    owners.append((copy, index))
                }
            }
            lock.unlock()
            let ready = poll(&pollFDs, nfds_t(pollFDs.count), -1)
            if ready < 0 {
                if errno != EINTR { logger.error("poll failed", metadata: ["errno": "\(errno)"]) }
                continue
            }
            if pollFDs[0].revents != 0 {
                var sink = [UInt8](repeating: 0, count: 64)
                while read(wakeRead, &sink, sink.count) > 0 {}
            }
            lock.lock()
            for (k, p) in pollFDs.dropFirst().enumerated() where p.revents != 0 {
                let (copy, index) = owners[k]
                // Skip a copy stopped, or a stream ended, since the poll set was made.
                guard copies[copy.containerID] === copy, copy.streams[index].fd == p.fd else { continue }
                pump(copy, index)
            }
            lock.unlock()
        }
    }

    /// Reads what a FIFO holds (a bounded amount, so one chatty container cannot starve the
    /// others) and writes it out as records. Called with the lock held.
    private func pump(_ copy: Copy, _ index: Int) {
        let stream = copy.streams[index]
        for _ in 0..<8 {
            guard stream.fd >= 0 else { return }
            let n = readBuffer.withUnsafeMutableBytes { read(stream.fd, $0.baseAddress, $0.count) }
            if n > 0 {
                accept(copy, stream, readBuffer[0..<n])
            } else if n == 0 {
                endStream(copy, index)
            } else if errno == EINTR {
                continue
            } else {
                if errno == EIO {
                    endStream(copy, index)  // a terminal whose container side has closed
                } else if errno != EAGAIN {
                    logger.error("reading container output failed", metadata: ["container": "\(copy.containerID)", "errno": "\(errno)"])
                    endStream(copy, index)
                }
                return
            }
        }
    }

    /// Splits new output into records: a full line as F; a line longer than
    /// `CRILogFormat.maxRecordContent` as P pieces followed by its F end.
    private func accept(_ copy: Copy, _ stream: Stream, _ bytes: ArraySlice<UInt8>) {
        for subscriber in subscribersLock.withLock({ Array((subscribers[copy.containerID] ?? [:]).values) }) {
            subscriber.yield((stream.name, Array(bytes)))
        }
        stream.pending.append(contentsOf: bytes)
        let time = now()
        let max = CRILogFormat.maxRecordContent
        var out: [UInt8] = []
        var start = 0
        let p = stream.pending
        while start < p.count {
            let window = p[start..<min(p.count, start + max)]
            if let newline = window.firstIndex(of: UInt8(ascii: "\n")) {
                emit(copy, &out, CRILogFormat.record(time: time, stream: stream.name, partial: false, content: p[start..<newline]))
                start = newline + 1
            } else if window.count == max {
                emit(copy, &out, CRILogFormat.record(time: time, stream: stream.name, partial: true, content: window))
                start += max
            } else {
                break
            }
        }
        stream.pending.removeFirst(start)
        writeLog(copy, out)
    }

    /// EOF (or stop) on one stream: its unterminated last line is written as a full one, as
    /// containerd does. The copy finishes when both streams have ended.
    private func endStream(_ copy: Copy, _ index: Int) {
        let stream = copy.streams[index]
        guard stream.fd >= 0 else { return }
        if !stream.pending.isEmpty {
            var out: [UInt8] = []
            emit(copy, &out, CRILogFormat.record(time: now(), stream: stream.name, partial: false, content: stream.pending[...]))
            writeLog(copy, out)
            stream.pending = []
        }
        close(stream.fd)
        stream.fd = -1
        if copy.streams.allSatisfy({ $0.fd < 0 }) {
            finish(copy)
            drainedIDs.insert(copy.containerID)
        }
    }

    /// Closes the copy's descriptors and wakes whoever waits for it to drain.
    private func finish(_ copy: Copy) {
        for stream in copy.streams where stream.fd >= 0 {
            close(stream.fd)
            stream.fd = -1
        }
        if copy.logFD >= 0 { close(copy.logFD) }
        copy.logFD = -1
        copies[copy.containerID] = nil
        for subscriber in subscribersLock.withLock({ subscribers.removeValue(forKey: copy.containerID) ?? [:] }).values {
            subscriber.finish()
        }
        for waiter in copy.waiters { waiter.resume() }
        copy.waiters = []
    }

    /// Adds a record to the batch for the log, first writing the batch out and rotating
    /// when the record would take the file past the size limit.
    private func emit(_ copy: Copy, _ out: inout [UInt8], _ record: [UInt8]) {
        let written = copy.size + out.count
        if written > 0, written + record.count > rotation.maxSize {
            writeLog(copy, out)
            out.removeAll(keepingCapacity: true)
            rotate(copy)
        }
        out += record
    }

    private func writeLog(_ copy: Copy, _ bytes: [UInt8]) {
        guard !bytes.isEmpty, copy.logFD >= 0 else { return }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(copy.logFD, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                logger.error("writing container log failed", metadata: ["path": "\(copy.logPath)", "errno": "\(errno)"])
                return
            }
            offset += n
        }
        copy.size += bytes.count
    }

    /// Renames the current file to `<path>.<YYYYMMDD-HHMMSS>` and starts a new one, then
    /// removes the oldest rotated files beyond the limit. A rotation within the second of
    /// the newest rotated file takes the next second, so the names sort in rotation order.
    private func rotate(_ copy: Copy) {
        let newest = ContainerLogFiles.rotated(of: copy.logPath).last ?? ""
        var seconds = now().seconds
        var rotated = copy.logPath + "." + Self.rotationSuffix(seconds)
        while rotated <= newest {
            seconds += 1
            rotated = copy.logPath + "." + Self.rotationSuffix(seconds)
        }
        guard rename(copy.logPath, rotated) == 0 else {
            logger.error("rotating container log failed", metadata: ["path": "\(copy.logPath)", "errno": "\(errno)"])
            return
        }
        close(copy.logFD)
        copy.logFD = open(copy.logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        copy.size = 0
        if copy.logFD < 0 {
            logger.error("reopening container log failed", metadata: ["path": "\(copy.logPath)", "errno": "\(errno)"])
        }
        for path in ContainerLogFiles.rotated(of: copy.logPath).dropLast(rotation.maxFiles - 1) where unlink(path) != 0 {
            logger.warning("removing rotated container log failed", metadata: ["path": "\(path)", "errno": "\(errno)"])
        }
    }

    static func rotationSuffix(_ seconds: Int64) -> String {
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(format: "%04d%02d%02d-%02d%02d%02d", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec)
    }
}

/// A system call of the log copier failed.
public struct LogCopyError: Error, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var errno: Int32

    public var description: String { "\(operation) \(path): \(String(cString: strerror(errno)))" }
}

/// The files of one container attempt's log: rotated ones, oldest first, then the current.
public enum ContainerLogFiles {
    /// The rotated files of `logPath` (`<logPath>.<YYYYMMDD-HHMMSS>`), oldest first.
    public static func rotated(of logPath: String) -> [String] {
        let dir = (logPath as NSString).deletingLastPathComponent
        let prefix = (logPath as NSString).lastPathComponent + "."
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { $0.hasPrefix(prefix) && !$0.hasSuffix(".tmp") }.sorted().map { dir + "/" + $0 }
    }
}
