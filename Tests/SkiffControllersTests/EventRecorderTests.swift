import SkiffAPI
import SkiffClient
@testable import SkiffControllers
import SkiffCore
import Testing

@Suite struct EventRecorderTests {
    @Test func aRepeatedEventBumpsTheCountOfTheFirst() async throws {
        let c = try await Cluster.start()
        defer { c.stop() }
        let job = try await c.client.create(.jobs, namespace: "default", jobJSON("noisy"))
        let recorder = EventRecorder(client: c.client, component: "job-controller", now: { Timestamp.now() })
        await recorder.event(.jobs, job, type: "Warning", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit")
        await recorder.event(.jobs, job, type: "Warning", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit")
        await recorder.event(.jobs, job, reason: "Completed", message: "Job completed")
        let events = try await c.client.list(.events, namespace: "default").items
        #expect(events.count == 2)
        let repeated = try #require(events.first { $0["reason"] == "BackoffLimitExceeded" })
        #expect(repeated["count"] == 2)
        #expect(repeated["type"] == "Warning")
        #expect(repeated[path: ["involvedObject", "kind"]] == "Job")
        #expect(repeated[path: ["involvedObject", "uid"]]?.stringValue == job.uid)
        #expect(repeated[path: ["source", "component"]] == "job-controller")
    }
}
