import Foundation

/// Media types of manifests and indexes, OCI's and Docker's schema 2.
enum MediaType {
    static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    static let ociIndex = "application/vnd.oci.image.index.v1+json"
    static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    static let ociConfig = "application/vnd.oci.image.config.v1+json"
    static let ociLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    static let ociLayer = "application/vnd.oci.image.layer.v1.tar"
    /// What every manifest request accepts (LAB §6: without the OCI type, the registry
    /// answers 404 for OCI manifests; without Docker's, it down-converts to schema 1).
    static let acceptManifests = [ociManifest, dockerManifest, ociIndex, dockerManifestList].joined(separator: ", ")
}

/// A content descriptor (OCI image-spec descriptor).
struct Descriptor: Codable, Equatable {
    struct Platform: Codable, Equatable {
        var architecture: String
        var os: String
        var variant: String?
    }

    var mediaType: String?
    var digest: String
    var size: Int64
    var platform: Platform?
    var annotations: [String: String]?
}

/// An image manifest or an index (manifest list): which fields are set tells them apart.
struct ManifestDocument: Codable {
    var schemaVersion: Int?
    var mediaType: String?
    var config: Descriptor?
    var layers: [Descriptor]?
    var manifests: [Descriptor]?

    var isIndex: Bool { manifests != nil && config == nil }

    /// Parses a manifest; Docker schema 1 (no config) is refused with a clear message.
    static func parse(_ bytes: [UInt8], mediaType: String?) throws -> ManifestDocument {
        let doc: ManifestDocument
        do {
            doc = try JSONDecoder().decode(ManifestDocument.self, from: Data(bytes))
        } catch {
            throw ImageContentError("manifest is not valid JSON: \(error)")
        }
        if doc.isIndex { return doc }
        guard doc.schemaVersion == 2, doc.config != nil, doc.layers != nil else {
            throw ImageContentError("unsupported manifest (media type \(mediaType ?? doc.mediaType ?? "unknown")); only OCI and Docker schema 2 are supported")
        }
        return doc
    }

    /// The manifest of an index for linux and this machine's architecture, as Docker picks.
    func platformManifest() throws -> Descriptor {
        let arch = Self.hostArchitecture
        let candidates = (manifests ?? []).filter { d in
            guard let p = d.platform else { return false }
            return p.os == "linux" && p.architecture == arch && (arch != "arm64" || p.variant == nil || p.variant == "v8")
        }
        guard let pick = candidates.first else {
            let offered = (manifests ?? []).compactMap { $0.platform.map { "\($0.os)/\($0.architecture)" } }
            throw ImageContentError("no image for linux/\(arch) in the manifest list (it has \(offered.joined(separator: ", ")))")
        }
        return pick
    }

    /// Go's GOARCH names, which image platforms use.
    static var hostArchitecture: String {
        #if arch(x86_64)
        return "amd64"
        #elseif arch(arm64)
        return "arm64"
        #else
        return "unknown"
        #endif
    }
}

/// The parts of an image config (OCI image-spec `config` blob) the store needs.
struct ImageConfigFile: Decodable {
    struct Config: Decodable {
        var Entrypoint: [String]?
        var Cmd: [String]?
        var Env: [String]?
        var WorkingDir: String?
        var User: String?
    }

    struct RootFS: Decodable {
        var diff_ids: [String]
    }

    var architecture: String?
    var os: String?
    var config: Config?
    var rootfs: RootFS

    static func parse(_ bytes: [UInt8]) throws -> ImageConfigFile {
        do {
            return try JSONDecoder().decode(ImageConfigFile.self, from: Data(bytes))
        } catch {
            throw ImageContentError("image config is invalid: \(error)")
        }
    }

    var imageConfig: ImageConfig {
        ImageConfig(entrypoint: config?.Entrypoint ?? [], cmd: config?.Cmd ?? [], env: config?.Env ?? [],
                    workingDir: config?.WorkingDir ?? "", user: config?.User ?? "")
    }
}
