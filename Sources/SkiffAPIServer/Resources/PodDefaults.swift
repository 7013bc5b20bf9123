import SkiffAPI
import SkiffCore

/// Upstream's defaulting for pod specs (SetDefaults_PodSpec, _Container, _Probe...),
/// applied to pods and to the pod templates of every workload kind.
enum PodDefaults {
    static func setDefault(_ o: inout JSON, _ key: String, _ value: JSON) {
        if o[key] == nil { o[key] = value }
    }

    static func apply(spec: inout JSON) {
        setDefault(&spec, "restartPolicy", "Always")
        setDefault(&spec, "dnsPolicy", "ClusterFirst")
        setDefault(&spec, "terminationGracePeriodSeconds", 30)
        setDefault(&spec, "schedulerName", "default-scheduler")
        setDefault(&spec, "securityContext", [:])
        setDefault(&spec, "enableServiceLinks", true)
        if spec["hostNetwork"]?.boolValue == true {
            // Host-network pods expose their container ports on the host.
            for key in ["containers", "initContainers"] {
                mapArray(&spec, key) { c in
                    mapArray(&c, "ports") { p in
                        if p["hostPort"] == nil, let cp = p["containerPort"] { p["hostPort"] = cp }
                    }
                }
            }
        }
        for key in ["containers", "initContainers", "ephemeralContainers"] {
            mapArray(&spec, key) { container(&$0) }
        }
        mapArray(&spec, "volumes") { volume(&$0) }
    }

    static func container(_ c: inout JSON) {
        if c["imagePullPolicy"] == nil, let image = c["image"]?.stringValue {
            c["imagePullPolicy"] = .string(pullPolicy(forImage: image))
        }
        setDefault(&c, "terminationMessagePath", "/dev/termination-log")
        setDefault(&c, "terminationMessagePolicy", "File")
        setDefault(&c, "resources", [:])
        // Requests default to limits where only limits are given.
        if let limits = c[path: ["resources", "limits"]]?.objectValue {
            var requests = c[path: ["resources", "requests"]]?.objectValue ?? JSONObject()
            for (k, v) in limits where requests[k] == nil { requests[k] = v }
            c[path: ["resources", "requests"]] = .object(requests)
        }
        mapArray(&c, "ports") { p in setDefault(&p, "protocol", "TCP") }
        mapArray(&c, "env") { e in
            if e[path: ["valueFrom", "fieldRef"]] != nil, e[path: ["valueFrom", "fieldRef", "apiVersion"]] == nil {
                e[path: ["valueFrom", "fieldRef", "apiVersion"]] = "v1"
            }
        }
        for probe in ["livenessProbe", "readinessProbe", "startupProbe"] where c[probe]?.isObject == true {
            var p = c[probe] ?? [:]
            setDefault(&p, "timeoutSeconds", 1)
            setDefault(&p, "periodSeconds", 10)
            setDefault(&p, "successThreshold", 1)
            setDefault(&p, "failureThreshold", 3)
            if p["httpGet"]?.isObject == true { p[path: ["httpGet", "scheme"]] = p[path: ["httpGet", "scheme"]] ?? "HTTP" }
            c[probe] = p
        }
    }

    static func volume(_ v: inout JSON) {
        if v.objectValue?.keys.count == 1, v["name"] != nil { v["emptyDir"] = [:] }
        if v["secret"]?.isObject == true, v[path: ["secret", "defaultMode"]] == nil { v[path: ["secret", "defaultMode"]] = 420 }
        if v["configMap"]?.isObject == true, v[path: ["configMap", "defaultMode"]] == nil { v[path: ["configMap", "defaultMode"]] = 420 }
        if v["projected"]?.isObject == true, v[path: ["projected", "defaultMode"]] == nil { v[path: ["projected", "defaultMode"]] = 420 }
        if v["hostPath"]?.isObject == true, v[path: ["hostPath", "type"]] == nil { v[path: ["hostPath", "type"]] = "" }
    }

    /// "Always" for `:latest` or untagged images, else "IfNotPresent".
    static func pullPolicy(forImage image: String) -> String {
        if image.contains("@") { return "IfNotPresent" }
        let lastPart = image.split(separator: "/").last.map(String.init) ?? image
        guard let colon = lastPart.lastIndex(of: ":") else { return "Always" }
        return lastPart[lastPart.index(after: colon)...] == "latest" ? "Always" : "IfNotPresent"
    }

    /// Applies `body` to each element of the array at `key`, when there is one.
    static func mapArray(_ o: inout JSON, _ key: String, _ body: (inout JSON) -> Void) {
        guard var arr = o[key]?.arrayValue else { return }
        for i in arr.indices { body(&arr[i]) }
        o[key] = .array(arr)
    }

    /// Defaults for a pod template at `path` (spec.template in workloads).
    static func apply(template o: inout JSON, at path: [String]) {
        guard var spec = o[path: path + ["spec"]], spec.isObject else { return }
        apply(spec: &spec)
        o[path: path + ["spec"]] = spec
    }

    /// The QoS class upstream computes from container requests and limits.
    static func qosClass(spec: JSON) -> String {
        let containers = (spec["containers"]?.arrayValue ?? []) + (spec["initContainers"]?.arrayValue ?? [])
        var anySet = false
        var guaranteed = true
        for c in containers {
            let requests = c[path: ["resources", "requests"]]?.objectValue ?? JSONObject()
            let limits = c[path: ["resources", "limits"]]?.objectValue ?? JSONObject()
            for r in ["cpu", "memory"] {
                let req = requests[r]?.stringValue.flatMap { try? Quantity(parsing: $0) }
                let lim = limits[r]?.stringValue.flatMap { try? Quantity(parsing: $0) }
                if let req, !req.isZero { anySet = true }
                if let lim, !lim.isZero { anySet = true }
                if lim == nil || (req != nil && req != lim) { guaranteed = false }
            }
        }
        if !anySet { return "BestEffort" }
        return guaranteed ? "Guaranteed" : "Burstable"
    }
}
