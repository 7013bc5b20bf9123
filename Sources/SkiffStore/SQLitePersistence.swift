import Foundation
#if canImport(Glibc)
import Glibc
#endif
import GRDB
import Logging
import Synchronization

/// Durable state in one SQLite file: the current value of every key and the last
/// revision. History is the store's business (in memory), so the file never needs
/// compacting and its size follows the live data.
///
/// The WAL is kept small without ever stalling writers: automatic checkpoints are off,
/// a second connection copies the WAL back (PASSIVE) in the background once enough was
/// written, and SQLite restarts the WAL at the next write after a complete checkpoint.
/// Only if the WAL still grows past `walHardLimit` (a checkpoint could never catch up)
/// does the writer itself run a blocking RESTART checkpoint.
public final class SQLitePersistence: StorePersistence {
    public let path: String
    private let writer: DatabaseQueue
    private let checkpointer: DatabaseQueue
    private let checkpointQueue = DispatchQueue(label: "skiff.sqlite.checkpoint")
    private let state = Mutex(CheckpointState())
    private let logger = Logger(label: "skiff.store.sqlite")
    let walSoftLimit: Int
    let walHardLimit: Int

    struct CheckpointState {
        var running = false
        var checkpoints = 0
    }

    public init(path: String, walSoftLimit: Int = 4 << 20, walHardLimit: Int = 64 << 20) throws {
        self.path = path
        self.walSoftLimit = walSoftLimit
        self.walHardLimit = walHardLimit
        var config = Configuration()
        config.journalMode = .wal
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            // FULL: a commit is on disk before the write is acknowledged.
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
        }
        writer = try DatabaseQueue(path: path, configuration: config)
        try writer.write { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS kv (
                    key TEXT PRIMARY KEY NOT NULL,
                    value BLOB NOT NULL,
                    create_revision INTEGER NOT NULL,
                    mod_revision INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);
                INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 0);
                """)
        }
        checkpointer = try DatabaseQueue(path: path, configuration: config)
    }

    public func load() throws -> (items: [KeyValue], revision: Int64) {
        try writer.read { db in
            let rev = try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE name = 'revision'") ?? 0
            var items: [KeyValue] = []
            let rows = try Row.fetchCursor(db, sql: "SELECT key, value, create_revision, mod_revision FROM kv ORDER BY key")
            while let row = try rows.next() {
                let data: Data = row[1]
                items.append(KeyValue(key: row[0], value: [UInt8](data), createRevision: row[2], modRevision: row[3]))
            }
            return (items, rev)
        }
    }

    public func commit(_ events: [WatchEvent], revision: Int64) async throws {
        try await writer.write { db in
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO kv (key, value, create_revision, mod_revision) VALUES (?, ?, ?, ?)
                ON CONFLICT(key) DO UPDATE SET value = excluded.value, mod_revision = excluded.mod_revision
                """)
            let remove = try db.cachedStatement(sql: "DELETE FROM kv WHERE key = ?")
            for e in events {
                switch e.type {
                case .put:
                    try upsert.execute(arguments: [e.kv.key, Data(e.kv.value), e.kv.createRevision, e.kv.modRevision])
                case .delete:
                    try remove.execute(arguments: [e.kv.key])
                }
            }
            try db.execute(sql: "UPDATE meta SET value = ? WHERE name = 'revision'", arguments: [revision])
        }
        afterCommit()
    }

    /// Starts a background checkpoint once the WAL passes the soft limit; past the hard
    /// limit the writer waits for a RESTART checkpoint, which bounds the WAL whatever the
    /// load. Checkpoints run on one queue and one connection: two checkpointers at once
    /// would make SQLite answer "database is locked". The commit is durable already, so a
    /// failed checkpoint is logged, never reported as a failed write.
    private func afterCommit() {
        let wal = walSize()
        if wal > walHardLimit {
            logger.warning("WAL over its hard limit; checkpointing before the next write", metadata: ["bytes": "\(wal)"])
            checkpointQueue.sync { checkpoint(.restart) }
            return
        }
        let start = state.withLock { s -> Bool in
            guard !s.running, wal >= walSoftLimit else { return false }
            s.running = true
            return true
        }
        if start {
            checkpointQueue.async { [self] in
                checkpoint(.passive)
                state.withLock { $0.running = false }
            }
        }
    }

    private func checkpoint(_ kind: Database.CheckpointMode) {
        do {
            try checkpointer.writeWithoutTransaction { _ = try $0.checkpoint(kind) }
            state.withLock { $0.checkpoints += 1 }
        } catch {
            logger.warning("WAL checkpoint failed", metadata: ["error": "\(error)", "mode": "\(kind)"])
        }
    }

    /// The current size of the write-ahead log file in bytes.
    public func walSize() -> Int { fileSize(path + "-wal") }

    /// The size of the database file and its WAL in bytes.
    public var databaseBytes: Int { fileSize(path) + walSize() }

    private func fileSize(_ path: String) -> Int {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : 0
    }

    public var checkpointCount: Int { state.withLock { $0.checkpoints } }
}
