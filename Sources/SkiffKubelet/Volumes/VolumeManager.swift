import Foundation
import Logging
import SkiffAPI
import SkiffClient
import SkiffCore
#if canImport(Glibc)
import Glibc
#endif

extension Resource {
    static let configMaps = Resource(group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true)
    static let secrets = Resource(group: "", version: "v1", plural: "secrets", kind: "Secret", namespaced: true)
}

/// A pod's volumes on this node, as containers' mounts need them.
public struct PodVolumes: Sendable, Equatable {
    /// Volume name → the host path containers bind-mount.
    public var hostPaths: [String: String]
    /// Volumes mounted read-only whatever the volumeMount says (configMap, secret,
    /// downwardAPI, projected), as upstream's plugins declare them.
    public var readOnly: Set<String>

    public init(hostPaths: [String: String] = [:], readOnly: Set<String> = []) {
        self.hostPaths = hostPaths
        self.readOnly = readOnly
    }

    public subscript(name: String) -> String? { hostPaths[name] }
}

/// A volume could not be set up or torn down; `description` is upstream's message, which the
/// kubelet puts in a FailedMount event before retrying.
public struct VolumeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// "MountVolume.SetUp" or "UnmountVolume.TearDown".
    public var operation: String
    public var volume: String
    public var message: String

    public init(operation: String = "MountVolume.SetUp", volume: String, message: String) {
        self.operation = operation
        self.volume = volume
        self.message = message
    }

    public var description: String { "\(operation) failed for volume \"\(volume)\" : \(message)" }
}

/// The kubelet's volume manager for the pods of this node: sets up emptyDir, hostPath,
/// configMap, secret, downwardAPI and projected volumes under
/// `<podsDirectory>/<uid>/volumes/kubernetes.io~<plugin>/<name>`, keeps the API-backed ones
/// current, and removes everything when the pod is gone.
///
/// emptyDir's `sizeLimit` is not enforced for disk-backed volumes (upstream evicts the pod
/// when it is exceeded; Skiff has no eviction manager yet); for medium Memory it is the
/// tmpfs size.
public actor VolumeManager {
    let podsDirectory: String
    let client: Client
    let logger: Logger
    let nodeAllocatable: [String: Quantity]
    let cacheTTL: Duration
    private var cache: [String: (object: JSON?, fetched: ContinuousClock.Instant)] = [:]
    private var tokens: [String: (token: String, refreshAt: ContinuousClock.Instant)] = [:]

    /// `nodeAllocatable` sizes memory-backed emptyDirs without a sizeLimit and stands in for
    /// unset limits in the downward API; `cacheTTL` is how long a fetched ConfigMap or Secret
    /// is reused.
    public init(podsDirectory: String, client: Client, logger: Logger, nodeAllocatable: [String: Quantity] = [:],
                cacheTTL: Duration = .seconds(2)) {
        self.podsDirectory = podsDirectory
        self.client = client
        self.logger = logger
        self.nodeAllocatable = nodeAllocatable
        self.cacheTTL = cacheTTL
    }

    // MARK: Set up and refresh

    /// Sets up every volume of the pod (idempotent: the kubelet calls it on each sync until it
    /// succeeds); throws the first volume's failure.
    public func setUp(pod: JSON) async throws(VolumeError) -> PodVolumes {
        var result = PodVolumes()
        for volume in pod[path: ["spec", "volumes"]]?.arrayValue ?? [] {
            let name = volume["name"]?.stringValue ?? ""
            do {
                let (path, readOnly) = try await setUpVolume(volume, name: name, pod: pod)
                result.hostPaths[name] = path
                if readOnly { result.readOnly.insert(name) }
            } catch let e as VolumeError {
                throw e
            } catch {
                throw VolumeError(volume: name, message: Self.message(error))
            }
        }
        return result
    }

    /// Rewrites the pod's configMap, secret, downwardAPI and projected volumes whose sources
    /// changed (and renews expiring tokens); returns the failures, which it also logs.
    @discardableResult
    public func refresh(pod: JSON) async -> [VolumeError] {
        var failures: [VolumeError] = []
        for volume in pod[path: ["spec", "volumes"]]?.arrayValue ?? [] {
            let name = volume["name"]?.stringValue ?? ""
            guard Self.writtenPlugin(volume) != nil else { continue }
            do {
                _ = try await setUpVolume(volume, name: name, pod: pod)
            } catch {
                let e = error as? VolumeError ?? VolumeError(volume: name, message: Self.message(error))
                logger.warning("volume refresh failed", metadata: ["pod": "\(pod.namespace ?? "")/\(pod.name ?? "")", "error": "\(e)"])
                failures.append(e)
            }
        }
        return failures
    }

    /// A ConfigMap or Secret through the cache (nil if it does not exist); also the `lookup`
    /// the kubelet passes to `EnvVars.resolve`.
    public func object(kind: String, namespace: String, name: String) async throws -> JSON? {
        let key = "\(kind)/\(namespace)/\(name)"
        let now = ContinuousClock.now
        if let hit = cache[key], now - hit.fetched < cacheTTL { return hit.object }
        let object: JSON?
        do {
            object = try await client.get(kind == "Secret" ? .secrets : .configMaps, namespace: namespace, name)
        } catch let e as ClientError where e.isNotFound {
            object = nil
        }
        if cache.count > 1024 { cache = cache.filter { now - $0.value.fetched < cacheTTL } }
        cache[key] = (object, now)
        return object
    }

    /// The plugin directory of the volumes written through the atomic writer.
    static func writtenPlugin(_ volume: JSON) -> String? {
        if volume["configMap"] != nil { return "kubernetes.io~configmap" }
        if volume["secret"] != nil { return "kubernetes.io~secret" }
        if volume["downwardAPI"] != nil { return "kubernetes.io~downward-api" }
        if volume["projected"] != nil { return "kubernetes.io~projected" }
        return nil
    }

    func podDirectory(_ uid: String) -> String { podsDirectory + "/" + uid }

    /// Sets up one volume; returns its host path and whether it is read-only.
    private func setUpVolume(_ volume: JSON, name: String, pod: JSON) async throws -> (String, Bool) {
        let uid = pod.uid ?? ""
        let fsGroup = pod[path: ["spec", "securityContext", "fsGroup"]]?.int64Value.map { gid_t(truncatingIfNeeded: $0) }
        if let hostPath = volume["hostPath"] {
            let path = hostPath["path"]?.stringValue ?? ""
            try Self.checkHostPathType(path, hostPath["type"]?.stringValue ?? "")
            return (path, false)
        }
        if let emptyDir = volume["emptyDir"] {
            let dir = podDirectory(uid) + "/volumes/kubernetes.io~empty-dir/" + name
            try setUpEmptyDir(emptyDir, at: dir, fsGroup: fsGroup)
            return (dir, false)
        }
        guard let plugin = Self.writtenPlugin(volume) else { throw HostFS.Failure(description: "no volume plugin matched") }
        let dir = podDirectory(uid) + "/volumes/" + plugin + "/" + name
        try HostFS.makeDirectories(dir, mode: 0o777)
        let payload = try await payload(for: volume, name: name, pod: pod)
        if try AtomicWriter(targetDirectory: dir).write(payload) {
            logger.debug("volume written", metadata: ["volume": "\(name)", "pod": "\(pod.namespace ?? "")/\(pod.name ?? "")"])
        }
        if let fsGroup { try HostFS.applyFSGroup(dir, fsGroup: fsGroup, readOnly: true) }
        return (dir, true)
    }

    private func setUpEmptyDir(_ emptyDir: JSON, at dir: String, fsGroup: gid_t?) throws {
        let medium = emptyDir["medium"]?.stringValue ?? ""
        guard medium == "" || medium == "Memory" else { throw HostFS.Failure(description: "emptyDir medium \(medium) is not supported") }
        var fresh = false
        if HostFS.kind(dir) != .directory {
            try HostFS.makeDirectories(dir, mode: 0o777)
            fresh = true
        }
        if medium == "Memory", try !isMountPoint(dir) {
            var size = nodeAllocatable["memory"]?.value ?? Int64(ProcessInfo.processInfo.physicalMemory)
            if let limit = emptyDir["sizeLimit"] {
                let q = try Quantity(json: limit)
                if q.sign > 0 { size = q.value }
            }
            try HostFS.mountTmpfs(at: dir, sizeBytes: size)
            fresh = true
        }
        // The walk runs when the volume is created only: an emptyDir may grow large.
        if fresh, let fsGroup { try HostFS.applyFSGroup(dir, fsGroup: fsGroup, readOnly: false) }
    }

    private func isMountPoint(_ path: String) throws -> Bool {
        let real = HostFS.realPath(path) ?? path
        return try HostFS.mountPoints().contains(real)
    }

    /// hostPath's `type` checks, with upstream's messages.
    static func checkHostPathType(_ path: String, _ type: String) throws {
        func fail(_ what: String) -> HostFS.Failure { HostFS.Failure(description: "hostPath type check failed: \(path) \(what)") }
        let kind = HostFS.kind(path)
        switch type {
        case "":
            return
        case "DirectoryOrCreate", "Directory":
            if kind == nil && type == "DirectoryOrCreate" { return try HostFS.makeDirectories(path, mode: 0o755) }
            guard kind != nil else { throw fail("does not exist") }
            guard kind == .directory else { throw fail("is not a directory") }
        case "FileOrCreate", "File":
            if kind == nil && type == "FileOrCreate" {
                let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
                guard fd >= 0 else { throw HostFS.errnoFailure("create", path) }
                close(fd)
                return
            }
            guard kind != nil else { throw fail("does not exist") }
            guard kind == .regular else { throw fail("is not a file") }
        case "Socket":
            guard kind == .socket else { throw fail("is not a socket file") }
        case "CharDevice":
            guard kind == .characterDevice else { throw fail("is not a character device") }
        case "BlockDevice":
            guard kind == .blockDevice else { throw fail("is not a block device") }
        default:
            throw HostFS.Failure(description: "\(type) is an invalid volume type")
        }
    }

    // MARK: Payloads

    private func payload(for volume: JSON, name: String, pod: JSON) async throws -> [String: FileProjection] {
        let namespace = pod.namespace ?? "default"
        func mode(_ j: JSON?, _ fallback: mode_t) -> mode_t { j?.int64Value.map { mode_t(truncatingIfNeeded: $0) } ?? fallback }
        if let source = volume["configMap"] ?? volume["secret"] {
            let kind = volume["configMap"] != nil ? "ConfigMap" : "Secret"
            let objectName = source[kind == "Secret" ? "secretName" : "name"]?.stringValue ?? ""
            return try await objectPayload(kind: kind, namespace: namespace, name: objectName, source: source,
                                           defaultMode: mode(source["defaultMode"], 0o644)) ?? [:]
        }
        if let source = volume["downwardAPI"] {
            return try downwardPayload(source["items"], pod: pod, defaultMode: mode(source["defaultMode"], 0o644))
        }
        guard let projected = volume["projected"] else { return [:] }
        let defaultMode = mode(projected["defaultMode"], 0o644)
        var payload: [String: FileProjection] = [:]
        for source in projected["sources"]?.arrayValue ?? [] {
            if let cm = source["configMap"] {
                let p = try await objectPayload(kind: "ConfigMap", namespace: namespace, name: cm["name"]?.stringValue ?? "", source: cm, defaultMode: defaultMode)
                payload.merge(p ?? [:]) { _, new in new }
            } else if let secret = source["secret"] {
                let p = try await objectPayload(kind: "Secret", namespace: namespace, name: secret["name"]?.stringValue ?? "", source: secret, defaultMode: defaultMode)
                payload.merge(p ?? [:]) { _, new in new }
            } else if let downward = source["downwardAPI"] {
                payload.merge(try downwardPayload(downward["items"], pod: pod, defaultMode: defaultMode)) { _, new in new }
            } else if let token = source["serviceAccountToken"] {
                let path = token["path"]?.stringValue ?? ""
                payload[path] = FileProjection(data: Array(try await serviceAccountToken(token, volume: name, pod: pod).utf8), mode: defaultMode)
            } else {
                throw HostFS.Failure(description: "unsupported projected volume source")
            }
        }
        return payload
    }

    /// A configMap or secret volume's files: every key, or the items asked for. nil when the
    /// object is missing and optional (the volume stays empty, as upstream).
    private func objectPayload(kind: String, namespace: String, name: String, source: JSON, defaultMode: mode_t) async throws -> [String: FileProjection]? {
        let optional = source["optional"]?.boolValue == true
        guard let object = try await object(kind: kind, namespace: namespace, name: name) else {
            if optional { return nil }
            throw HostFS.Failure(description: EnvVars.notFoundMessage(kind, name))
        }
        var data: [String: [UInt8]] = [:]
        if kind == "Secret" {
            for (k, v) in object["data"]?.objectValue ?? JSONObject() { data[k] = Array(Data(base64Encoded: v.stringValue ?? "") ?? Data()) }
        } else {
            for (k, v) in object["data"]?.objectValue ?? JSONObject() { data[k] = Array((v.stringValue ?? "").utf8) }
            for (k, v) in object["binaryData"]?.objectValue ?? JSONObject() { data[k] = Array(Data(base64Encoded: v.stringValue ?? "") ?? Data()) }
        }
        var payload: [String: FileProjection] = [:]
        guard let items = source["items"]?.arrayValue, !items.isEmpty else {
            for (k, v) in data { payload[k] = FileProjection(data: v, mode: defaultMode) }
            return payload
        }
        for item in items {
            let key = item["key"]?.stringValue ?? ""
            guard let value = data[key] else {
                if optional { continue }
                throw HostFS.Failure(description: kind == "Secret" ? "secret references non-existent secret key: \(key)"
                                                                    : "configmap references non-existent config key: \(key)")
            }
            let mode = item["mode"]?.int64Value.map { mode_t(truncatingIfNeeded: $0) } ?? defaultMode
            payload[item["path"]?.stringValue ?? key] = FileProjection(data: value, mode: mode)
        }
        return payload
    }

    private func downwardPayload(_ items: JSON?, pod: JSON, defaultMode: mode_t) throws -> [String: FileProjection] {
        var payload: [String: FileProjection] = [:]
        for item in items?.arrayValue ?? [] {
            let value: String
            if let field = item["fieldRef"] {
                value = try DownwardAPI.fieldValue(field["fieldPath"]?.stringValue ?? "", pod: pod, forEnv: false)
            } else if let resource = item["resourceFieldRef"] {
                let containerName = resource["containerName"]?.stringValue ?? ""
                let containers = (pod[path: ["spec", "containers"]]?.arrayValue ?? []) + (pod[path: ["spec", "initContainers"]]?.arrayValue ?? [])
                guard let container = containers.first(where: { $0["name"]?.stringValue == containerName }) else {
                    throw HostFS.Failure(description: "container \(containerName) not found")
                }
                value = try DownwardAPI.resourceValue(resource, container: container, nodeAllocatable: nodeAllocatable)
            } else {
                continue
            }
            let mode = item["mode"]?.int64Value.map { mode_t(truncatingIfNeeded: $0) } ?? defaultMode
            payload[item["path"]?.stringValue ?? ""] = FileProjection(data: Array(value.utf8), mode: mode)
        }
        return payload
    }

    /// A token bound to the pod from the TokenRequest API, reused until 80% of its lifetime
    /// (or 24 hours) has passed, as the kubelet's token manager does.
    private func serviceAccountToken(_ source: JSON, volume: String, pod: JSON) async throws -> String {
        let audience = source["audience"]?.stringValue ?? ""
        let expiration = source["expirationSeconds"]?.int64Value ?? 3600
        let serviceAccount = pod[path: ["spec", "serviceAccountName"]]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        let namespace = pod.namespace ?? "default"
        let key = "\(pod.uid ?? "")/\(volume)/\(source["path"]?.stringValue ?? "")"
        let now = ContinuousClock.now
        if let cached = tokens[key], now < cached.refreshAt { return cached.token }
        var spec: JSON = ["expirationSeconds": .number(JSONNumber(expiration)),
                          "boundObjectRef": ["apiVersion": "v1", "kind": "Pod", "name": .string(pod.name ?? ""), "uid": .string(pod.uid ?? "")]]
        if !audience.isEmpty { spec["audiences"] = [.string(audience)] }
        let request: JSON = ["apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec]
        let response: ClientResponse
        do {
            response = try await client.transport.send(ClientRequest(
                method: "POST", path: Resource.serviceAccounts.path(namespace: namespace, name: serviceAccount, subresource: "token"),
                body: request.serialized()))
        } catch {
            throw HostFS.Failure(description: "failed to fetch token: \(Self.message(error))")
        }
        guard response.status == 200 || response.status == 201 else {
            throw HostFS.Failure(description: "failed to fetch token: \(ClientError(status: response.status, body: response.body).message)")
        }
        guard let token = try JSON.parse(response.body)[path: ["status", "token"]]?.stringValue else {
            throw HostFS.Failure(description: "failed to fetch token: the TokenRequest's status has no token")
        }
        tokens[key] = (token, now + .seconds(min(expiration * 8 / 10, 24 * 3600)))
        return token
    }

    static func message(_ error: any Error) -> String {
        if let e = error as? ClientError { return e.message }
        return "\(error)"
    }

    // MARK: Tear down

    /// Unmounts everything mounted below the pod's directory and removes the directory;
    /// idempotent, and works from what is on disk and in /proc/self/mountinfo alone (after
    /// an agent restart too). Refuses to remove anything while a mount remains.
    public func tearDown(podUID: String) async throws(VolumeError) {
        let dir = podDirectory(podUID)
        guard HostFS.exists(dir) else { return }
        tokens = tokens.filter { !$0.key.hasPrefix(podUID + "/") }
        do {
            let root = HostFS.realPath(dir) ?? dir
            let mounted = { try HostFS.mountPoints().filter { HostFS.isWithin($0, root) } }
            // Deepest first, so that nested mounts come off before their parents.
            for point in try mounted().sorted(by: { $0.count > $1.count }) { try HostFS.unmount(point) }
            if let left = try mounted().first { throw HostFS.Failure(description: "\(left) is still mounted") }
            try HostFS.removeAll(dir)
        } catch {
            throw VolumeError(operation: "UnmountVolume.TearDown", volume: podUID, message: Self.message(error))
        }
    }

    /// The UIDs of pods with a directory here, so the kubelet can tear down orphans. Log
    /// directories (`<namespace>_<name>_<uid>`) share the pods directory and are skipped.
    public func podUIDsOnDisk() -> [String] {
        guard HostFS.kind(podsDirectory) == .directory else { return [] }
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: podsDirectory)
        } catch {
            logger.error("cannot list the pods directory", metadata: ["path": "\(podsDirectory)", "error": "\(error)"])
            return []
        }
        return entries.filter { !$0.contains("_") && HostFS.kind(podsDirectory + "/" + $0) == .directory }.sorted()
    }
}
