#if canImport(Glibc)
import Glibc
#endif
import Logging
import SkiffCore

/// What `kubectl logs` asks for, as the kubelet's PodLogOptions (stream selection aside).
public struct ContainerLogOptions: Sendable, Equatable {
    /// Only the last N lines (of all files, rotated ones included).
    public var tailLines: Int?
    /// Only lines logged at or after this time.
    public var sinceTime: Timestamp?
    /// Prefix each line with its RFC3339Nano timestamp.
    public var timestamps: Bool
    /// Stop after this many bytes of output.
    public var limitBytes: Int?
    /// Keep streaming new lines until the container has stopped and its log is drained.
    public var follow: Bool

    public init(tailLines: Int? = nil, sinceTime: Timestamp? = nil, timestamps: Bool = false, limitBytes: Int? = nil, follow: Bool = false) {
        self.tailLines = tailLines
        self.sinceTime = sinceTime
        self.timestamps = timestamps
        self.limitBytes = limitBytes
        self.follow = follow
    }
}

/// Reads one container attempt's CRI log — its rotated files in order, then the current
/// one — as the container wrote it: records decoded, partial lines joined.
public struct ContainerLogReader: Sendable {
    /// The current log file; rotated files are found beside it.
    public var path: String
    public var options: ContainerLogOptions
    /// Asked when following reaches the end of the log: false once the container has
    /// stopped and its output is all on disk (the log copier drained it); the reader then
    /// reads what is left and ends.
    public var isRunning: @Sendable () async -> Bool
    /// How often a follower looks for new lines once it has read everything.
    public var pollInterval: Duration

    public init(path: String, options: ContainerLogOptions, pollInterval: Duration = .milliseconds(100),
                isRunning: @escaping @Sendable () async -> Bool) {
        self.path = path
        self.options = options
        self.pollInterval = pollInterval
        self.isRunning = isRunning
    }

    /// The log as chunks of output bytes; ends at the end of the log (or, following, once
    /// the container stopped), or when `limitBytes` is reached.
    public func stream() -> AsyncThrowingStream<[UInt8], Error> {
        let cursor = LogCursor(self)
        return AsyncThrowingStream(unfolding: { try await cursor.next() })
    }
}

/// The reader's position in the log files, advanced by each pull of the stream.
private actor LogCursor {
    let reader: ContainerLogReader
    let logger = Logger(label: "skiff.runtime.logs")
    /// Rotated files oldest first, then the current file (always last).
    var files: [String] = []
    var fileIndex = 0
    var fd: Int32 = -1
    var startOffset: off_t = 0
    var started = false
    /// Bytes read that do not yet end in a newline.
    var buffer: [UInt8] = []
    /// Inside a line continued by P records; skipping it (before sinceTime).
    var inLine = false
    var skippingLine = false
    var emitted = 0
    var done = false
    /// Following: the current file was renamed away; read it to EOF, then open the new one.
    var rotatedAway = false
    /// Following: the container has stopped; one more read to EOF and the stream ends.
    var finalRead = false

    init(_ reader: ContainerLogReader) { self.reader = reader }

    deinit { if fd >= 0 { close(fd) } }

    func next() async throws -> [UInt8]? {
        if !started { start() }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while !done {
            if fd < 0, !openFile() {
                // A rotated file already removed: skip it. The current one not there yet:
                // as at its end.
                if fileIndex < files.count - 1 { fileIndex += 1; continue }
            }
            let n = fd < 0 ? 0 : chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw LogCopyError(operation: "read", path: files[fileIndex], errno: errno)
            }
            if n > 0 {
                buffer.append(contentsOf: chunk[0..<n])
                decode(into: &out)
                if out.count >= 32 * 1024 { return out }
                continue
            }
            // End of this file.
            if fileIndex < files.count - 1 {
                closeFile()
                fileIndex += 1
                continue
            }
            guard reader.options.follow else { break }
            if rotatedAway {
                closeFile()
                rotatedAway = false
                continue
            }
            if fd >= 0, wasRotated() {
                rotatedAway = true
                continue
            }
            if !out.isEmpty { return out }
            if finalRead { break }
            if await reader.isRunning() {
                try await Task.sleep(for: reader.pollInterval)
            } else {
                finalRead = true
            }
        }
        done = true
        closeFile()
        return out.isEmpty ? nil : out
    }

    private func start() {
        started = true
        files = ContainerLogFiles.rotated(of: reader.path) + [reader.path]
        if let tail = reader.options.tailLines { seekTail(tail) }
    }

    /// Positions the cursor at the start of the N-th last line: one pass over the files
    /// remembering where the last N lines began.
    private func seekTail(_ lines: Int) {
        // The last `lines` line starts, in a ring: `count` seen so far, the oldest at count % lines.
        var starts = [(file: Int, offset: off_t)](repeating: (0, 0), count: max(lines, 1))
        var count = 0
        var ends: (file: Int, offset: off_t) = (files.count - 1, 0)
        // A line continued by P records may go on in the next file.
        var lineStart = true
        for (index, path) in files.enumerated() {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var pending: [UInt8] = []
            var offset: off_t = 0
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                guard n > 0 else { break }
                pending.append(contentsOf: chunk[0..<n])
                var from = 0
                while let newline = pending[from...].firstIndex(of: UInt8(ascii: "\n")) {
                    if let record = CRILogFormat.parse(pending[from..<newline]) {
                        if lineStart, lines > 0 {
                            starts[count % lines] = (index, offset)
                            count += 1
                        }
                        lineStart = !record.partial
                    }
                    offset += off_t(newline + 1 - from)
                    from = newline + 1
                }
                pending.removeFirst(from)
            }
            ends = (index, offset)
        }
        let position: (file: Int, offset: off_t) = lines == 0 ? ends : (count > lines ? starts[count % lines] : (0, 0))
        fileIndex = position.file
        startOffset = position.offset
    }

    /// Opens files[fileIndex] (at the tail offset the first time); false if it is missing.
    private func openFile() -> Bool {
        let path = files[fileIndex]
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        if startOffset > 0 {
            lseek(fd, startOffset, SEEK_SET)
            startOffset = 0
        }
        return true
    }

    private func closeFile() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    /// Whether the log path now names another file than the one open (the copier rotated).
    private func wasRotated() -> Bool {
        var current = stat(), open = stat()
        guard stat(reader.path, &current) == 0, fstat(fd, &open) == 0 else { return false }
        return current.st_ino != open.st_ino || current.st_dev != open.st_dev
    }

    /// Turns the complete records in `buffer` into output.
    private func decode(into out: inout [UInt8]) {
        let options = reader.options
        var from = 0
        defer { buffer.removeFirst(from) }
        while !done, let newline = buffer[from...].firstIndex(of: UInt8(ascii: "\n")) {
            let line = buffer[from..<newline]
            from = newline + 1
            guard let record = CRILogFormat.parse(line) else {
                logger.warning("skipping a malformed log line", metadata: ["path": "\(files[fileIndex])"])
                continue
            }
            let startsLine = !inLine
            inLine = record.partial
            if startsLine { skippingLine = options.sinceTime.map { record.time < $0 } ?? false }
            if skippingLine { continue }
            var piece: [UInt8] = []
            if startsLine, options.timestamps { piece += Array(record.time.rfc3339Nano.utf8) + [UInt8(ascii: " ")] }
            piece += record.content
            if !record.partial { piece.append(UInt8(ascii: "\n")) }
            if let limit = options.limitBytes, emitted + piece.count >= limit {
                out += piece.prefix(limit - emitted)
                emitted = limit
                done = true
            } else {
                emitted += piece.count
                out += piece
            }
        }
    }
}
