import Logging
import SkiffAPI
import SkiffClient
import SkiffCore

/// Records core/v1 Events about an object, as client-go's event recorder does for a
/// controller: `kubectl describe` shows them. Failing to record is logged, never fatal.
struct EventRecorder: Sendable {
    let client: Client
    let component: String
    let now: @Sendable () -> Timestamp

    func event(_ r: Resource, _ object: JSON, type: String = "Normal", reason: String, message: String) async {
        let t = now()
        let name = "\(object.name ?? "").\(String(UInt64(max(0, t.seconds)) * 1_000_000_000 + UInt64(t.nanoseconds), radix: 16))"
        let event: JSON = [
            "apiVersion": "v1", "kind": "Event",
            "metadata": ["name": .string(name), "namespace": .string(object.namespace ?? "default")],
            "involvedObject": ["apiVersion": .string(r.apiVersion), "kind": .string(r.kind), "name": .string(object.name ?? ""),
                               "namespace": .string(object.namespace ?? ""), "uid": .string(object.uid ?? ""),
                               "resourceVersion": .string(object.resourceVersion ?? "")],
            "reason": .string(reason), "message": .string(message), "type": .string(type),
            "source": ["component": .string(component)], "reportingComponent": .string(component),
            "firstTimestamp": .string(t.rfc3339), "lastTimestamp": .string(t.rfc3339), "count": 1,
        ]
        do {
            try await client.create(.events, namespace: object.namespace, event)
        } catch {
            Logger(label: "skiff.controller.\(component)").debug("event not recorded", metadata: ["reason": "\(reason)", "error": "\(error)"])
        }
    }
}
