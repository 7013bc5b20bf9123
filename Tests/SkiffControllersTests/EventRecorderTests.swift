import SkiffAPI
import SkiffClient
import SkiffCore
import Testing

@Suite struct EventRecorderTests {
    let pod: JSON = ["metadata": ["name": "p", "namespace": "default", "uid": "u1"]]

    func events(_ c: Cluster) async throws -> [JSON] {
        try await c.client.list(.events, namespace: "default").items.filter { $0[path: ["involvedObject", "name"]] == "p" }
    }

    @Test func repeatsRaiseTheCountAndSimilarEventsCombine() async throws {
        let c = try await Cluster.start()
        defer { c.stop() }
        let recorder = EventRecorder(client: c.client, component: "test")
        for _ in 0..<3 { recorder.event(pod, .pods, type: "Normal", reason: "Pulled", message: "same") }
        try await eventually("one event counted three times") {
            let all = try await events(c)
            return all.count == 1 && all.first?["count"] == 3 && all.first?["message"] == "same"
                && all.first?[path: ["involvedObject", "kind"]] == "Pod" && all.first?[path: ["source", "component"]] == "test"
        }
        // Ten or more messages for the same reason within ten minutes: one combined event.
        for i in 1...12 { recorder.event(pod, .pods, type: "Warning", reason: "BackOff", message: "try \(i)") }
        try await eventually("nine single events and one combined") {
            let backOff = try await events(c).filter { $0["reason"] == "BackOff" }
            let combined = backOff.filter { $0["message"]?.stringValue?.hasPrefix("(combined from similar events): ") == true }
            return backOff.count == 10 && combined.count == 1 && combined.first?["count"] == 3
                && combined.first?["message"] == "(combined from similar events): try 12"
        }
    }

    @Test func anObjectMayNotFloodTheAPI() async throws {
        let c = try await Cluster.start()
        defer { c.stop() }
        let recorder = EventRecorder(client: c.client, component: "test")
        for _ in 0..<40 { recorder.event(pod, .pods, type: "Normal", reason: "Spam", message: "again") }
        try await eventually("25 let through") { try await events(c).first?["count"] == 25 }
        try await Task.sleep(for: .milliseconds(100))
        #expect(try await events(c).first?["count"] == 25)
    }
}
