import Foundation
import Logging
import SkiffAPIServer
import SkiffClient
import SkiffCore
import SkiffRuntime
import SkiffStore
import Testing
@testable import SkiffKubelet
#if canImport(Glibc)
import Glibc
#endif

/// An API server over an in-memory store that issues service account tokens, and a
/// volume manager on a fresh temporary pods directory.
struct VolumeFixture {
    let handler: APIHandler
    let client: Client
    let task: Task<Void, any Error>
    let podsDirectory: String
    let manager: VolumeManager

    static func start() async throws -> VolumeFixture {
        let tokens = try ServiceAccountTokens(keyPEM: ServiceAccountTokens.newKeyPEM())
        let handler = APIHandler(store: MVCCStore(), serviceAccountTokens: tokens)
        let task = Task { try await handler.run() }
        try await handler.bootstrap(servicePort: 6443)
        let client = Client(transport: InProcessTransport(handler: handler, user: "system:admin"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-volumes-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let manager = VolumeManager(podsDirectory: dir, client: client, logger: Logger(label: "test.volumes"),
                                    nodeAllocatable: ["memory": Quantity(64 << 20)], cacheTTL: .zero)
        return VolumeFixture(handler: handler, client: client, task: task, podsDirectory: dir, manager: manager)
    }

    func stop() {
        task.cancel()
        do { try FileManager.default.removeItem(atPath: podsDirectory) } catch { Issue.record("cleanup: \(error)") }
    }

    func createConfigMap(_ name: String, _ data: JSON, binaryData: JSON? = nil) async throws {
        var cm: JSON = ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": .string(name), "namespace": "default"], "data": data]
        if let binaryData { cm["binaryData"] = binaryData }
        try await client.create(.configMaps, namespace: "default", cm)
    }

    func createSecret(_ name: String, _ data: [String: String]) async throws {
        var encoded = JSONObject()
        for (k, v) in data.sorted(by: { $0.key < $1.key }) { encoded[k] = .string(Data(v.utf8).base64EncodedString()) }
        try await client.create(.secrets, namespace: "default",
                                ["apiVersion": "v1", "kind": "Secret", "metadata": ["name": .string(name), "namespace": "default"],
                                 "data": .object(encoded)])
    }
}

func makePod(_ volumes: JSON..., uid: String = UUID().uuidString.lowercased(), fsGroup: Int? = nil) -> JSON {
    var pod: JSON = ["apiVersion": "v1", "kind": "Pod",
                     "metadata": ["name": "p", "namespace": "default", "uid": .string(uid), "labels": ["app": "web"]],
                     "spec": ["containers": [["name": "c", "image": "busybox", "resources": ["limits": ["memory": "32Mi"]]]],
                              "volumes": .array(volumes)]]
    if let fsGroup { pod[path: ["spec", "securityContext", "fsGroup"]] = .number(JSONNumber(fsGroup)) }
    return pod
}

func read(_ path: String) -> String? { FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } }

func fileMode(_ path: String) -> mode_t? {
    var st = stat()
    return stat(path, &st) == 0 ? st.st_mode & 0o7777 : nil
}

func fileGroup(_ path: String) -> gid_t? {
    var st = stat()
    return lstat(path, &st) == 0 ? st.st_gid : nil
}

let isRoot = getuid() == 0

@Suite(.serialized) struct VolumeManagerTests {
    @Test func configMapLayoutItemsAndModes() async throws {
        let f = try await VolumeFixture.start()
        defer { f.stop() }
        try await f.createConfigMap("cfg", ["a.conf": "alpha", "b.conf": "beta"], binaryData: ["blob": .string(Data([0, 1, 2]).base64EncodedString())])
        let pod = makePod(["name": "all", "configMap": ["name": "cfg"]],
                          ["name": "some", "configMap": ["name": "cfg", "defaultMode": 0o600,
                                                         "items": [["key": "a.conf", "path": "sub/dir/a"], ["key": "b.conf", "path": "b", "mode": 0o400]]]])
        let volumes = try await f.manager.setUp(pod: pod)
        let all = try #require(volumes["all"])
        #expect(all == "\(f.podsDirectory)/\(pod.uid!)/volumes/kubernetes.io~configmap/all")
        #expect(volumes.readOnly == ["all", "some"])
        #expect(read(all + "/a.conf") == "alpha")
        #expect(FileManager.default.contents(atPath: all + "/blob") == Data([0, 1, 2]))
        #expect(HostFS.readLink(all + "/a.conf") == "..data/a.conf")
        let version = try #require(HostFS.readLink(all + "/..data"))
        #expect(version.hasPrefix("..") && version.count > 22)
        #expect(fileMode(all + "/a.conf") == 0o644)
        let some = try #require(volumes["some"])
        #expect(read(some + "/sub/dir/a") == "alpha")
        #expect(HostFS.readLink(some + "/sub") == "..data/sub")
        #expect(fileMode(some + "/sub/dir/a") == 0o600)
        #expect(fileMode(some + "/b") == 0o400)
        #expect(!FileManager.default.fileExists(atPath: some + "/a.conf"))
    }

    @Test func refreshSwapsTheDataAtomically() async throws {
        let f = try await VolumeFixture.start()
        defer { f.stop() }
        try await f.createConfigMap("cfg", ["a": "1", "b": "2"])
        let pod = makePod(["name": "v", "configMap": ["name": "cfg"]])
        let dir = try #require(try await f.manager.setUp(pod: pod)["v"])
        let before = try #require(HostFS.readLink(dir + "/..data"))

        #expect(await f.manager.refresh(pod: pod).isEmpty)
        #expect(HostFS.readLink(dir + "/..data") == before, "an unchanged ConfigMap is not rewritten")

        var cm = try await f.client.get(.configMaps, namespace: "default", "cfg")
        cm["data"] = ["a": "one", "c": "3"]
        try await f.client.update(.configMaps, cm)
        #expect(await f.manager.refresh(pod: pod).isEmpty)
        let after = try #require(HostFS.readLink(dir + "/..data"))
        #expect(after != before)
        #expect(read(dir + "/a") == "one")
        #expect(read(dir + "/c") == "3")
        #expect(!HostFS.exists(dir + "/b"), "a removed key's link goes")
        #expect(!HostFS.exists(dir + "/" + before), "the old version goes")
        let entries = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(entries == [after, "..data", "a", "c"].sorted())
    }

    @Test func missingSourcesAndKeys() async throws {
        let f = try await VolumeFixture.start()
        defer { f.stop() }
        try await f.createConfigMap("cfg", ["a": "1"])
        await #expect(throws: VolumeError(volume: "cfg", message: "configmap \"missing\" not found")) {
            try await f.manager.setUp(pod: makePod(["name": "cfg", "configMap": ["name": "missing"]]))
        }
        let error = await #expect(throws: VolumeError.self) {
            try await f.manager.setUp(pod: makePod(["name": "s", "secret": ["secretName": "nope"]]))
        }
        #expect(error?.description == "MountVolume.SetUp failed for volume \"s\" : secret \"nope\" not found")
        await #expect(throws: VolumeError(volume: "k", message: "configmap references non-existent config key: zz")) {
            try await f.manager.setUp(pod: makePod(["name": "k", "configMap": ["name": "cfg", "items": [["key": "zz", "path": "z"]]]]))
        }
        let optional = try await f.manager.setUp(pod: makePod(["name": "o", "configMap": ["name": "missing", "optional": true]]))
        let dir = try #require(optional["o"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix("..") }.isEmpty)
        await #expect(throws: VolumeError(volume: "pvc", message: "no volume plugin matched")) {
            try await f.manager.setUp(pod: makePod(["name": "pvc", "persistentVolumeClaim": ["claimName": "data"]]))
        }
    }

    @Test func secretDownwardAPIAndProjected() async throws {
        let f = try await VolumeFixture.start()
        defer { f.stop() }
        try await f.createSecret("creds", ["user": "admin", "password": "hunter2"])
        try await f.createConfigMap("cfg", ["a": "1"])
        try await f.client.create(.serviceAccounts, namespace: "default",
                                  ["apiVersion": "v1", "kind": "ServiceAccount", "metadata": ["name": "default", "namespace": "default"]])
        let pod = makePod(
            ["name": "sec", "secret": ["secretName": "creds", "defaultMode": 0o400]],
            ["name": "info", "downwardAPI": ["items": [
                ["path": "labels", "fieldRef": ["fieldPath": "metadata.labels"]],
                ["path": "name", "fieldRef": ["fieldPath": "metadata.name"]],
                ["path": "mem", "resourceFieldRef": ["containerName": "c", "resource": "limits.memory", "divisor": "1Mi"]]]]],
            ["name": "all", "projected": ["sources": [
                ["configMap": ["name": "cfg"]],
                ["secret": ["name": "creds", "items": [["key": "user", "path": "creds/user"]]]],
                ["downwardAPI": ["items": [["path": "ns", "fieldRef": ["fieldPath": "metadata.namespace"]]]]],
                ["serviceAccountToken": ["path": "token", "expirationSeconds": 3600]]]]])
        let volumes = try await f.manager.setUp(pod: pod)
        let sec = try #require(volumes["sec"])
        #expect(sec.hasSuffix("/volumes/kubernetes.io~secret/sec"))
        #expect(read(sec + "/password") == "hunter2")
        #expect(fileMode(sec + "/user") == 0o400)
        let info = try #require(volumes["info"])
        #expect(info.hasSuffix("/volumes/kubernetes.io~downward-api/info"))
        #expect(read(info + "/labels") == "app=\"web\"")
        #expect(read(info + "/name") == "p")
        #expect(read(info + "/mem") == "32")
        let all = try #require(volumes["all"])
        #expect(all.hasSuffix("/volumes/kubernetes.io~projected/all"))
        #expect(read(all + "/a") == "1")
        #expect(read(all + "/creds/user") == "admin")
        #expect(read(all + "/ns") == "default")
        let token = try #require(read(all + "/token"))
        #expect(f.handler.tokensForTests?.verify(token) == "system:serviceaccount:default:default")
        // The token is reused, not re-requested, on refresh.
        #expect(await f.manager.refresh(pod: pod).isEmpty)
        #expect(read(all + "/token") == token)
    }

    @Test(.enabled(if: isRoot, "mounting a tmpfs and chown need root (CI runs as root)"))
    func memoryEmptyDirAndTearDown() async throws {
        let f = try await VolumeFixture.start()
        defer { f.stop() }
        let pod = makePod(["name": "scratch", "emptyDir": [:]],
                          ["name": "shm", "emptyDir": ["medium": "Memory", "sizeLimit": "8Mi"]],
                          ["name": "big", "emptyDir": ["medium": "Memory"]])
        let uid = pod.uid!
        let volumes = try await f.manager.setUp(pod: pod)
        #expect(volumes["scratch"] == "\(f.podsDirectory)/\(uid)/volumes/kubernetes.io~empty-dir/scratch")
        #expect(fileMode(volumes["scratch"]!) == 0o777)
        let shm = try #require(volumes["shm"])
        #expect(try HostFS.mountPoints().contains(shm))
        var fs = statvfs()
        #expect(statvfs(shm, &fs) == 0)
        #expect(Int64(fs.f_blocks) * Int64(fs.f_frsize) == 8 << 20)
        #expect(statvfs(volumes["big"]!, &fs) == 0)
        #expect(Int64(fs.f_blocks) * Int64(fs.f_frsize) == 64 << 20, "no sizeLimit: the node's allocatable memory")
        _ = try await f.manager.setUp(pod: pod)
        #expect(try HostFS.mountPoints().filter { $0 == shm }.count == 1, "setUp again does not mount twice")
        #expect(await f.manager.podUIDsOnDisk() == [uid])

        try await f.manager.tearDown(podUID: uid)
        #expect(try HostFS.mountPoints().allSatisfy { !$0.hasPrefix(f.podsDirectory) })
        #expect(!FileManager.default.fileExists(atPath: "\(f.podsDirectory)/\(uid)"))
        #expect(await f.manager.podUIDsOnDisk().isEmpty)
        try await f.manager.tearDown(podUID: uid)
    }

    @Test(.enabled(if: isRoot, "chown to another group needs root (CI runs as root)"))
    func fsGroupOwnership() async throws {
        let f = try await VolumeFixture.start()
        defer { f.stop() }
        try await f.createConfigMap("cfg", ["a": "1"])
        let pod = makePod(["name": "cfg", "configMap": ["name": "cfg", "defaultMode": 0o400]], ["name": "data", "emptyDir": [:]], fsGroup: 2345)
        let volumes = try await f.manager.setUp(pod: pod)
        let cfg = try #require(volumes["cfg"])
        #expect(fileGroup(cfg + "/a") == 2345)
        #expect(fileGroup(cfg + "/..data/a") == 2345)
        #expect(fileMode(cfg + "/a") == 0o440)
        #expect(fileMode(cfg) == 0o2777)
        let data = try #require(volumes["data"])
        #expect(fileGroup(data) == 2345)
        #expect(fileMode(data) == 0o2777)
    }

    @Test func hostPathTypes() async throws {
        let f = try await VolumeFixture.start()
        defer { f.stop() }
        let base = f.podsDirectory + "/host"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: base + "/file", contents: Data("x".utf8))
        func hostPath(_ path: String, _ type: String) -> JSON { ["name": "h", "hostPath": ["path": .string(path), "type": .string(type)]] }
        let cases: [(String, String, String?)] = [
            (base + "/missing", "Directory", "hostPath type check failed: \(base)/missing does not exist"),
            (base + "/file", "Directory", "hostPath type check failed: \(base)/file is not a directory"),
            (base, "File", "hostPath type check failed: \(base) is not a file"),
            (base + "/file", "Socket", "hostPath type check failed: \(base)/file is not a socket file"),
            (base + "/file", "CharDevice", "hostPath type check failed: \(base)/file is not a character device"),
            (base + "/file", "BlockDevice", "hostPath type check failed: \(base)/file is not a block device"),
            (base, "Weird", "Weird is an invalid volume type"),
            ("/dev/null", "CharDevice", nil), (base + "/file", "File", nil), (base + "/anything", "", nil),
            (base + "/made/deep", "DirectoryOrCreate", nil), (base + "/new-file", "FileOrCreate", nil),
        ]
        for (path, type, message) in cases {
            if let message {
                await #expect(throws: VolumeError(volume: "h", message: message)) { try await f.manager.setUp(pod: makePod(hostPath(path, type))) }
            } else {
                #expect(try await f.manager.setUp(pod: makePod(hostPath(path, type)))["h"] == path)
            }
        }
        #expect(HostFS.kind(base + "/made/deep") == .directory)
        #expect(HostFS.kind(base + "/new-file") == .regular)
        #expect(fileMode(base + "/new-file") == 0o644 & ~umaskValue())
    }

    @Test func containerMounts() async throws {
        let f = try await VolumeFixture.start()
        defer { f.stop() }
        try await f.createConfigMap("cfg", ["app.conf": "x"])
        let pod = makePod(["name": "data", "emptyDir": [:]], ["name": "cfg", "configMap": ["name": "cfg"]])
        let uid = pod.uid!
        let volumes = try await f.manager.setUp(pod: pod)
        let data = try #require(volumes["data"])
        let container: JSON = ["name": "c", "securityContext": ["privileged": true], "volumeMounts": [
            ["name": "data", "mountPath": "/data", "mountPropagation": "HostToContainer"],
            ["name": "data", "mountPath": "/logs", "subPathExpr": "logs/$(POD_NAME)", "readOnly": true],
            ["name": "cfg", "mountPath": "/etc/app.conf", "subPath": "app.conf"],
            ["name": "cfg", "mountPath": "/etc/cfg", "mountPropagation": "Bidirectional"]]]
        let mounts = try await f.manager.mounts(for: container, pod: pod, volumes: volumes, env: [KeyValue("POD_NAME", "p")], attempt: 2)
        let log = f.manager.terminationMessagePath(podUID: uid, containerName: "c", attempt: 2)
        let realData = try #require(HostFS.realPath(data))
        let configFile = try #require(HostFS.realPath(volumes["cfg"]! + "/app.conf"))
        #expect(configFile.contains("/..20"), "a subPath of a configMap is the file of the current version")
        #expect(mounts == [
            Mount(containerPath: "/data", hostPath: data, propagation: "rslave"),
            Mount(containerPath: "/logs", hostPath: realData + "/logs/p", readOnly: true),
            Mount(containerPath: "/etc/app.conf", hostPath: configFile, readOnly: true),
            Mount(containerPath: "/etc/cfg", hostPath: volumes["cfg"]!, readOnly: true, propagation: "rshared"),
            Mount(containerPath: "/dev/termination-log", hostPath: log),
        ])
        #expect(HostFS.kind(realData + "/logs/p") == .directory)
        #expect(log == "\(f.podsDirectory)/\(uid)/containers/c/2")
        #expect(HostFS.kind(log) == .regular && fileMode(log) == 0o666)

        try FileManager.default.createSymbolicLink(atPath: data + "/escape", withDestinationPath: "/etc")
        let refused: [(JSON, String)] = [
            (["name": "data", "mountPath": "/x", "subPath": "escape"], "failed to prepare subPath for volumeMount \"data\" of container \"c\""),
            (["name": "data", "mountPath": "/x", "subPath": "escape/newdir"], "failed to prepare subPath for volumeMount \"data\" of container \"c\""),
            (["name": "data", "mountPath": "/x", "subPath": "a/../../b"], "unable to provision SubPath `a/../../b`: must not contain '..'"),
            (["name": "data", "mountPath": "/x", "subPath": "/etc"], "error SubPath `/etc` must not be an absolute path"),
            (["name": "nope", "mountPath": "/x"], "cannot find volume \"nope\" to mount into container \"c\""),
            (["name": "data", "mountPath": "/x", "mountPropagation": "Bidirectional"], "Bidirectional mount propagation is available only to privileged containers"),
            (["name": "data", "mountPath": "/x", "subPathExpr": "$(MISSING)"], "missing value for MISSING"),
        ]
        for (mount, message) in refused {
            await #expect(throws: ContainerConfigError(message)) {
                try await f.manager.mounts(for: ["name": "c", "terminationMessagePath": "", "volumeMounts": [mount]], pod: pod, volumes: volumes)
            }
        }
        #expect(!FileManager.default.fileExists(atPath: "/etc/newdir"))
        try await f.manager.tearDown(podUID: uid)
        #expect(FileManager.default.fileExists(atPath: "/etc/hostname") || FileManager.default.fileExists(atPath: "/etc/passwd"),
                "tearing down never follows a symlink out of the pod")
    }
}

func umaskValue() -> mode_t {
    let current = umask(0o022)
    umask(current)
    return current
}
