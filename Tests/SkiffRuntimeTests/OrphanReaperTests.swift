import CSkiffSys
import Foundation
import Testing
@testable import SkiffRuntime

@Suite struct OrphanReaperTests {
    /// A shell that leaves a short-lived child behind: as the agent, this process is a
    /// subreaper, so the child is adopted here and, once it exits, stays a zombie until
    /// someone waits for it.
    @Test func reapsAZombieAdoptedFromAnExitedParentOnTheSecondSweep() async throws {
        guard skiff_become_subreaper() == 0 else {
            print("SKIPPED OrphanReaperTests: cannot become a subreaper here")
            return
        }
        let shell = try await ChildProcess.run("/bin/sh", ["-c", "sleep 0.1 >/dev/null 2>&1 & echo $!"])
        let orphan = try #require(pid_t(shell.stdoutString.trimmingCharacters(in: .whitespacesAndNewlines)))
        func isZombieChild() -> Bool { OrphanReaper.zombieChildren().contains { $0.pid == orphan } }
        try await eventually { isZombieChild() }

        let reaper = OrphanReaper()
        #expect(!reaper.sweep().contains(orphan))  // first seen: it may yet be waited for
        #expect(isZombieChild())
        #expect(reaper.sweep().contains(orphan))
        #expect(!FileManager.default.fileExists(atPath: "/proc/\(orphan)"))
    }

    func eventually(_ condition: () -> Bool) async throws {
        for _ in 0..<100 where !condition() { try await Task.sleep(for: .milliseconds(50)) }
        #expect(condition())
    }
}
