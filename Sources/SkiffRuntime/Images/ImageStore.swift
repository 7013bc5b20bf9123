import Foundation
import Logging

/// The node's content-addressed image store under `<data-dir>/images`:
/// `blobs/sha256/<hex>` (manifests, configs, layers as pulled), `layers/<diffID hex>/fs`
/// (each layer unpacked once, shared read-only as an overlay lower dir by every image and
/// container using it) and `index.json` (references → images), which several processes
/// (the agent and `skiff images`) update under `flock` with atomic renames.
public actor ImageStore: ImageService {
    let root: String
    let registries: RegistryConfig
    let logger: Logger

    /// Blobs and layers younger than this are never pruned as unreferenced: another process
    /// may be pulling them and not have recorded its image yet.
    static let pruneGrace: TimeInterval = 600

    /// Creates the store's directories if needed and clears leftovers of interrupted pulls.
    public init(root: String, registries: RegistryConfig, logger: Logger) throws {
        self.root = root
        self.registries = registries
        self.logger = logger
        for dir in ["blobs/sha256", "layers", "tmp"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(dir)", withIntermediateDirectories: true)
        }
        let now = Date()
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/tmp")) ?? [] {
            let path = "\(root)/tmp/\(name)"
            if let modified = Self.modificationDate(path), now.timeIntervalSince(modified) > Self.pruneGrace {
                Self.removeQuietly(path, logger: logger)
            }
        }
    }

    // MARK: ImageService

    public func pullImage(_ reference: String, auth: [String: AuthConfig]) async throws -> Image {
        let ref = try Self.parse(reference)
        if let found = try touch(ref) { return found }
        let started = ContinuousClock.now
        logger.info("pulling image", metadata: ["image": "\(ref)"])
        do {
            let image = try await pull(ref, auth: auth)
            logger.info("pulled image", metadata: ["image": "\(ref)", "id": "\(image.id)", "size": "\(image.size)",
                                                   "seconds": "\(ContinuousClock.now - started)"])
            return image
        } catch {
            throw RuntimeError("ErrImagePull", "failed to pull and unpack image \"\(ref)\": \(error)")
        }
    }

    public func imageStatus(_ reference: String) async throws -> Image? {
        let index = try readIndex()
        return try Self.find(reference, in: index).map { image(index.images[$0]!) }
    }

    public func listImages() async throws -> [Image] {
        try readIndex().images.values.sorted { ($0.repoTags.first ?? $0.id) < ($1.repoTags.first ?? $1.id) }.map(image)
    }

    public func removeImage(_ reference: String) async throws {
        var found: StoredImage?
        var untagOnly = false
        try withIndexLock { index in
            guard let id = try Self.find(reference, in: index) else { return }
            let record = index.images[id]!
            found = record
            // Removing by one of several tags drops that tag; the image goes with its last name.
            if let ref = try? ImageReference(parsing: reference), record.repoTags.count > 1, record.repoTags.contains(ref.description) {
                index.images[id]!.repoTags.removeAll { $0 == ref.description }
                untagOnly = true
                return
            }
            index.images[id] = nil
            try prune(index: index, candidates: record)
        }
        guard let found else {
            throw RuntimeError("ImageNotFound", "image \"\(reference)\" is not in the store")
        }
        logger.info(untagOnly ? "untagged image" : "removed image", metadata: ["id": "\(found.id)", "reference": "\(reference)"])
    }

    public func imageFsInfo() async throws -> (usedBytes: Int64, capacityBytes: Int64, availableBytes: Int64) {
        let fs = try filesystem()
        var used: Int64 = 0
        let blobs = "\(root)/blobs/sha256"
        for name in try FileManager.default.contentsOfDirectory(atPath: blobs) {
            used += ((try? FileManager.default.attributesOfItem(atPath: "\(blobs)/\(name)"))?[.size] as? NSNumber)?.int64Value ?? 0
        }
        for name in try FileManager.default.contentsOfDirectory(atPath: "\(root)/layers") {
            used += layerSize("\(root)/layers/\(name)") ?? 0
        }
        return (used, fs.capacity, fs.available)
    }

    // MARK: Garbage collection

    /// As the kubelet's image GC: when the image filesystem is fuller than `highThresholdPercent`,
    /// removes images no container uses, least recently used first, until usage would be at
    /// `lowThresholdPercent`, then the blobs and layers only they referenced. `inUse` holds
    /// image ids, tags or digests. Returns the ids removed, in order.
    @discardableResult
    public func garbageCollect(inUse: Set<String>, highThresholdPercent: Int = 85, lowThresholdPercent: Int = 80) async throws -> [String] {
        let fs = try filesystem()
        guard fs.capacity > 0 else { return [] }
        let usage = (fs.capacity - fs.available) * 100 / fs.capacity
        guard usage >= Int64(highThresholdPercent) else { return [] }
        let toFree = fs.capacity * Int64(100 - lowThresholdPercent) / 100 - fs.available
        let index = try readIndex()
        let candidates = index.images.values.filter { record in
            !inUse.contains(record.id) && inUse.isDisjoint(with: record.repoTags) && inUse.isDisjoint(with: record.repoDigests)
        }
        let order = Self.collectionOrder(candidates.map { (id: $0.id, lastUsed: $0.lastUsed, size: $0.size) }, bytesToFree: toFree)
        logger.info("image garbage collection", metadata: ["usagePercent": "\(usage)", "bytesToFree": "\(toFree)", "removing": "\(order.count)"])
        var removed: [String] = []
        try withIndexLock { index in
            for id in order {
                guard let record = index.images[id] else { continue }
                index.images[id] = nil
                removed.append(id)
                try prune(index: index, candidates: record)
            }
            try prune(index: index, candidates: nil)
        }
        return removed
    }

    /// Least recently used first, until the sizes add up to `bytesToFree`.
    static func collectionOrder(_ images: [(id: String, lastUsed: Date, size: Int64)], bytesToFree: Int64) -> [String] {
        var freed: Int64 = 0
        var out: [String] = []
        for image in images.sorted(by: { ($0.lastUsed, $0.id) < ($1.lastUsed, $1.id) }) {
            if freed >= bytesToFree { break }
            out.append(image.id)
            freed += image.size
        }
        return out
    }

    // MARK: Pulling

    private func pull(_ ref: ImageReference, auth: [String: AuthConfig]) async throws -> Image {
        var lastError: Error?
        for endpoint in registries.endpoints(for: ref) {
            let credentials = auth[endpoint.host] ?? (endpoint.isMirror ? nil : auth[ref.domain])
                ?? registries.configs[endpoint.host]?.auth?.authConfig
            do {
                let session = try RegistrySession(endpoint: endpoint, credentials: credentials,
                                                  hostConfig: registries.configs[endpoint.host], logger: logger)
                var (bytes, mediaType, digest) = try await session.manifest(ref.manifestReference)
                var manifest = try ManifestDocument.parse(bytes, mediaType: mediaType)
                if manifest.isIndex {
                    let pick = try manifest.platformManifest()
                    (bytes, mediaType, digest) = try await session.manifest(pick.digest)
                    manifest = try ManifestDocument.parse(bytes, mediaType: mediaType)
                    guard !manifest.isIndex else { throw ImageContentError("a manifest list points to another manifest list") }
                }
                try writeBlob(bytes, digest: digest)
                let record = try await fetchImage(
                    manifest: manifest, manifestDigest: digest,
                    repoTags: ref.tag != nil && ref.digest == nil ? [ref.description] : [], repoDigests: ["\(ref.repository)@\(digest)"]
                ) { descriptor, path in
                    try await session.fetchBlob(descriptor, to: path)
                }
                return try commit([record])[0]
            } catch {
                lastError = error
                guard endpoint.isMirror else { break }
                logger.warning("mirror failed; trying the next endpoint", metadata: ["mirror": "\(endpoint.baseURL)", "error": "\(error)"])
            }
        }
        throw lastError ?? ImageContentError("no endpoint to pull from")
    }

    /// Fetches the config and every layer not yet unpacked, unpacks them, and returns the
    /// image's record (for `commit`). `context` prefixes error messages (the archive's path).
    private func fetchImage(manifest: ManifestDocument, manifestDigest: String, repoTags: [String], repoDigests: [String],
                            context: String = "", fetch: (Descriptor, String) async throws -> Void) async throws -> StoredImage {
        guard let configDescriptor = manifest.config, let layers = manifest.layers else {
            throw ImageContentError("\(context)manifest \(manifestDigest) has no config or layers")
        }
        try await ensureBlob(configDescriptor, fetch: fetch)
        let config = try ImageConfigFile.parse(try readBlob(configDescriptor.digest))
        guard config.rootfs.diff_ids.count == layers.count else {
            throw ImageContentError("\(context)image config lists \(config.rootfs.diff_ids.count) layers, the manifest \(layers.count)")
        }
        for (layer, diffID) in zip(layers, config.rootfs.diff_ids) where !layerExists(diffID) {
            try await ensureBlob(layer, fetch: fetch)
            try unpackLayer(blob: blobPath(layer.digest), diffID: diffID)
        }
        return StoredImage(
            id: configDescriptor.digest, manifestDigest: manifestDigest, repoTags: repoTags, repoDigests: repoDigests,
            layers: zip(layers, config.rootfs.diff_ids).map { StoredImage.Layer(digest: $0.digest, diffID: $1, size: $0.size) },
            configSize: configDescriptor.size, config: config.imageConfig, lastUsed: Date())
    }

    // MARK: Importing

    /// Loads an OCI image layout archive or a `docker save` archive (plain or gzipped); each
    /// image is named by its annotations or RepoTags, or by `name` when it has none. Nothing
    /// is recorded unless every image of the archive unpacked; importing twice changes nothing.
    /// The images returned carry the names this archive gave (other names they have are kept).
    public func importArchive(path: String, name: String? = nil) async throws -> [Image] {
        let work = "\(root)/tmp/import-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { Self.removeQuietly(work, logger: logger) }
        guard FileManager.default.fileExists(atPath: path) else { throw ImageContentError("\(path): no such file") }
        var tarPath = path
        if try FileSource.peek(path: path, count: 2) == [0x1f, 0x8b] {
            tarPath = "\(work)/archive.tar"
            try copy(try GzipSource(try FileSource(path: path)), to: tarPath)
        }
        let archive = try ArchiveMembers(path: tarPath)
        let images = archive.has("oci-layout") ? try archive.ociImages(defaultName: name) : try archive.dockerImages(defaultName: name)
        guard !images.isEmpty else { throw ImageContentError("\(path) holds no images") }
        var records: [StoredImage] = []
        for found in images {
            let fetch: (Descriptor, String) async throws -> Void = { descriptor, dest in
                let digest = try archive.copyMember(found.blobs[descriptor.digest] ?? "", to: dest)
                guard digest == descriptor.digest else {
                    throw ImageContentError("\(path): blob \(descriptor.digest) has digest \(digest): the archive is corrupt")
                }
            }
            try writeBlob(found.manifest, digest: found.manifestDigest)
            records.append(try await fetchImage(
                manifest: try ManifestDocument.parse(found.manifest, mediaType: nil), manifestDigest: found.manifestDigest,
                repoTags: found.names.map(\.description),
                repoDigests: Array(Set(found.names.map { "\($0.repository)@\(found.manifestDigest)" })).sorted(),
                context: "\(path): ", fetch: fetch))
        }
        var imported = try commit(records)
        for i in imported.indices { imported[i].repoTags = records[i].repoTags }
        for image in imported { logger.info("imported image", metadata: ["tags": "\(image.repoTags)", "id": "\(image.id)"]) }
        return imported
    }

    // MARK: Blobs and layers

    func blobPath(_ digest: String) throws -> String { "\(root)/blobs/sha256/\(try Digest.hex(digest))" }

    private func layerPath(_ diffID: String) throws -> String { "\(root)/layers/\(try Digest.hex(diffID))" }

    private func layerExists(_ diffID: String) -> Bool {
        guard let path = try? layerPath(diffID) else { return false }
        return FileManager.default.fileExists(atPath: "\(path)/complete")
    }

    private func layerSize(_ path: String) -> Int64? {
        (try? String(contentsOfFile: "\(path)/complete", encoding: .utf8)).flatMap { Int64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    private func readBlob(_ digest: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: try blobPath(digest))))
    }

    private func writeBlob(_ bytes: [UInt8], digest: String) throws {
        let dest = try blobPath(digest)
        guard Digest.sha256(bytes) == digest else { throw ImageContentError("content does not match digest \(digest)") }
        if FileManager.default.fileExists(atPath: dest) { return }
        let tmp = "\(root)/tmp/blob-\(UUID().uuidString)"
        try Data(bytes).write(to: URL(fileURLWithPath: tmp))
        try Self.rename(tmp, dest)
    }

    /// Fetches a blob into tmp/ and renames it into place, unless it is already there.
    private func ensureBlob(_ descriptor: Descriptor, fetch: (Descriptor, String) async throws -> Void) async throws {
        let dest = try blobPath(descriptor.digest)
        if let attributes = try? FileManager.default.attributesOfItem(atPath: dest),
           (attributes[.size] as? NSNumber)?.int64Value == descriptor.size {
            return
        }
        let tmp = "\(root)/tmp/blob-\(UUID().uuidString)"
        do {
            try await fetch(descriptor, tmp)
            try Self.rename(tmp, dest)
        } catch {
            Self.removeQuietly(tmp, logger: logger)
            throw error
        }
    }

    /// Unpacks into tmp/, checks the diffID, then renames into layers/: a layer directory
    /// that exists is complete (its `complete` file holds its size), even after a crash.
    private func unpackLayer(blob: String, diffID: String) throws {
        let dest = try layerPath(diffID)
        let tmp = "\(root)/tmp/layer-\(UUID().uuidString)"
        do {
            try FileManager.default.createDirectory(atPath: "\(tmp)/fs", withIntermediateDirectories: true)
            let source = HashingSource(try openMaybeCompressed(path: blob))
            let written = try LayerUnpacker(root: "\(tmp)/fs").unpack(TarReader(source))
            _ = try source.drain()
            guard source.digest == diffID else {
                throw ImageContentError("layer \(diffID) unpacks to content with digest \(source.digest)")
            }
            try Data("\(written)\n".utf8).write(to: URL(fileURLWithPath: "\(tmp)/complete"))
            if Foundation.rename(tmp, dest) != 0 {
                guard errno == EEXIST || errno == ENOTEMPTY else { throw ImageContentError("rename \(tmp) to \(dest): \(String(cString: strerror(errno)))") }
                Self.removeQuietly(tmp, logger: logger)  // another pull unpacked it first
            }
        } catch {
            Self.removeQuietly(tmp, logger: logger)
            throw error
        }
    }

    /// Deletes the blobs and layers of `candidates` (nil: every unreferenced one older than
    /// the grace period) that no image in `index` references. Called with the lock held.
    private func prune(index: StoreIndex, candidates: StoredImage?) throws {
        var blobs = Set<String>(), layers = Set<String>()
        for record in index.images.values {
            blobs.formUnion([record.manifestDigest, record.id] + record.layers.map(\.digest))
            layers.formUnion(record.layers.map(\.diffID))
        }
        let removeBlob: (String) -> Void = { [logger] hex in Self.removeQuietly("\(self.root)/blobs/sha256/\(hex)", logger: logger) }
        let removeLayer: (String) -> Void = { [logger] hex in
            // Renamed away first, so no one ever sees a half-deleted layer as complete.
            let trash = "\(self.root)/tmp/trash-\(UUID().uuidString)"
            if Foundation.rename("\(self.root)/layers/\(hex)", trash) == 0 { Self.removeQuietly(trash, logger: logger) }
        }
        if let record = candidates {
            for digest in [record.manifestDigest, record.id] + record.layers.map(\.digest) where !blobs.contains(digest) {
                removeBlob(try Digest.hex(digest))
            }
            for layer in record.layers where !layers.contains(layer.diffID) { removeLayer(try Digest.hex(layer.diffID)) }
            return
        }
        let now = Date()
        func old(_ path: String) -> Bool { Self.modificationDate(path).map { now.timeIntervalSince($0) > Self.pruneGrace } ?? false }
        for hex in try FileManager.default.contentsOfDirectory(atPath: "\(root)/blobs/sha256")
        where !blobs.contains("sha256:\(hex)") && old("\(root)/blobs/sha256/\(hex)") {
            removeBlob(hex)
        }
        for hex in try FileManager.default.contentsOfDirectory(atPath: "\(root)/layers")
        where !layers.contains("sha256:\(hex)") && old("\(root)/layers/\(hex)/complete") {
            removeLayer(hex)
        }
    }

    // MARK: The index

    /// Records images: a tag moves to its new image; names and digests accumulate.
    private func commit(_ records: [StoredImage]) throws -> [Image] {
        var out: [Image] = []
        try withIndexLock { index in
            for var record in records {
                // A concurrent removal may have pruned what this pull found in place.
                for layer in record.layers where !layerExists(layer.diffID) {
                    throw ImageContentError("layer \(layer.diffID) was removed while the image was being stored; pull again")
                }
                for tag in record.repoTags {
                    for (id, other) in index.images where id != record.id && other.repoTags.contains(tag) {
                        index.images[id]!.repoTags.removeAll { $0 == tag }
                    }
                }
                if let existing = index.images[record.id] {
                    record.repoTags = Array(Set(existing.repoTags + record.repoTags)).sorted()
                    record.repoDigests = Array(Set(existing.repoDigests + record.repoDigests)).sorted()
                }
                index.images[record.id] = record
                out.append(image(record))
            }
        }
        return out
    }

    /// The image a reference names, its last use recorded for GC.
    private func touch(_ ref: ImageReference) throws -> Image? {
        var found: Image?
        guard try Self.find(ref.description, in: readIndex()) != nil else { return nil }
        try withIndexLock { index in
            guard let id = try Self.find(ref.description, in: index) else { return }
            index.images[id]!.lastUsed = Date()
            found = image(index.images[id]!)
        }
        return found
    }

    private var indexPath: String { "\(root)/index.json" }

    /// Reads without the lock: writers replace the file by rename, so a reader sees one whole version.
    private func readIndex() throws -> StoreIndex {
        guard let data = FileManager.default.contents(atPath: indexPath) else { return StoreIndex() }
        do {
            return try Self.decoder.decode(StoreIndex.self, from: data)
        } catch {
            throw ImageContentError("image index \(indexPath) is corrupt: \(error)")
        }
    }

    /// Runs `body` on the index holding an exclusive flock on `<root>/lock` (other processes
    /// share the store), and writes the result back atomically.
    private func withIndexLock(_ body: (inout StoreIndex) throws -> Void) throws {
        let fd = open("\(root)/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ImageContentError("cannot open \(root)/lock: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw ImageContentError("cannot lock \(root)/lock: \(String(cString: strerror(errno)))") }
        }
        var index = try readIndex()
        let before = index
        try body(&index)
        guard index != before else { return }
        let tmp = "\(root)/tmp/index-\(UUID().uuidString)"
        let data = try Self.encoder.encode(index)
        let out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard out >= 0 else { throw ImageContentError("cannot write \(tmp): \(String(cString: strerror(errno)))") }
        let ok = data.withUnsafeBytes { write(out, $0.baseAddress, $0.count) == $0.count } && fsync(out) == 0
        close(out)
        guard ok else {
            Self.removeQuietly(tmp, logger: logger)
            throw ImageContentError("cannot write \(tmp)")
        }
        try Self.rename(tmp, indexPath)
    }

    nonisolated private func image(_ record: StoredImage) -> Image {
        Image(id: record.id, repoTags: record.repoTags, repoDigests: record.repoDigests, size: record.size,
              config: record.config, layerDirectories: record.layers.map { "\(root)/layers/\($0.diffID.dropFirst(7))/fs" })
    }

    /// An id (`sha256:…` or its hex, or a unique prefix of 12+ hex digits), a tag or a digest reference.
    static func find(_ reference: String, in index: StoreIndex) throws -> String? {
        let hex = reference.hasPrefix("sha256:") ? String(reference.dropFirst(7)) : reference
        if hex.count >= 12, hex.count <= 64, hex.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) {
            let matches = index.images.keys.filter { $0.dropFirst(7).hasPrefix(hex) }
            if matches.count == 1 { return matches[0] }
            if hex.count == 64 || reference.hasPrefix("sha256:") { return nil }
        }
        let ref = try parse(reference)
        if let digest = ref.digest {
            let wanted = "\(ref.repository)@\(digest)"
            return index.images.values.first { $0.repoDigests.contains(wanted) }?.id
        }
        return index.images.values.first { $0.repoTags.contains(ref.description) }?.id
    }

    static func parse(_ reference: String) throws -> ImageReference {
        do {
            return try ImageReference(parsing: reference)
        } catch let error as ImageReference.ParseError {
            throw RuntimeError("InvalidImageName", "Failed to apply default image tag \"\(reference)\": couldn't parse image name \"\(reference)\": \(error.message)")
        }
    }

    // MARK: Files

    private func copy(_ source: ByteSource, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw ImageContentError("cannot create \(path)")
        }
        defer { try? handle.close() }
        while true {
            let chunk = try source.read(1 << 16)
            if chunk.isEmpty { return }
            try handle.write(contentsOf: chunk)
        }
    }

    private func filesystem() throws -> (capacity: Int64, available: Int64) {
        var fs = statvfs()
        guard statvfs(root, &fs) == 0 else { throw ImageContentError("statvfs \(root): \(String(cString: strerror(errno)))") }
        return (Int64(fs.f_blocks) * Int64(fs.f_frsize), Int64(fs.f_bavail) * Int64(fs.f_frsize))
    }

    private static func rename(_ from: String, _ to: String) throws {
        guard Foundation.rename(from, to) == 0 else {
            throw ImageContentError("rename \(from) to \(to): \(String(cString: strerror(errno)))")
        }
    }

    private static func modificationDate(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }

    private static func removeQuietly(_ path: String, logger: Logger) {
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            logger.warning("cannot remove leftover", metadata: ["path": "\(path)", "error": "\(error)"])
        }
    }

    private static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.dateEncodingStrategy = .secondsSince1970
        return e
    }()

    private static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .secondsSince1970
        return d
    }()
}

/// `index.json`: every image by id (its config's digest).
struct StoreIndex: Codable, Equatable {
    var images: [String: StoredImage] = [:]
}

/// One image as the index records it.
struct StoredImage: Codable, Equatable {
    struct Layer: Codable, Equatable {
        var digest: String
        var diffID: String
        var size: Int64
    }

    var id: String
    var manifestDigest: String
    var repoTags: [String]
    var repoDigests: [String]
    var layers: [Layer]
    var configSize: Int64
    var config: ImageConfig
    var lastUsed: Date

    /// Bytes of the blobs as pulled (config and layers), what `crictl images` shows.
    var size: Int64 { configSize + layers.reduce(0) { $0 + $1.size } }
}
