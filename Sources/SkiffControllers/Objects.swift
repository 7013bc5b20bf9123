import SkiffAPI
import SkiffClient
import SkiffCore

// What several controllers ask of objects: ownership and pod readiness.

func controllerRef(_ o: JSON) -> JSON? {
    o.ownerReferences.first { $0["controller"]?.boolValue == true }
}

/// The cache key ("namespace/name") of the `kind` controlling `o`, if one does: which
/// owner to sync when an object it controls changes.
func controllerKey(_ o: JSON, kind: String) -> String? {
    guard let ref = controllerRef(o), ref["kind"]?.stringValue == kind, let name = ref["name"]?.stringValue else { return nil }
    return "\(o.namespace ?? "")/\(name)"
}

func ownerReference(_ owner: JSON) -> JSON {
    ["apiVersion": .string(owner.apiVersion ?? ""), "kind": .string(owner.kind ?? ""), "name": .string(owner.name ?? ""),
     "uid": .string(owner.uid ?? ""), "controller": true, "blockOwnerDeletion": true]
}

/// Running or pending, and not being deleted: what counts toward replicas.
func isActive(_ pod: JSON) -> Bool {
    let phase = pod[path: ["status", "phase"]]?.stringValue
    return phase != "Succeeded" && phase != "Failed" && pod.deletionTimestamp == nil
}

func isReady(_ pod: JSON) -> Bool {
    readyCondition(pod)?["status"] == "True"
}

func readyCondition(_ pod: JSON) -> JSON? {
    pod[path: ["status", "conditions"]]?.arrayValue?.first { $0["type"] == "Ready" }
}

/// Ready for at least minReadySeconds.
func isAvailable(_ pod: JSON, minReadySeconds: Int64, now: Timestamp) -> Bool {
    guard isReady(pod) else { return false }
    if minReadySeconds == 0 { return true }
    guard let since = readyCondition(pod)?["lastTransitionTime"]?.stringValue.flatMap(Timestamp.init(rfc3339:)) else { return false }
    return since.adding(seconds: minReadySeconds) <= now
}

/// An IntOrString as a count: a number as is, "25%" as that share of `total`
/// (upstream's GetScaledValueFromIntOrPercent); nil when it is neither.
func scaledValue(_ v: JSON?, of total: Int64, roundUp: Bool) -> Int64? {
    if let n = v?.int64Value { return n }
    guard let s = v?.stringValue, s.hasSuffix("%"), let p = Int64(s.dropLast()) else { return nil }
    let x = p * total
    return roundUp ? (x + 99) / 100 : x / 100
}

/// Upstream's rand.SafeEncodeString: hashes spelled in an alphabet without vowels or
/// look-alike characters, so that a name suffix never spells a word.
func safeEncode(_ s: String) -> String {
    let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
    return String(s.utf8.map { alphabet[Int($0) % alphabet.count] })
}

/// `v` with every object's keys sorted, as Go's encoding/json writes maps: what hashes
/// and byte comparisons of templates are computed over.
func canonical(_ v: JSON) -> JSON {
    switch v {
    case .object(let o): .object(JSONObject(o.keys.sorted().map { ($0, canonical(o[$0] ?? .null)) }))
    case .array(let a): .array(a.map(canonical))
    default: v
    }
}

/// An error as upstream's events print it: a Status error's message.
func errorMessage(_ error: any Error) -> String {
    (error as? ClientError)?.message ?? "\(error)"
}
