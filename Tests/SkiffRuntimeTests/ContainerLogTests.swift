#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SkiffCore
import SkiffTestSupport
import Testing
@testable import SkiffRuntime

/// A container's two FIFOs, held open O_RDWR as the runtime hands them to the OCI runtime.
final class FakeContainerOutput {
    let dir: String
    let stdoutFIFO: String
    let stderrFIFO: String
    let logPath: String
    var stdoutFD: Int32
    var stderrFD: Int32

    init(dir: String) throws {
        self.dir = dir
        stdoutFIFO = dir + "/stdout"
        stderrFIFO = dir + "/stderr"
        logPath = dir + "/pods/default_p_uid/c/0.log"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        #expect(mkfifo(stdoutFIFO, 0o600) == 0)
        #expect(mkfifo(stderrFIFO, 0o600) == 0)
        stdoutFD = open(stdoutFIFO, O_RDWR | O_CLOEXEC)
        stderrFD = open(stderrFIFO, O_RDWR | O_CLOEXEC)
    }

    func write(_ s: String, stderr: Bool = false) { write(Array(s.utf8), stderr: stderr) }

    func write(_ bytes: [UInt8], stderr: Bool = false) {
        let fd = stderr ? stderrFD : stdoutFD
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            #expect(n > 0)
            if n <= 0 { return }
            offset += n
        }
    }

    /// The container's processes exit: no writer is left on either FIFO.
    func exit() {
        close(stdoutFD)
        close(stderrFD)
    }

    func start(_ copier: ContainerLogCopier, id: String = "c1") throws {
        try copier.start(containerID: id, stdoutFIFO: stdoutFIFO, stderrFIFO: stderrFIFO, logPath: logPath)
    }

    func records(_ path: String? = nil) throws -> [CRILogFormat.Record] {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path ?? logPath)))
        return bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast().map {
            let record = CRILogFormat.parse($0)
            #expect(record != nil, "not a CRI record: \(String(decoding: $0, as: UTF8.self))")
            return record ?? CRILogFormat.Record(time: Timestamp(seconds: 0), stream: "", partial: false, content: [])
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }
}

/// Fails instead of hanging when the copier never drains.
func drained(_ copier: ContainerLogCopier, _ id: String = "c1") async throws {
    try await withThrowingTaskGroup(of: Bool.self) { group in
        group.addTask { await copier.drained(containerID: id); return true }
        group.addTask { try await Task.sleep(for: .seconds(20)); return false }
        let finished = try await group.next() ?? false
        group.cancelAll()
        #expect(finished, "the copier did not drain \(id)")
    }
}

func collect(_ reader: ContainerLogReader) async throws -> String {
    var out: [UInt8] = []
    for try await chunk in reader.stream() { out += chunk }
    return String(decoding: out, as: UTF8.self)
}

@Suite struct ContainerLogCopierTests {
    static let fixed = Timestamp(seconds: 1_700_000_000, nanoseconds: 5)

    @Test func writesCRIRecordsAndDrainsAtEOF() async throws {
        let output = try FakeContainerOutput(dir: temporaryDirectory())
        let copier = try ContainerLogCopier(now: { Self.fixed })
        defer { copier.shutdown() }
        try output.start(copier)
        output.write("hello\nwor")
        output.write("oops\n", stderr: true)
        output.write("ld\nno newline at the end")
        #expect(!copier.isDrained(containerID: "c1"))
        output.exit()
        try await drained(copier)
        #expect(copier.isDrained(containerID: "c1"))

        let text = try String(contentsOfFile: output.logPath, encoding: .utf8)
        #expect(text.contains("2023-11-14T22:13:20.000000005Z stdout F hello\n"))
        #expect(text.contains("2023-11-14T22:13:20.000000005Z stderr F oops\n"))
        let records = try output.records()
        #expect(records.filter { $0.stream == "stdout" }.map { String(decoding: $0.content, as: UTF8.self) }
                == ["hello", "world", "no newline at the end"])
        #expect(records.allSatisfy { !$0.partial })
    }

    @Test func splitsLongLinesIntoPartialRecords() async throws {
        let output = try FakeContainerOutput(dir: temporaryDirectory())
        let copier = try ContainerLogCopier()
        defer { copier.shutdown() }
        try output.start(copier)
        let long = [UInt8](repeating: UInt8(ascii: "a"), count: 40_000)
        output.write(long + [UInt8(ascii: "\n")])
        output.write("short\n")
        output.exit()
        try await drained(copier)
        let records = try output.records()
        #expect(records.map(\.partial) == [true, true, false, false])
        #expect(records.map(\.content.count) == [16384, 16384, 40_000 - 2 * 16384, 5])
        let reader = ContainerLogReader(path: output.logPath, options: .init(), isRunning: { false })
        #expect(try await collect(reader) == String(repeating: "a", count: 40_000) + "\nshort\n")
    }

    @Test func aContainerThatExitedBeforeStartDrainsAtOnce() async throws {
        let output = try FakeContainerOutput(dir: temporaryDirectory())
        output.write("left in the pipe\n")
        // A reader keeps the buffered bytes alive while the writers go away.
        let keep = open(output.stdoutFIFO, O_RDONLY | O_NONBLOCK)
        let keepErr = open(output.stderrFIFO, O_RDONLY | O_NONBLOCK)
        output.exit()
        let copier = try ContainerLogCopier()
        defer { copier.shutdown() }
        try output.start(copier)
        close(keep)
        close(keepErr)
        try await drained(copier)
        #expect(try output.records().map { String(decoding: $0.content, as: UTF8.self) } == ["left in the pipe"])
    }

    @Test func startIsIdempotentAndResumesAfterARestart() async throws {
        let output = try FakeContainerOutput(dir: temporaryDirectory())
        let first = try ContainerLogCopier()
        try output.start(first)
        try output.start(first)
        output.write("one\n")
        for _ in 0..<200 where (try? output.records().count) != 1 { try await Task.sleep(for: .milliseconds(10)) }
        first.shutdown()
        // The agent is down: output waits in the pipe.
        output.write("two\n")
        let second = try ContainerLogCopier()
        defer { second.shutdown() }
        try output.start(second)
        output.write("three\n")
        output.exit()
        try await drained(second)
        #expect(try output.records().map { String(decoding: $0.content, as: UTF8.self) } == ["one", "two", "three"])
    }

    @Test func rotatesBySizeAndKeepsMaxFiles() async throws {
        let output = try FakeContainerOutput(dir: temporaryDirectory())
        // Each record is 31 + 1 + 6 + 3 + 9 + 1 = ~50 bytes: two records a file.
        let copier = try ContainerLogCopier(rotation: .init(maxSize: 110, maxFiles: 3), now: { Self.fixed })
        defer { copier.shutdown() }
        try output.start(copier)
        for i in 0..<10 { output.write("line \(String(format: "%03d", i))\n") }
        output.exit()
        try await drained(copier)
        let rotated = ContainerLogFiles.rotated(of: output.logPath)
        #expect(rotated.count == 2)
        #expect(rotated.first?.hasSuffix("0.log.20231114-221322") == true)
        for path in rotated + [output.logPath] {
            let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            #expect(size <= 110)
        }
        let reader = ContainerLogReader(path: output.logPath, options: .init(), isRunning: { false })
        let text = try await collect(reader)
        #expect(text.hasSuffix("line 009\n"))
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines == (10 - lines.count..<10).map { "line \(String(format: "%03d", $0))" })
        #expect(lines.count < 10)
    }
}

@Suite struct ContainerLogReaderTests {
    /// Writes a rotated file and a current one: lines "l0".."l5" one second apart from
    /// t0, "l2" split into P + F records.
    func makeLog() throws -> (String, Timestamp) {
        let dir = try temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let t0 = Timestamp(seconds: 1_700_000_000)
        func record(_ i: Int64, _ tag: String, _ content: String) -> String {
            "\(t0.adding(seconds: i).rfc3339Nano) stdout \(tag) \(content)\n"
        }
        let rotated = record(0, "F", "l0") + record(1, "F", "l1") + record(2, "P", "l2-") + "garbage\n"
        let current = record(2, "F", "end") + record(3, "F", "l3") + record(4, "F", "l4") + record(5, "F", "l5")
        try rotated.write(toFile: dir + "/0.log.20231114-221320", atomically: false, encoding: .utf8)
        try current.write(toFile: dir + "/0.log", atomically: false, encoding: .utf8)
        return (dir + "/0.log", t0)
    }

    func read(_ path: String, _ options: ContainerLogOptions) async throws -> String {
        try await collect(ContainerLogReader(path: path, options: options, isRunning: { false }))
    }

    @Test func readsRotatedThenCurrentJoiningPartialLines() async throws {
        let (path, _) = try makeLog()
        #expect(try await read(path, .init()) == "l0\nl1\nl2-end\nl3\nl4\nl5\n")
    }

    @Test func tailCountsWholeLinesAcrossFiles() async throws {
        let (path, _) = try makeLog()
        #expect(try await read(path, .init(tailLines: 4)) == "l2-end\nl3\nl4\nl5\n")
        #expect(try await read(path, .init(tailLines: 1)) == "l5\n")
        #expect(try await read(path, .init(tailLines: 0)) == "")
        #expect(try await read(path, .init(tailLines: 100)) == "l0\nl1\nl2-end\nl3\nl4\nl5\n")
    }

    @Test func sinceTimestampsAndLimitBytes() async throws {
        let (path, t0) = try makeLog()
        #expect(try await read(path, .init(sinceTime: t0.adding(seconds: 3))) == "l3\nl4\nl5\n")
        #expect(try await read(path, .init(tailLines: 1, timestamps: true)) == "2023-11-14T22:13:25.000000000Z l5\n")
        #expect(try await read(path, .init(sinceTime: t0.adding(seconds: 2), timestamps: true, limitBytes: 40))
                == "2023-11-14T22:13:22.000000000Z l2-end\n20")
        #expect(try await read(path, .init(limitBytes: 4)) == "l0\nl")
    }

    @Test func missingLogIsEmpty() async throws {
        #expect(try await read(try temporaryDirectory() + "/0.log", .init()) == "")
    }

    @Test func followStreamsAcrossRotationUntilTheContainerStops() async throws {
        let output = try FakeContainerOutput(dir: temporaryDirectory())
        let copier = try ContainerLogCopier(rotation: .init(maxSize: 300, maxFiles: 100))
        defer { copier.shutdown() }
        try output.start(copier)
        output.write("before\n")
        let reader = ContainerLogReader(path: output.logPath, options: .init(follow: true), pollInterval: .milliseconds(5),
                                        isRunning: { !copier.isDrained(containerID: "c1") })
        async let followed = collect(reader)
        for batch in 0..<10 {
            for i in 0..<5 { output.write("batch \(batch) line \(i)\n") }
            try await Task.sleep(for: .milliseconds(20))
        }
        output.exit()
        let text = try await followed
        let expected = ["before"] + (0..<10).flatMap { b in (0..<5).map { "batch \(b) line \($0)" } }
        #expect(text == expected.joined(separator: "\n") + "\n")
        #expect(ContainerLogFiles.rotated(of: output.logPath).count > 3)
    }

    @Test func parsesRecordsAndRejectsOthers() {
        let ok = CRILogFormat.parse(Array("2023-11-14T22:13:20.5+01:00 stderr P:x a b".utf8)[...])
        #expect(ok?.stream == "stderr")
        #expect(ok?.partial == true)
        #expect(ok.map { String(decoding: $0.content, as: UTF8.self) } == "a b")
        #expect(ok?.time == Timestamp(seconds: 1_699_996_400, nanoseconds: 500_000_000))
        #expect(CRILogFormat.parse(Array("2023-11-14T22:13:20Z stdout F ".utf8)[...])?.content.isEmpty == true)
        for bad in ["", "garbage", "2023-11-14T22:13:20Z stdin F x", "2023-11-14T22:13:20Z stdout X x", "yesterday stdout F x"] {
            #expect(CRILogFormat.parse(Array(bad.utf8)[...]) == nil, "\(bad)")
        }
    }
}
