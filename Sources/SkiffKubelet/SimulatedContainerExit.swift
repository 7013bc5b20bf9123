import SkiffAPI
import SkiffClient
import SkiffCore

/// Simulation only: kwok-style annotations that let a pod on a simulated node finish, so
/// Jobs can run there. Without them a simulated pod runs forever.
///
/// - `sim.skiff.dev/exit-code`: the code every container of the pod exits with.
/// - `sim.skiff.dev/run-seconds`: how long the containers run first (default 0).
///
/// Then, as the kubelet: restartPolicy Never (or OnFailure and exit code 0) ends the pod
/// Succeeded (0) or Failed, containers terminated with reason Completed or Error;
/// restartPolicy Always, or OnFailure with a non-zero code, restarts the containers
/// (restartCount + 1) after a short back-off in CrashLoopBackOff (1 s doubling, at most
/// 10 s — the kubelet's is 10 s doubling to 5 min).
enum SimulatedContainerExit {
    static let exitCodeAnnotation = "sim.skiff.dev/exit-code"
    static let runSecondsAnnotation = "sim.skiff.dev/run-seconds"
    static let maxBackoffSeconds: Int64 = 10

    /// The pod's next status and when it is due, or nil when the pod runs forever or
    /// has finished; `now` decides whether the step is due yet.
    static func next(_ pod: JSON, now t: Timestamp) -> (status: JSON?, recheck: Duration?)? {
        guard let code = pod.annotations[exitCodeAnnotation].flatMap({ Int64($0) }),
              pod[path: ["status", "phase"]]?.stringValue == "Running",
              var containers = pod[path: ["status", "containerStatuses"]]?.arrayValue, let first = containers.first else { return nil }
        let runSeconds = Int64(pod.annotations[runSecondsAnnotation] ?? "0") ?? 0
        var status = pod["status"] ?? [:]
        if let started = first[path: ["state", "running", "startedAt"]]?.stringValue.flatMap(Timestamp.init(rfc3339:)) {
            let due = started.adding(seconds: runSeconds)
            if t < due { return (nil, wait(until: due, now: t)) }
            let policy = pod[path: ["spec", "restartPolicy"]]?.stringValue ?? "Always"
            let restarts = policy == "Always" || (policy == "OnFailure" && code != 0)
            for i in containers.indices {
                let terminated: JSON = ["exitCode": .number(JSONNumber(code)), "reason": code == 0 ? "Completed" : "Error",
                                        "startedAt": containers[i][path: ["state", "running", "startedAt"]] ?? .string(t.rfc3339),
                                        "finishedAt": .string(t.rfc3339), "containerID": containers[i]["containerID"] ?? ""]
                containers[i]["ready"] = false
                containers[i]["started"] = false
                if restarts {
                    let count = (containers[i]["restartCount"]?.int64Value ?? 0) + 1
                    containers[i]["restartCount"] = .number(JSONNumber(count))
                    containers[i]["lastState"] = ["terminated": terminated]
                    let name = containers[i]["name"]?.stringValue ?? ""
                    containers[i]["state"] = ["waiting": ["reason": "CrashLoopBackOff",
                                                          "message": .string("back-off \(backoff(count))s restarting failed container=\(name) pod=\(pod.name ?? "")_\(pod.namespace ?? "")(\(pod.uid ?? ""))")]]
                } else {
                    containers[i]["state"] = ["terminated": terminated]
                }
            }
            status["containerStatuses"] = .array(containers)
            if restarts {
                let names = containers.compactMap { $0["name"]?.stringValue }.joined(separator: " ")
                setReady(&status, false, reason: "ContainersNotReady", message: "containers with unready status: [\(names)]", now: t)
                return (status, .seconds(backoff((first["restartCount"]?.int64Value ?? 0) + 1)))
            }
            status["phase"] = code == 0 ? "Succeeded" : "Failed"
            setReady(&status, false, reason: code == 0 ? "PodCompleted" : "PodFailed", message: nil, now: t)
            return (status, nil)
        }
        // In back-off: the containers start again once it has passed.
        guard first[path: ["state", "waiting", "reason"]] == "CrashLoopBackOff",
              let finished = first[path: ["lastState", "terminated", "finishedAt"]]?.stringValue.flatMap(Timestamp.init(rfc3339:)) else { return nil }
        let due = finished.adding(seconds: backoff(first["restartCount"]?.int64Value ?? 1))
        if t < due { return (nil, wait(until: due, now: t)) }
        for i in containers.indices {
            containers[i]["state"] = ["running": ["startedAt": .string(t.rfc3339)]]
            containers[i]["ready"] = true
            containers[i]["started"] = true
        }
        status["containerStatuses"] = .array(containers)
        setReady(&status, true, reason: nil, message: nil, now: t)
        return (status, nil)
    }

    /// The status of a pod being deleted whose containers still ran: the kubelet stops
    /// them and reports a terminal phase before the pod goes (what a Job's tracking
    /// finalizer waits for).
    static func stopped(_ pod: JSON, now t: Timestamp) -> JSON? {
        let phase = pod[path: ["status", "phase"]]?.stringValue
        guard phase != "Succeeded", phase != "Failed" else { return nil }
        var status = pod["status"] ?? [:]
        var containers = status["containerStatuses"]?.arrayValue ?? []
        for i in containers.indices {
            containers[i]["state"] = ["terminated": ["exitCode": 137, "reason": "Error", "finishedAt": .string(t.rfc3339),
                                                     "startedAt": containers[i][path: ["state", "running", "startedAt"]] ?? .string(t.rfc3339),
                                                     "containerID": containers[i]["containerID"] ?? ""]]
            containers[i]["ready"] = false
            containers[i]["started"] = false
        }
        if !containers.isEmpty { status["containerStatuses"] = .array(containers) }
        status["phase"] = "Failed"
        setReady(&status, false, reason: "PodFailed", message: nil, now: t)
        return status
    }

    static func backoff(_ restartCount: Int64) -> Int64 {
        min(maxBackoffSeconds, Int64(1) << min(max(0, restartCount - 1), 4))
    }

    static func wait(until due: Timestamp, now t: Timestamp) -> Duration {
        .seconds(due.seconds - t.seconds) - .nanoseconds(Int64(t.nanoseconds)) + .milliseconds(10)
    }

    static func setReady(_ status: inout JSON, _ ready: Bool, reason: String?, message: String?, now t: Timestamp) {
        guard var conditions = status["conditions"]?.arrayValue else { return }
        for i in conditions.indices where ["Ready", "ContainersReady"].contains(conditions[i]["type"]?.stringValue ?? "") {
            guard (conditions[i]["status"]?.stringValue == "True") != ready else { continue }
            conditions[i]["status"] = ready ? "True" : "False"
            conditions[i]["lastTransitionTime"] = .string(t.rfc3339)
            conditions[i]["reason"] = reason.map { .string($0) }
            conditions[i]["message"] = message.map { .string($0) }
        }
        status["conditions"] = .array(conditions)
    }
}
