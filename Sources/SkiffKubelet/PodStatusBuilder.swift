import Foundation
import SkiffAPI
import SkiffCore
import SkiffRuntime

/// One container of the pod as the kubelet sees it: its spec, its newest and previous
/// runtime instances, and what the kubelet knows beyond the runtime (why it waits,
/// probe results).
struct ContainerView {
    var spec: JSON
    var latest: ContainerStatus?
    var previous: ContainerStatus?
    /// CrashLoopBackOff, ErrImagePull, ImagePullBackOff, CreateContainerConfigError, ...
    var waiting: (reason: String, message: String)?
    var ready = false
    var started = false

    var name: String { spec["name"]?.stringValue ?? "" }
    var running: Bool { latest?.state == .running }
    var succeeded: Bool { latest?.state == .exited && latest?.exitCode == 0 }
}

/// The pod's status as the kubelet reports it (generateAPIPodStatus): phase, the
/// kubelet-owned conditions, container statuses, IPs.
enum PodStatusBuilder {
    static func status(pod: JSON, hostIP: String, podIP: String?, sandboxReady: Bool, initContainers: [ContainerView],
                       containers: [ContainerView], runtimeName: String, now: Timestamp) -> JSON {
        let existing = pod["status"] ?? [:]
        let phase = phase(pod: pod, initContainers: initContainers, containers: containers)
        let terminal = phase == "Succeeded" || phase == "Failed"
        var status = JSONObject()
        status["phase"] = .string(phase)
        status["hostIP"] = .string(hostIP)
        status["hostIPs"] = [["ip": .string(hostIP)]]
        if let podIP {
            status["podIP"] = .string(podIP)
            status["podIPs"] = [["ip": .string(podIP)]]
        }
        status["startTime"] = existing["startTime"] ?? .string(now.rfc3339)
        if let qos = existing["qosClass"] { status["qosClass"] = qos }

        let initPending = initContainers.filter { !$0.succeeded }.map(\.name)
        let unready = containers.filter { !$0.ready }.map(\.name)
        func condition(_ type: String, _ ok: Bool, reason: String = "", message: String = "") -> JSON {
            let value = ok ? "True" : "False"
            let previous = existing["conditions"]?.arrayValue?.first { $0["type"]?.stringValue == type }
            var c: JSONObject = ["type": .string(type), "status": .string(value), "lastProbeTime": .null]
            c["lastTransitionTime"] = previous?["status"]?.stringValue == value ? (previous?["lastTransitionTime"] ?? .string(now.rfc3339)) : .string(now.rfc3339)
            if !ok && !reason.isEmpty {
                c["reason"] = .string(reason)
                if !message.isEmpty { c["message"] = .string(message) }
            }
            return .object(c)
        }
        let notReadyReason = terminal ? "PodCompleted" : "ContainersNotReady"
        let notReadyMessage = terminal ? "" : "containers with unready status: [\(unready.joined(separator: " "))]"
        status["conditions"] = [
            condition("PodReadyToStartContainers", sandboxReady && !terminal),
            condition("Initialized", initPending.isEmpty, reason: "ContainersNotInitialized",
                      message: "containers with incomplete status: [\(initPending.joined(separator: " "))]"),
            condition("Ready", unready.isEmpty && !terminal, reason: notReadyReason, message: notReadyMessage),
            condition("ContainersReady", unready.isEmpty && !terminal, reason: notReadyReason, message: notReadyMessage),
        ]
        if !initContainers.isEmpty {
            status["initContainerStatuses"] = .array(initContainers.map { containerStatus($0, runtimeName: runtimeName, defaultWaiting: "PodInitializing") })
        }
        let waitingReason = initPending.isEmpty ? "ContainerCreating" : "PodInitializing"
        status["containerStatuses"] = .array(containers.map { containerStatus($0, runtimeName: runtimeName, defaultWaiting: waitingReason) })
        return .object(status)
    }

    /// Upstream's getPhase: Pending until every container has started once, Running while
    /// any runs or will restart, then Succeeded or Failed.
    static func phase(pod: JSON, initContainers: [ContainerView], containers: [ContainerView]) -> String {
        let policy = pod[path: ["spec", "restartPolicy"]]?.stringValue ?? "Always"
        if policy == "Never", initContainers.contains(where: { $0.latest?.state == .exited && $0.latest?.exitCode != 0 }) {
            return "Failed"
        }
        if initContainers.contains(where: { !$0.succeeded }) { return "Pending" }
        var running = 0, waiting = 0, stopped = 0, succeeded = 0
        for c in containers {
            switch c.latest?.state {
            case .running?: running += 1
            case .exited?:
                stopped += 1
                if c.latest?.exitCode == 0 { succeeded += 1 }
            default: waiting += 1
            }
        }
        if waiting > 0 { return "Pending" }
        if running > 0 { return "Running" }
        if stopped > 0 {
            switch policy {
            case "Always": return "Running"
            case "OnFailure": return succeeded == stopped ? "Succeeded" : "Running"
            default: return succeeded == stopped ? "Succeeded" : "Failed"
            }
        }
        return "Pending"
    }

    static func terminated(_ s: ContainerStatus, runtimeName: String) -> JSON {
        var t: JSONObject = ["exitCode": .number(JSONNumber(Int(s.exitCode))), "reason": .string(s.reason)]
        if !s.message.isEmpty { t["message"] = .string(s.message) }
        t["startedAt"] = .string(Timestamp(s.startedAt ?? s.createdAt).rfc3339)
        t["finishedAt"] = .string(Timestamp(s.finishedAt ?? s.createdAt).rfc3339)
        t["containerID"] = .string("\(runtimeName)://\(s.id)")
        return ["terminated": .object(t)]
    }

    static func containerStatus(_ v: ContainerView, runtimeName: String, defaultWaiting: String) -> JSON {
        var s: JSONObject = ["name": .string(v.name), "image": v.spec["image"] ?? "", "imageID": .string(v.latest?.imageRef ?? ""),
                             "restartCount": .number(JSONNumber(v.latest?.attempt ?? 0)), "ready": .bool(v.ready), "started": .bool(v.started)]
        if let latest = v.latest { s["containerID"] = .string("\(runtimeName)://\(latest.id)") }
        var last: ContainerStatus?
        if let waiting = v.waiting, v.latest == nil || v.latest?.state == .exited {
            s["state"] = ["waiting": ["reason": .string(waiting.reason), "message": .string(waiting.message)]]
            last = v.latest
        } else if let latest = v.latest, latest.state == .running {
            s["state"] = ["running": ["startedAt": .string(Timestamp(latest.startedAt ?? latest.createdAt).rfc3339)]]
            last = v.previous
        } else if let latest = v.latest, latest.state == .exited {
            s["state"] = terminated(latest, runtimeName: runtimeName)
            last = v.previous
        } else {
            s["state"] = ["waiting": ["reason": .string(defaultWaiting)]]
            last = v.previous
        }
        s["lastState"] = last.map { terminated($0, runtimeName: runtimeName) } ?? [:]
        return .object(s)
    }
}

extension Timestamp {
    init(_ date: Date) {
        self.init(seconds: Int64(date.timeIntervalSince1970.rounded(.down)))
    }
}
