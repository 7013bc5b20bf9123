import CSkiffSys
import Foundation
import Glibc
import Synchronization

/// The agent is a subreaper, so a process orphaned anywhere below it becomes its child:
/// containers' init processes (which the ExitMonitor waits for) and whatever a runtime
/// leaves when it dies half-way. No one would wait for the latter, and each would stay a
/// zombie for the agent's lifetime. This reaps them: a child that has been a zombie for a
/// whole sweep period — everything the agent waits for itself is reaped within a second.
final class OrphanReaper: Sendable {
    /// Zombies seen by the last sweep, by pid and start time (a pid may be reused).
    private let seen = Mutex<Set<Zombie>>([])

    struct Zombie: Hashable {
        var pid: pid_t
        var startTime: UInt64
    }

    /// Reaps the zombies the previous sweep saw too; returns their pids.
    @discardableResult
    func sweep() -> [pid_t] {
        let now = Set(Self.zombieChildren())
        let stale = seen.withLock { seen in
            let stale = now.intersection(seen)
            seen = now.subtracting(stale)
            return stale
        }
        return stale.filter { skiff_try_reap($0.pid) >= 0 }.map(\.pid)
    }

    /// Sweeps every `period` until cancelled.
    func run(every period: Duration = .seconds(60)) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: period)
            sweep()
        }
    }

    /// This process's children, of any of its threads.
    static func children() -> [pid_t] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.flatMap { task in
            ((try? String(contentsOfFile: "/proc/self/task/\(task)/children", encoding: .utf8)) ?? "").split(separator: " ").compactMap { pid_t($0) }
        }
    }

    /// This process's children that have exited and not been waited for.
    static func zombieChildren() -> [Zombie] {
        children().compactMap { pid in
            // /proc/PID/stat: "pid (comm) state ppid … starttime (22nd field)"; comm may hold spaces.
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 19, fields[0] == "Z", let start = UInt64(fields[19]) else { return nil }
            return Zombie(pid: pid, startTime: start)
        }
    }
}
