import CImageSys
import Foundation
import Logging
import SkiffTestSupport
import Testing
@testable import SkiffRuntime

@Suite struct ImageReferenceTests {
    @Test(arguments: [
        ("busybox", "docker.io/library/busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36"),
        ("library/busybox", "docker.io/library/busybox:latest"),
        ("user/app:v1", "docker.io/user/app:v1"),
        ("docker.io/busybox", "docker.io/library/busybox:latest"),
        ("index.docker.io/library/busybox", "docker.io/library/busybox:latest"),
        ("127.0.0.1:5000/busybox:1", "127.0.0.1:5000/busybox:1"),
        ("localhost/a/b", "localhost/a/b:latest"),
        ("registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9"),
        ("quay.io/a/b_c.d-e:1.0_x", "quay.io/a/b_c.d-e:1.0_x"),
        ("busybox@sha256:" + String(repeating: "a", count: 64), "docker.io/library/busybox@sha256:" + String(repeating: "a", count: 64)),
        ("host:5000/x:1@sha256:" + String(repeating: "b", count: 64), "host:5000/x:1@sha256:" + String(repeating: "b", count: 64)),
    ])
    func normalizes(input: String, expected: String) throws {
        #expect(try ImageReference(parsing: input).description == expected)
    }

    @Test(arguments: ["", "Busybox", "busybox:", ":tag", "a//b", "busybox@sha256:abc", "-x", "a/-b", "busybox:-1", "a b", "x/Y:1", "host:port/x"])
    func rejects(input: String) {
        #expect(throws: ImageReference.ParseError.self) { try ImageReference(parsing: input) }
    }

    @Test func uppercaseMessage() {
        #expect(throws: ImageReference.ParseError(message: "invalid reference format: repository name (library/Busybox) must be lowercase")) {
            try ImageReference(parsing: "Busybox")
        }
    }

    @Test func parts() throws {
        let ref = try ImageReference(parsing: "127.0.0.1:5000/team/app:2")
        #expect(ref.domain == "127.0.0.1:5000")
        #expect(ref.path == "team/app")
        #expect(ref.repository == "127.0.0.1:5000/team/app")
        #expect(ref.manifestReference == "2")
    }
}

/// A ustar archive writer for the tests (header fields as POSIX lays them out).
enum TestTar {
    static func entry(_ name: String, type: Character = "0", data: [UInt8] = [], mode: Int = 0o644, uid: Int = 0, gid: Int = 0,
                      link: String = "", mtime: Int = 1_700_000_000, major: Int = 0, minor: Int = 0) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ s: String, _ at: Int, _ len: Int) { for (i, b) in s.utf8.prefix(len).enumerated() { h[at + i] = b } }
        func octal(_ v: Int, _ at: Int, _ len: Int) { put(String(v, radix: 8).leftPad(len - 1), at, len - 1) }
        put(name, 0, 100)
        octal(mode, 100, 8); octal(uid, 108, 8); octal(gid, 116, 8)
        octal(data.count, 124, 12); octal(mtime, 136, 12)
        put("        ", 148, 8)
        h[156] = type.asciiValue!
        put(link, 157, 100)
        put("ustar\u{0}", 257, 6); put("00", 263, 2)
        octal(major, 329, 8); octal(minor, 337, 8)
        let sum = h.reduce(0) { $0 + Int($1) }
        put(String(sum, radix: 8).leftPad(6) + "\u{0} ", 148, 8)
        let padded = data + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
        return h + padded
    }

    static func pax(_ records: [String: String], for name: String) -> [UInt8] {
        var body = ""
        for (k, v) in records.sorted(by: { $0.key < $1.key }) {
            let rest = " \(k)=\(v)\n"
            var len = rest.utf8.count + 1
            while String(len).count + rest.utf8.count != len { len = String(len).count + rest.utf8.count }
            body += "\(len)\(rest)"
        }
        return entry("PaxHeaders/" + name.prefix(80), type: "x", data: Array(body.utf8))
    }

    static func archive(_ entries: [[UInt8]]) -> [UInt8] { entries.flatMap { $0 } + [UInt8](repeating: 0, count: 1024) }
}

extension String {
    func leftPad(_ n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}

final class ArraySource: ByteSource {
    var bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    func read(_ max: Int) throws -> [UInt8] {
        let n = min(max, bytes.count)
        defer { bytes.removeFirst(n) }
        return Array(bytes[..<n])
    }
}

@Suite struct TarUnpackTests {
    private func unpack(_ entries: [[UInt8]]) throws -> String {
        let dir = try temporaryDirectory()
        _ = try LayerUnpacker(root: dir).unpack(TarReader(ArraySource(TestTar.archive(entries))))
        return dir
    }

    @Test func filesDirectoriesLinksAndMetadata() throws {
        let long = "d/" + String(repeating: "n", count: 150)
        let dir = try unpack([
            TestTar.entry("d/", type: "5", mode: 0o750, uid: 65534, gid: 65534, mtime: 1_600_000_000),
            TestTar.entry("d/file", data: Array("hello".utf8), mode: 0o4755, uid: 1000, gid: 1000, mtime: 1_500_000_000),
            TestTar.entry("d/sym", type: "2", link: "/etc/passwd"),
            TestTar.entry("d/hard", type: "1", link: "d/file"),
            TestTar.entry("d/fifo", type: "6", mode: 0o600),
            TestTar.entry("d/null", type: "3", mode: 0o666, major: 1, minor: 3),
            TestTar.pax(["path": long, "SCHILY.xattr.user.test": "v"], for: long),
            TestTar.entry("placeholder", data: Array("long".utf8)),
        ])
        var st = stat()
        #expect(stat("\(dir)/d/file", &st) == 0)
        #expect(st.st_mode & 0o7777 == 0o4755)
        #expect(st.st_uid == 1000 && st.st_nlink == 2)
        #expect(st.st_mtim.tv_sec == 1_500_000_000)
        #expect(try String(contentsOfFile: "\(dir)/d/hard", encoding: .utf8) == "hello")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "\(dir)/d/sym") == "/etc/passwd")
        #expect(lstat("\(dir)/d/fifo", &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO)
        #expect(lstat("\(dir)/d/null", &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR && st.st_rdev == LayerUnpacker.makeDevice(1, 3))
        #expect(stat("\(dir)/d", &st) == 0 && st.st_mode & 0o777 == 0o750 && st.st_uid == 65534)
        #expect(st.st_mtim.tv_sec == 1_600_000_000)
        #expect(try String(contentsOfFile: "\(dir)/\(long)", encoding: .utf8) == "long")
        var value = [UInt8](repeating: 0, count: 8)
        #expect(getxattr("\(dir)/\(long)", "user.test", &value, 8) == 1 && value[0] == UInt8(ascii: "v"))
    }

    @Test func whiteoutsBecomeOverlayWhiteouts() throws {
        let dir = try unpack([
            TestTar.entry("etc/", type: "5", mode: 0o755),
            TestTar.entry("etc/.wh.gone", data: []),
            TestTar.entry("opaque/", type: "5", mode: 0o755),
            TestTar.entry("opaque/.wh..wh..opq"),
            TestTar.entry(".wh..wh.plnk", type: "5"),
        ])
        var st = stat()
        #expect(lstat("\(dir)/etc/gone", &st) == 0)
        #expect((st.st_mode & S_IFMT) == S_IFCHR && st.st_rdev == 0)
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/etc/.wh.gone"))
        var value = [UInt8](repeating: 0, count: 4)
        #expect(getxattr("\(dir)/opaque", "trusted.overlay.opaque", &value, 4) == 1 && value[0] == UInt8(ascii: "y"))
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/opaque/.wh..wh..opq"))
    }

    @Test func laterEntriesReplaceEarlierOnes() throws {
        let dir = try unpack([
            TestTar.entry("x", data: Array("one".utf8)),
            TestTar.entry("x", type: "2", link: "target"),
        ])
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "\(dir)/x") == "target")
    }

    @Test(arguments: [
        [TestTar.entry("../escape", data: Array("x".utf8))],
        [TestTar.entry("a/../../escape", data: Array("x".utf8))],
        [TestTar.entry("link", type: "2", link: "/tmp"), TestTar.entry("link/escape", data: Array("x".utf8))],
        [TestTar.entry("link", type: "2", link: "../.."), TestTar.entry("link/escape", data: Array("x".utf8))],
        [TestTar.entry("hard", type: "1", link: "../../etc/passwd")],
        [TestTar.entry("link", type: "2", link: "/etc"), TestTar.entry("hard", type: "1", link: "link/passwd")],
    ])
    func traversalIsRefused(entries: [[UInt8]]) throws {
        let dir = try temporaryDirectory() + "/root"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        #expect(throws: ImageContentError.self) {
            _ = try LayerUnpacker(root: dir).unpack(TarReader(ArraySource(TestTar.archive(entries))))
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/../escape"))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/escape"))
    }

    @Test func corruptHeaderIsRefused() throws {
        var bytes = TestTar.archive([TestTar.entry("a", data: [1])])
        bytes[0] = UInt8(ascii: "b")
        #expect(throws: ImageContentError.self) { _ = try TarReader(ArraySource(bytes)).next() }
    }

    @Test func gzipRoundTrip() throws {
        let dir = try temporaryDirectory()
        let tar = TestTar.archive([TestTar.entry("f", data: Array(repeating: 7, count: 100_000))])
        try Data(tar).write(to: URL(fileURLWithPath: "\(dir)/l.tar"))
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gzip.arguments = ["-k", "\(dir)/l.tar"]
        try gzip.run()
        gzip.waitUntilExit()
        let source = HashingSource(try openMaybeCompressed(path: "\(dir)/l.tar.gz"))
        let reader = TarReader(source)
        let entry = try #require(try reader.next())
        #expect(entry.size == 100_000)
        #expect(try reader.next() == nil)
        _ = try source.drain()
        #expect(source.digest == Digest.sha256(tar))
    }
}

@Suite struct RegistryConfigTests {
    @Test func parsesK3sFormat() throws {
        let config = try RegistryConfig(yaml: """
            mirrors:
              docker.io:
                endpoint:
                  - "http://127.0.0.1:5000"
                  - "https://mirror.example.com/v2"
                rewrite:
                  "^library/(.*)": "mirrored/$1"
            configs:
              "mirror.example.com":
                auth:
                  username: user
                  password: pass
                tls:
                  ca_file: /etc/ca.pem
                  insecure_skip_verify: true
              "other.example.com:5000":
                auth:
                  auth: dTI6cDI=
            """)
        #expect(config.mirrors["docker.io"]?.endpoint.count == 2)
        #expect(config.configs["mirror.example.com"]?.tls == RegistryConfig.TLS(caFile: "/etc/ca.pem", insecureSkipVerify: true))
        #expect(config.configs["other.example.com:5000"]?.auth?.authConfig == AuthConfig(username: "u2", password: "p2"))
        let endpoints = config.endpoints(for: try ImageReference(parsing: "nginx:1"))
        #expect(endpoints.map(\.baseURL) == ["http://127.0.0.1:5000", "https://mirror.example.com", "https://registry-1.docker.io"])
        #expect(endpoints.map(\.host) == ["127.0.0.1:5000", "mirror.example.com", "docker.io"])
        #expect(endpoints.map(\.repository) == ["mirrored/nginx", "mirrored/nginx", "library/nginx"])
        #expect(endpoints.map(\.isMirror) == [true, true, false])
    }

    @Test func defaultsAndLoopback() throws {
        let empty = try RegistryConfig(yaml: "")
        #expect(empty == RegistryConfig())
        #expect(try RegistryConfig.load(path: "/nonexistent/registries.yaml") == RegistryConfig())
        #expect(empty.endpoints(for: try ImageReference(parsing: "127.0.0.1:5000/x")).map(\.baseURL) == ["http://127.0.0.1:5000"])
        #expect(empty.endpoints(for: try ImageReference(parsing: "localhost:5000/x")).map(\.baseURL) == ["http://localhost:5000"])
        #expect(empty.endpoints(for: try ImageReference(parsing: "quay.io/x")).map(\.baseURL) == ["https://quay.io"])
        #expect(RegistryConfig.isLoopback("127.1.2.3:80") && RegistryConfig.isLoopback("[::1]:5000"))
        #expect(!RegistryConfig.isLoopback("10.0.0.1:5000") && !RegistryConfig.isLoopback("127.example.com"))
        #expect(throws: ImageContentError.self) { try RegistryConfig(yaml: "mirrors: [1, 2]") }
    }

    @Test func wildcardMirror() throws {
        let config = try RegistryConfig(yaml: "mirrors:\n  \"*\":\n    endpoint: [\"http://127.0.0.1:5001\"]\n")
        #expect(config.endpoints(for: try ImageReference(parsing: "quay.io/a/b")).map(\.baseURL) == ["http://127.0.0.1:5001", "https://quay.io"])
    }
}

@Suite struct DockerConfigTests {
    @Test func dockerConfigJSON() {
        let json = """
            {"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYTpzcw=="},
                      "127.0.0.1:5000":{"username":"a","password":"b"},
                      "https://quay.io/v2/":{"identitytoken":"tok"}}}
            """
        let creds = DockerConfig.credentials(fromDockerConfigJSON: Array(json.utf8))
        #expect(creds["docker.io"] == AuthConfig(username: "user", password: "pa:ss"))
        #expect(creds["127.0.0.1:5000"] == AuthConfig(username: "a", password: "b"))
        #expect(creds["quay.io"] == AuthConfig(identityToken: "tok"))
    }

    @Test func legacyDockercfgAndGarbage() {
        let creds = DockerConfig.credentials(fromDockerConfigJSON: Array(#"{"registry.example.com":{"username":"u","password":"p"}}"#.utf8))
        #expect(creds == ["registry.example.com": AuthConfig(username: "u", password: "p")])
        #expect(DockerConfig.credentials(fromDockerConfigJSON: Array("not json".utf8)).isEmpty)
    }

    @Test func challenge() {
        let p = RegistrySession.challengeParameters(#" realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#)
        #expect(p == ["realm": "https://auth.docker.io/token", "service": "registry.docker.io", "scope": "repository:library/busybox:pull"])
        #expect(RegistrySession.errorDetail(Array(#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#.utf8)) == ": manifest unknown (MANIFEST_UNKNOWN)")
    }
}

@Suite struct ImageStoreTests {
    /// A `docker save` archive with one image per (tag, file content), each of one layer.
    private func dockerArchive(_ images: [(tag: String, content: String)], in dir: String) throws -> String {
        var entries: [[UInt8]] = []
        var manifest: [[String: Any]] = []
        for (i, image) in images.enumerated() {
            let layer = TestTar.archive([TestTar.entry("bin/", type: "5", mode: 0o755), TestTar.entry("bin/hello", data: Array(image.content.utf8), mode: 0o755)])
            let config = #"{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/hello"],"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":["\#(Digest.sha256(layer))"]}}"#
            entries.append(TestTar.entry("layer\(i)/layer.tar", data: layer))
            entries.append(TestTar.entry("config\(i).json", data: Array(config.utf8)))
            manifest.append(["Config": "config\(i).json", "RepoTags": [image.tag], "Layers": ["layer\(i)/layer.tar"]])
        }
        entries.append(TestTar.entry("manifest.json", data: Array(try JSONSerialization.data(withJSONObject: manifest))))
        let path = "\(dir)/archive.tar"
        try Data(TestTar.archive(entries)).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func importIsIdempotentAndVisibleToAnotherStore() async throws {
        let dir = try temporaryDirectory()
        let archive = try dockerArchive([("busybox:1", "one"), ("example.com/app", "two")], in: dir)
        let store = try ImageStore(root: "\(dir)/images", registries: RegistryConfig(), logger: Logger(label: "test"))
        let imported = try await store.importArchive(path: archive)
        #expect(imported.map(\.repoTags) == [["docker.io/library/busybox:1"], ["example.com/app:latest"]])
        let image = imported[0]
        #expect(image.config.cmd == ["/bin/hello"])
        #expect(image.repoDigests.count == 1 && image.repoDigests[0].hasPrefix("docker.io/library/busybox@sha256:"))
        #expect(try String(contentsOfFile: image.layerDirectories[0] + "/bin/hello", encoding: .utf8) == "one")
        // A second process's store sees the import without a restart.
        let other = try ImageStore(root: "\(dir)/images", registries: RegistryConfig(), logger: Logger(label: "test"))
        #expect(try await other.imageStatus("busybox:1") == image)
        #expect(try await other.imageStatus(image.id) == image)
        #expect(try await other.imageStatus(image.repoDigests[0]) == image)
        let again = try await other.importArchive(path: archive)
        #expect(again == imported)
        #expect(try await store.listImages().count == 2)
        // Present images are not pulled again (no registry exists here).
        #expect(try await store.pullImage("busybox:1", auth: [:]) == image)
        try await store.removeImage("busybox:1")
        #expect(try await other.imageStatus("busybox:1") == nil)
        #expect(!FileManager.default.fileExists(atPath: image.layerDirectories[0]))
        await #expect(throws: RuntimeError.self) { try await store.removeImage("busybox:1") }
        await #expect(throws: RuntimeError.self) { _ = try await store.pullImage("Bad:Name", auth: [:]) }
    }

    @Test func garbageCollectionIsLeastRecentlyUsedFirst() async throws {
        let dir = try temporaryDirectory()
        let archive = try dockerArchive([("a:1", "a"), ("b:1", "b"), ("c:1", "c")], in: dir)
        let store = try ImageStore(root: "\(dir)/images", registries: RegistryConfig(), logger: Logger(label: "test"))
        let images = try await store.importArchive(path: archive)
        try await Task.sleep(for: .milliseconds(20))
        _ = try await store.pullImage("c:1", auth: [:])  // c used last
        try await Task.sleep(for: .milliseconds(20))
        _ = try await store.pullImage("a:1", auth: [:])  // a used after c
        // Thresholds of 100 % never trigger.
        #expect(try await store.garbageCollect(inUse: [], highThresholdPercent: 100, lowThresholdPercent: 100).isEmpty)
        // b is in use; c and a go, least recently used first.
        let removed = try await store.garbageCollect(inUse: ["docker.io/library/b:1"], highThresholdPercent: 0, lowThresholdPercent: 0)
        #expect(removed == [images[2].id, images[0].id])
        #expect(try await store.listImages().map(\.id) == [images[1].id])
        #expect(FileManager.default.fileExists(atPath: images[1].layerDirectories[0]))
        #expect(!FileManager.default.fileExists(atPath: images[0].layerDirectories[0]))
    }

    @Test func collectionOrderStopsWhenEnoughIsFreed() {
        let now = Date()
        let order = ImageStore.collectionOrder(
            [("new", now, 10), ("old", now - 100, 10), ("mid", now - 50, 10)], bytesToFree: 15)
        #expect(order == ["old", "mid"])
    }
}
