import Logging
import SkiffAPI
import SkiffCore

/// client-go's event recorder: a core/v1 Event about an object, from a component
/// ("statefulset-controller"), named `<object>.<hex nanoseconds>` as upstream names them.
/// Events are best effort: one that cannot be written is logged and dropped.
public struct EventRecorder: Sendable {
    public let client: Client
    public let component: String
    let logger: Logger

    public init(client: Client, component: String) {
        self.client = client
        self.component = component
        logger = Logger(label: "skiff.events.\(component)")
    }

    public func normal(_ object: JSON, reason: String, message: String) async {
        await record(object, type: "Normal", reason: reason, message: message)
    }

    public func warning(_ object: JSON, reason: String, message: String) async {
        await record(object, type: "Warning", reason: reason, message: message)
    }

    public func record(_ object: JSON, type: String, reason: String, message: String) async {
        let now = Timestamp.now()
        let name = "\(object.name ?? "").\(String(UInt64(now.seconds) * 1_000_000_000 + UInt64(now.nanoseconds), radix: 16))"
        let event: JSON = [
            "apiVersion": "v1", "kind": "Event",
            "metadata": ["name": .string(name), "namespace": .string(object.namespace ?? "default")],
            "involvedObject": ["apiVersion": .string(object.apiVersion ?? ""), "kind": .string(object.kind ?? ""), "name": .string(object.name ?? ""),
                               "namespace": .string(object.namespace ?? ""), "uid": .string(object.uid ?? ""),
                               "resourceVersion": .string(object.resourceVersion ?? "")],
            "reason": .string(reason), "message": .string(message), "type": .string(type),
            "source": ["component": .string(component)], "reportingComponent": .string(component), "reportingInstance": "",
            "firstTimestamp": .string(now.rfc3339), "lastTimestamp": .string(now.rfc3339), "count": 1,
        ]
        do {
            try await client.create(.events, namespace: object.namespace ?? "default", event)
        } catch {
            logger.debug("event not recorded", metadata: ["reason": "\(reason)", "object": "\(objectKey(object))", "error": "\(error)"])
        }
    }
}
