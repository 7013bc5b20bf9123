import Foundation
import SkiffRuntime

/// A store holding one image made from the host's busybox-static: the runtime tests need a
/// rootfs, not a registry.
public actor BusyboxImages: ImageService {
    public let image: Image
    public init(layer: String) { image = Image(id: "sha256:test", repoTags: ["skiff.test/busybox:1"], repoDigests: ["skiff.test/busybox@sha256:test"],
                                        size: 0, config: ImageConfig(cmd: ["sh"], env: ["PATH=/bin"]), layerDirectories: [layer]) }
    public func pullImage(_ reference: String, auth: [String: AuthConfig]) async throws -> Image { image }
    public func imageStatus(_ reference: String) async throws -> Image? { image }
    public func listImages() async throws -> [Image] { [image] }
    public func removeImage(_ reference: String) async throws {}
    public func imageFsInfo() async throws -> (usedBytes: Int64, capacityBytes: Int64, availableBytes: Int64) { (0, 0, 0) }

    /// A busybox rootfs with its applets, /etc/passwd and the usual empty directories.
    public static func makeLayer(at dir: String) throws {
        let fm = FileManager.default
        for sub in ["bin", "etc", "proc", "sys", "dev", "tmp", "www", "root"] {
            try fm.createDirectory(atPath: "\(dir)/\(sub)", withIntermediateDirectories: true)
        }
        try fm.copyItem(atPath: "/bin/busybox", toPath: "\(dir)/bin/busybox")
        for applet in ["sh", "httpd", "cat", "echo", "sleep", "tail", "hostname", "ls", "id", "wget", "head", "true", "false"] {
            try fm.createSymbolicLink(atPath: "\(dir)/bin/\(applet)", withDestinationPath: "busybox")
        }
        try "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n".write(toFile: "\(dir)/etc/passwd", atomically: true, encoding: .utf8)
        try "root:x:0:\nnogroup:x:65534:\n".write(toFile: "\(dir)/etc/group", atomically: true, encoding: .utf8)
    }
}


/// A new empty directory under the system's temporary directory.
public func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "skiff-test-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
