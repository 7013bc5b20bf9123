import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One file of a configMap, secret, downwardAPI or projected volume.
struct FileProjection: Equatable {
    var data: [UInt8]
    var mode: mode_t
}

/// Upstream's atomic writer layout, so that a container sees a whole new version of a
/// volume or the old one, never a mix: the files live in a timestamped `..<ts>` directory,
/// `..data` is a symlink to it swapped by rename(2), and each top-level name is a symlink
/// `name -> ..data/name`.
struct AtomicWriter {
    static let dataDirectoryName = "..data"
    let targetDirectory: String

    /// Writes `payload` (relative path → file) unless the current version already holds the
    /// same paths and contents (modes are not compared, as upstream: they come from the
    /// immutable pod spec); returns whether a new version was written.
    @discardableResult
    func write(_ payload: [String: FileProjection]) throws -> Bool {
        for path in payload.keys { try Self.validate(path) }
        let dataLink = targetDirectory + "/" + Self.dataDirectoryName
        let oldVersion = HostFS.readLink(dataLink)
        let oldPaths = Set(oldVersion.map { Self.files(in: targetDirectory + "/" + $0) } ?? [])
        if let oldVersion, oldPaths == Set(payload.keys),
           payload.allSatisfy({ path, file in
               let full = targetDirectory + "/" + oldVersion + "/" + path
               return HostFS.readFile(full) == file.data
           }) {
            try createUserVisibleLinks(payload.keys)
            return false
        }

        let version = try makeVersionDirectory()
        for (path, file) in payload {
            let full = targetDirectory + "/" + version + "/" + path
            try HostFS.makeDirectories((full as NSString).deletingLastPathComponent, mode: 0o755)
            try HostFS.writeFile(full, file.data, mode: file.mode)
        }
        let tmpLink = targetDirectory + "/..data_tmp"
        try HostFS.removeAll(tmpLink)
        try HostFS.symlink(version, at: tmpLink)
        try HostFS.rename(tmpLink, dataLink)

        try createUserVisibleLinks(payload.keys)
        let newTop = Set(payload.keys.map(Self.topComponent))
        for old in Set(oldPaths.map(Self.topComponent)).subtracting(newTop) {
            try HostFS.removeAll(targetDirectory + "/" + old)
        }
        if let oldVersion { try HostFS.removeAll(targetDirectory + "/" + oldVersion) }
        return true
    }

    private func createUserVisibleLinks(_ paths: some Sequence<String>) throws {
        for top in Set(paths.map(Self.topComponent)) where !HostFS.exists(targetDirectory + "/" + top) {
            try HostFS.symlink(Self.dataDirectoryName + "/" + top, at: targetDirectory + "/" + top)
        }
    }

    /// `..2006_01_02_15_04_05.<random>`, as upstream names versions.
    private func makeVersionDirectory() throws -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy_MM_dd_HH_mm_ss"
        let stamp = formatter.string(from: Date())
        for _ in 0..<100 {
            let name = "..\(stamp).\(UInt32.random(in: 0...UInt32.max))"
            let path = targetDirectory + "/" + name
            if mkdir(path, 0o755) == 0 {
                try HostFS.setMode(path, 0o755)
                return name
            }
            if errno != EEXIST { throw HostFS.errnoFailure("mkdir", path) }
        }
        throw HostFS.Failure(description: "could not create a version directory in \(targetDirectory)")
    }

    static func topComponent(_ path: String) -> String {
        String(path.split(separator: "/", maxSplits: 1).first ?? Substring(path))
    }

    /// Upstream's validatePath: relative, no `..` element, not starting with `..`.
    static func validate(_ path: String) throws {
        if path.isEmpty { throw HostFS.Failure(description: "invalid path: must not be empty: \(path)") }
        if path.hasPrefix("/") { throw HostFS.Failure(description: "invalid path: must be relative path: \(path)") }
        if path.split(separator: "/").contains("..") { throw HostFS.Failure(description: "invalid path: must not contain '..': \(path)") }
        if path.hasPrefix("..") { throw HostFS.Failure(description: "invalid path: must not start with '..': \(path)") }
    }

    /// The regular files below `directory`, as paths relative to it.
    static func files(in directory: String) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return [] }
        var out: [String] = []
        while let relative = walker.nextObject() as? String {
            if HostFS.kind(directory + "/" + relative) == .regular { out.append(relative) }
        }
        return out
    }
}
