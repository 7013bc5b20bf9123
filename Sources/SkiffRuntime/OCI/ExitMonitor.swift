import CSkiffSys
import Foundation
import Glibc
import Synchronization

/// Watches containers' init processes and reports each exit once, with its wait status
/// when the process is our child (we are the subreaper), nil when it is not (a container
/// adopted after an agent restart: its exit code went to its new parent).
///
/// One thread polls every pidfd: no thread or task per container.
public final class ExitMonitor: Sendable {
    public typealias Handler = @Sendable (_ status: Int32?) -> Void

    struct Watch {
        var pid: pid_t
        var handler: Handler
    }

    private let state = Mutex<[Int32: Watch]>([:])
    private let wakeFD: Int32

    public init() {
        wakeFD = skiff_eventfd()
        Thread.detachNewThread { [self] in loop() }
    }

    /// Calls `handler` once when `pid` exits (at once if it already has).
    public func watch(pid: pid_t, handler: @escaping Handler) {
        let fd = skiff_pidfd_open(pid)
        if fd < 0 {
            // Gone already (ESRCH): if it was our child its status is still waiting.
            let status = skiff_try_reap(pid)
            handler(status >= 0 ? status : nil)
            return
        }
        state.withLock { $0[fd] = Watch(pid: pid, handler: handler) }
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    private func loop() {
        while true {
            var fds = [pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
            fds += state.withLock { $0.keys.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) } }
            if poll(&fds, nfds_t(fds.count), -1) < 0 { continue }
            for p in fds where p.revents != 0 {
                if p.fd == wakeFD {
                    var buf: UInt64 = 0
                    _ = read(wakeFD, &buf, 8)
                    continue
                }
                guard let watch = state.withLock({ $0.removeValue(forKey: p.fd) }) else { continue }
                close(p.fd)
                let status = skiff_try_reap(watch.pid)
                watch.handler(status >= 0 ? status : nil)
            }
        }
    }
}
