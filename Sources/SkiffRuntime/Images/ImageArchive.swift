import Foundation

/// An image found in an archive: its names, manifest, and which member holds each blob.
struct ArchivedImage {
    var names: [ImageReference]
    var manifest: [UInt8]
    var manifestDigest: String
    /// Blob digest → archive member path.
    var blobs: [String: String]
}

/// The members of an uncompressed tar archive (an OCI image layout or a `docker save`),
/// indexed by path so blobs can be copied out directly without extracting everything.
struct ArchiveMembers {
    private struct Member {
        var offset: Int64
        var size: Int64
        var kind: TarEntry.Kind
        var linkName: String
    }

    let path: String
    private var members: [String: Member] = [:]

    init(path: String) throws {
        self.path = path
        let reader = TarReader(try FileSource(path: path))
        do {
            while let entry = try reader.next() {
                let name = try LayerUnpacker.clean(entry.path).joined(separator: "/")
                members[name] = Member(offset: reader.dataOffset, size: entry.size, kind: entry.kind, linkName: entry.linkName)
            }
        } catch {
            throw ImageContentError("\(path) is not a readable image archive: \(error)")
        }
    }

    func has(_ name: String) -> Bool { members[name] != nil }

    /// The regular file behind `name`, following symlinks (docker save links repeated layers).
    private func resolve(_ name: String) throws -> Member {
        var current = name
        for _ in 0..<16 {
            guard let member = members[current] else { throw ImageContentError("\(path) has no member \(name)") }
            switch member.kind {
            case .file: return member
            case .hardLink: current = try LayerUnpacker.clean(member.linkName).joined(separator: "/")
            case .symlink:
                let base = member.linkName.hasPrefix("/") ? [] : current.split(separator: "/").dropLast().map(String.init)
                var parts: [String] = []
                for part in (base + member.linkName.split(separator: "/").map(String.init)) where part != "." && !part.isEmpty {
                    if part == ".." { _ = parts.popLast() } else { parts.append(part) }
                }
                current = parts.joined(separator: "/")
            default: throw ImageContentError("\(path): member \(name) is not a file")
            }
        }
        throw ImageContentError("\(path): member \(name) is a symlink loop")
    }

    /// A small member (JSON) in memory.
    func read(_ name: String) throws -> [UInt8] {
        let member = try resolve(name)
        guard member.size <= 64 << 20 else { throw ImageContentError("\(path): \(name) is too large") }
        let source = try FileSource(path: path, offset: member.offset, length: member.size)
        var out: [UInt8] = []
        while true {
            let chunk = try source.read(1 << 16)
            if chunk.isEmpty { return out }
            out += chunk
        }
    }

    /// Copies a member to `dest` (nil: only hashes it); returns its digest.
    @discardableResult
    func copyMember(_ name: String, to dest: String?) throws -> String {
        let member = try resolve(name)
        let source = HashingSource(try FileSource(path: path, offset: member.offset, length: member.size))
        if let dest {
            guard FileManager.default.createFile(atPath: dest, contents: nil), let handle = FileHandle(forWritingAtPath: dest) else {
                throw ImageContentError("cannot create \(dest)")
            }
            defer { try? handle.close() }
            while true {
                let chunk = try source.read(1 << 16)
                if chunk.isEmpty { break }
                try handle.write(contentsOf: chunk)
            }
        } else {
            _ = try source.drain()
        }
        return source.digest
    }

    private func memberSize(_ name: String) throws -> Int64 { try resolve(name).size }

    /// OCI image layout: index.json's manifests, named by `io.containerd.image.name` or a
    /// full `org.opencontainers.image.ref.name`; a bare tag there needs `defaultName`.
    func ociImages(defaultName: String?) throws -> [ArchivedImage] {
        let index = try decodeJSON(ManifestDocument.self, "index.json")
        var byDigest: [String: ArchivedImage] = [:]
        var order: [String] = []
        for var descriptor in index.manifests ?? [] {
            var manifestBytes = try read(blobMember(descriptor.digest))
            var manifest = try ManifestDocument.parse(manifestBytes, mediaType: descriptor.mediaType)
            if manifest.isIndex {
                let annotations = descriptor.annotations
                descriptor = try manifest.platformManifest()
                descriptor.annotations = annotations
                manifestBytes = try read(blobMember(descriptor.digest))
                manifest = try ManifestDocument.parse(manifestBytes, mediaType: descriptor.mediaType)
            }
            guard Digest.sha256(manifestBytes) == descriptor.digest else {
                throw ImageContentError("\(path): manifest \(descriptor.digest) does not match its digest")
            }
            let names = try ociNames(descriptor.annotations ?? [:], defaultName: defaultName)
            if byDigest[descriptor.digest] == nil {
                order.append(descriptor.digest)
                var blobs: [String: String] = [:]
                for blob in [manifest.config].compactMap({ $0 }) + (manifest.layers ?? []) {
                    blobs[blob.digest] = try blobMember(blob.digest)
                }
                byDigest[descriptor.digest] = ArchivedImage(names: [], manifest: manifestBytes, manifestDigest: descriptor.digest, blobs: blobs)
            }
            byDigest[descriptor.digest]!.names += names
        }
        return order.map { byDigest[$0]! }
    }

    private func ociNames(_ annotations: [String: String], defaultName: String?) throws -> [ImageReference] {
        if let name = annotations["io.containerd.image.name"] { return [try parseName(name)] }
        if let name = annotations["org.opencontainers.image.ref.name"] {
            if name.contains("/") || name.contains(":") { return [try parseName(name)] }
            guard let defaultName else {
                throw ImageContentError("\(path): an image is named only by the tag \"\(name)\"; give the image a name with --name")
            }
            var ref = try parseName(defaultName)
            if ref.digest == nil { ref.tag = name }
            return [ref]
        }
        guard let defaultName else { throw ImageContentError("\(path): an image has no name (no io.containerd.image.name or org.opencontainers.image.ref.name); give it one with --name") }
        return [try parseName(defaultName)]
    }

    /// `docker save`: manifest.json with Config, RepoTags and Layers (tar or tar+gzip); an
    /// OCI manifest is made for each image so that it has a digest like a pulled one.
    func dockerImages(defaultName: String?) throws -> [ArchivedImage] {
        struct Entry: Decodable {
            var Config: String
            var RepoTags: [String]?
            var Layers: [String]
        }
        guard has("manifest.json") else {
            throw ImageContentError("\(path) is neither an OCI image archive (no oci-layout) nor a docker save archive (no manifest.json)")
        }
        let entries = try decodeJSON([Entry].self, "manifest.json")
        return try entries.map { entry in
            var blobs: [String: String] = [:]
            let configDigest = try copyMember(entry.Config, to: nil)
            blobs[configDigest] = entry.Config
            var layers: [Descriptor] = []
            for layer in entry.Layers {
                let digest = try copyMember(layer, to: nil)
                blobs[digest] = layer
                let member = try resolve(layer)
                let gzip = try FileSource.peek(path: path, offset: member.offset, count: 2) == [0x1f, 0x8b]
                layers.append(Descriptor(mediaType: gzip ? MediaType.ociLayerGzip : MediaType.ociLayer, digest: digest, size: member.size))
            }
            let manifest = ManifestDocument(
                schemaVersion: 2, mediaType: MediaType.ociManifest,
                config: Descriptor(mediaType: MediaType.ociConfig, digest: configDigest, size: try memberSize(entry.Config)), layers: layers)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let bytes = Array(try encoder.encode(manifest))
            var names = try (entry.RepoTags ?? []).map(parseName)
            if names.isEmpty {
                guard let defaultName else { throw ImageContentError("\(path): an image has no RepoTags; give it a name with --name") }
                names = [try parseName(defaultName)]
            }
            return ArchivedImage(names: names, manifest: bytes, manifestDigest: Digest.sha256(bytes), blobs: blobs)
        }
    }

    private func blobMember(_ digest: String) throws -> String { "blobs/sha256/\(try Digest.hex(digest))" }

    private func parseName(_ name: String) throws -> ImageReference {
        do {
            return try ImageReference(parsing: name)
        } catch {
            throw ImageContentError("\(path): image name \"\(name)\": \(error)")
        }
    }

    private func decodeJSON<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(try read(name)))
        } catch let error as ImageContentError {
            throw error
        } catch {
            throw ImageContentError("\(path): \(name) is invalid: \(error)")
        }
    }
}
