import Foundation
import Glibc

/// Temporary until the CRI log copier lands: copies raw FIFO output to the log path.
public actor ContainerLogCopier {
    var done: [String: Bool] = [:]
    var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]
    public init() {}

    public func start(containerID: String, stdoutFIFO: String, stderrFIFO: String, logPath: String) throws {
        done[containerID] = false
        let out = open(stdoutFIFO, O_RDONLY | O_NONBLOCK), err = open(stderrFIFO, O_RDONLY | O_NONBLOCK)
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = open(logPath, O_WRONLY | O_APPEND)
        Thread.detachNewThread { [self] in
            var open: Set<Int32> = [out, err]
            var buf = [UInt8](repeating: 0, count: 65536)
            while !open.isEmpty {
                var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
                _ = poll(&fds, nfds_t(fds.count), -1)
                for p in fds where p.revents != 0 {
                    let n = buf.withUnsafeMutableBytes { read(p.fd, $0.baseAddress, $0.count) }
                    if n > 0 { _ = buf.withUnsafeBytes { write(log, $0.baseAddress, n) } } else if n == 0 || errno != EAGAIN { close(p.fd); open.remove(p.fd) }
                }
            }
            close(log)
            Task { await self.finish(containerID) }
        }
    }

    func finish(_ id: String) {
        done[id] = true
        for w in waiters.removeValue(forKey: id) ?? [] { w.resume() }
    }

    public func drained(containerID: String) async {
        if done[containerID] ?? true { return }
        await withCheckedContinuation { waiters[containerID, default: []].append($0) }
    }
}
