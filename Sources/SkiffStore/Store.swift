/// A stored value at a revision, as etcd's mvccpb.KeyValue.
public struct KeyValue: Sendable, Equatable {
    public var key: String
    public var value: [UInt8]
    /// The revision that created this key (stays the same across updates).
    public var createRevision: Int64
    /// The revision of the last change: the object's resourceVersion.
    public var modRevision: Int64

    public init(key: String, value: [UInt8], createRevision: Int64, modRevision: Int64) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
    }
}

/// One change in revision order. Deletes carry the value that was deleted.
public struct WatchEvent: Sendable, Equatable {
    public enum EventType: Sendable, Equatable { case put, delete }
    public var type: EventType
    /// For a put the new value; for a delete the last value, with modRevision set to the
    /// delete's revision (as etcd's prev_kv plus the delete header).
    public var kv: KeyValue
    /// The value before this change; nil for a create.
    public var prevKV: KeyValue?
    public var revision: Int64 { kv.modRevision }
    public var isCreate: Bool { type == .put && prevKV == nil }
}

public enum StoreError: Error, Sendable, Equatable {
    case keyExists(key: String)
    case keyNotFound(key: String)
    /// Compare-and-swap failed: the key is now at `currentRevision` (0 when it is gone).
    case conflict(key: String, currentRevision: Int64)
    /// The requested revision was compacted away.
    case compacted(requested: Int64, compacted: Int64)
    /// The requested revision is in the future.
    case futureRevision(requested: Int64, current: Int64)
    case unavailable(String)
}

/// The value to write, produced once the store knows the revision it will get, so the
/// stored bytes can carry their own resourceVersion ("encode once").
public typealias ValueAtRevision = @Sendable (_ revision: Int64) -> [UInt8]

/// What etcd is to Kubernetes: revisioned keys with compare-and-swap, lists at a revision,
/// watches from a revision and compaction. Every write gets the next global revision.
public protocol Store: Sendable {
    /// The revision of the last committed write.
    func currentRevision() async -> Int64
    /// The oldest revision still readable: lists and watches before it fail with `.compacted`.
    func compactedRevision() async -> Int64

    /// Creates `key`; fails with `.keyExists` when it is there.
    func create(key: String, value: @escaping ValueAtRevision) async throws(StoreError) -> KeyValue
    /// Replaces `key`. With `expectedRevision`, fails with `.conflict` unless the key's
    /// modRevision is exactly that (compare-and-swap); a missing key fails `.keyNotFound`.
    func update(key: String, expectedRevision: Int64?, value: @escaping ValueAtRevision) async throws(StoreError) -> KeyValue
    /// Deletes `key`, optionally only at `expectedRevision`. Returns the deleted value with
    /// modRevision set to the delete's revision.
    func delete(key: String, expectedRevision: Int64?) async throws(StoreError) -> KeyValue

    func get(key: String) async -> KeyValue?
    /// The keys under `prefix` in key order at `revision` (nil: latest), and the revision read at.
    func list(prefix: String, atRevision: Int64?) async throws(StoreError) -> (items: [KeyValue], revision: Int64)
    /// Every event under `prefix` after `afterRevision`, in revision order, exactly once,
    /// then every later one until the stream is cancelled. Fails `.compacted` when the
    /// history from `afterRevision` is gone.
    func watch(prefix: String, afterRevision: Int64) async throws(StoreError) -> AsyncStream<WatchEvent>
    /// Forgets history before `revision`.
    func compact(revision: Int64) async
    /// Figures for /metrics.
    func stats() async -> StoreStats
}

public struct StoreStats: Sendable {
    public var revision: Int64
    public var compactedRevision: Int64
    public var compactions: Int
    public var keys: Int
    /// Bytes on disk; 0 for a store in memory.
    public var databaseBytes: Int

    public init(revision: Int64, compactedRevision: Int64, compactions: Int, keys: Int, databaseBytes: Int) {
        self.revision = revision
        self.compactedRevision = compactedRevision
        self.compactions = compactions
        self.keys = keys
        self.databaseBytes = databaseBytes
    }
}
