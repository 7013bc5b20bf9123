import Foundation

/// What a container needs from its image's config (OCI image-spec `config`).
public struct ImageConfig: Sendable, Codable, Equatable {
    public var entrypoint: [String]
    public var cmd: [String]
    public var env: [String]
    public var workingDir: String
    /// "uid", "uid:gid", "name" or "name:group", as the image says.
    public var user: String

    public init(entrypoint: [String] = [], cmd: [String] = [], env: [String] = [], workingDir: String = "", user: String = "") {
        self.entrypoint = entrypoint
        self.cmd = cmd
        self.env = env
        self.workingDir = workingDir
        self.user = user
    }
}

/// An image in the node's store.
public struct Image: Sendable, Codable, Equatable {
    /// The config's digest, `sha256:…` (the image id).
    public var id: String
    /// Normalized references: `docker.io/library/busybox:latest`.
    public var repoTags: [String]
    /// `docker.io/library/busybox@sha256:…` (the manifest's digest): a container's imageID.
    public var repoDigests: [String]
    public var size: Int64
    public var config: ImageConfig
    /// Unpacked layer directories, lowest first: the overlay's lower dirs.
    public var layerDirectories: [String]

    public init(id: String, repoTags: [String], repoDigests: [String], size: Int64, config: ImageConfig, layerDirectories: [String]) {
        self.id = id
        self.repoTags = repoTags
        self.repoDigests = repoDigests
        self.size = size
        self.config = config
        self.layerDirectories = layerDirectories
    }
}

/// Registry credentials, as the CRI's AuthConfig (from imagePullSecrets or registries.yaml).
public struct AuthConfig: Sendable, Codable, Equatable {
    public var username: String
    public var password: String
    public var identityToken: String
    public var registryToken: String

    public init(username: String = "", password: String = "", identityToken: String = "", registryToken: String = "") {
        self.username = username
        self.password = password
        self.identityToken = identityToken
        self.registryToken = registryToken
    }
}

/// runtime.v1.ImageService.
public protocol ImageService: Sendable {
    /// Pulls `reference` (normalized as Docker does) unless present; returns the image.
    /// `auth` maps a registry host (`docker.io`, `127.0.0.1:5000`) to credentials.
    func pullImage(_ reference: String, auth: [String: AuthConfig]) async throws -> Image
    /// The image a reference names, if the store has it.
    func imageStatus(_ reference: String) async throws -> Image?
    func listImages() async throws -> [Image]
    func removeImage(_ reference: String) async throws
    /// Bytes used by images and the capacity of the filesystem holding them.
    func imageFsInfo() async throws -> (usedBytes: Int64, capacityBytes: Int64, availableBytes: Int64)
}
