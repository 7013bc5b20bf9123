import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The few file-system system calls volumes need (mount, stat, ownership), made directly
/// rather than through mount(8) or chown(1): every process start costs ~9 ms.
enum HostFS {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func errnoFailure(_ what: String, _ path: String) -> Failure {
        Failure(description: "\(what) \(path): \(String(cString: strerror(errno)))")
    }

    /// The kind of file at `path`, following symlinks; nil if nothing is there.
    enum FileKind { case directory, regular, socket, characterDevice, blockDevice, other }

    static func kind(_ path: String) -> FileKind? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        switch st.st_mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFREG: return .regular
        case S_IFSOCK: return .socket
        case S_IFCHR: return .characterDevice
        case S_IFBLK: return .blockDevice
        default: return .other
        }
    }

    /// The permission bits (with setuid/setgid/sticky) of `path`, not following symlinks.
    static func mode(_ path: String) -> mode_t? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return st.st_mode & 0o7777
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// Creates `path` and its parents; new directories get exactly `mode` (not masked by umask).
    static func makeDirectories(_ path: String, mode: mode_t) throws {
        if kind(path) == .directory { return }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path { try makeDirectories(parent, mode: mode) }
        if mkdir(path, mode) != 0 && errno != EEXIST { throw errnoFailure("mkdir", path) }
        try setMode(path, mode)
    }

    static func setMode(_ path: String, _ mode: mode_t) throws {
        if chmod(path, mode) != 0 { throw errnoFailure("chmod", path) }
    }

    /// Writes `data` to a new file at `path` with exactly `mode`.
    static func writeFile(_ path: String, _ data: [UInt8], mode: mode_t) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw errnoFailure("open", path) }
        defer { close(fd) }
        var written = 0
        while written < data.count {
            let n = data[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw errnoFailure("write", path)
            }
            written += n
        }
        if fchmod(fd, mode) != 0 { throw errnoFailure("chmod", path) }
    }

    static func readFile(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { Array($0) }
    }

    static func symlink(_ target: String, at path: String) throws {
        if Glibc.symlink(target, path) != 0 { throw errnoFailure("symlink", path) }
    }

    static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n >= 0 else { return nil }
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func rename(_ from: String, _ to: String) throws {
        if Glibc.rename(from, to) != 0 { throw errnoFailure("rename", from) }
    }

    /// Removes `path` and everything below it; symlinks are removed, never followed.
    static func removeAll(_ path: String) throws {
        guard exists(path) else { return }
        try FileManager.default.removeItem(atPath: path)
    }

    /// The canonical path (symlinks resolved); nil if it does not exist.
    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    /// Whether `path` is `root` or below it (both canonical).
    static func isWithin(_ path: String, _ root: String) -> Bool {
        path == root || path.hasPrefix(root.hasSuffix("/") ? root : root + "/")
    }

    /// Mounts a tmpfs of `sizeBytes` at `path`.
    static func mountTmpfs(at path: String, sizeBytes: Int64) throws {
        if mount("tmpfs", path, "tmpfs", 0, "size=\(sizeBytes)") != 0 { throw errnoFailure("mount tmpfs at", path) }
    }

    /// Unmounts `path`, lazily if it is busy (a container may still be exiting).
    static func unmount(_ path: String) throws {
        if umount2(path, 0) == 0 { return }
        if errno == EBUSY, umount2(path, Int32(MNT_DETACH)) == 0 { return }
        if errno == EINVAL || errno == ENOENT { return }  // not a mount point (any more)
        throw errnoFailure("unmount", path)
    }

    /// The mount points of this mount namespace, from /proc/self/mountinfo.
    static func mountPoints() throws -> [String] {
        let text = try readProcFile("/proc/self/mountinfo")
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            return fields.count > 4 ? unescapeMountPath(String(fields[4])) : nil
        }
    }

    /// Reads a /proc file to its end: they report a size of 0, so a read sized by stat(2)
    /// (as Foundation's) would see nothing.
    static func readProcFile(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw errnoFailure("open", path) }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw errnoFailure("read", path)
            }
            if n == 0 { break }
            out += buffer[..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// mountinfo writes space, tab, newline and backslash as octal escapes (`\040`).
    static func unescapeMountPath(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out: [UInt8] = []
        let bytes = Array(s.utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\\"), i + 3 < bytes.count, let v = UInt8(String(decoding: bytes[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                out.append(v)
                i += 4
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// SetVolumeOwnership: every file below `root` gets group `fsGroup`; files gain g+r
    /// (g+rw unless read-only) and directories also g+x and setgid, so the group can use them.
    static func applyFSGroup(_ root: String, fsGroup: gid_t, readOnly: Bool) throws {
        let mask: mode_t = readOnly ? 0o440 : 0o660
        func visit(_ path: String) throws {
            var st = stat()
            guard lstat(path, &st) == 0 else { throw errnoFailure("lstat", path) }
            if lchown(path, uid_t.max, fsGroup) != 0 { throw errnoFailure("chown", path) }
            let type = st.st_mode & S_IFMT
            if type == S_IFLNK { return }  // chmod would follow the link and change its target's mode
            if type == S_IFDIR {
                try setMode(path, (st.st_mode & 0o7777) | mask | 0o110 | S_ISGID)
                for child in try FileManager.default.contentsOfDirectory(atPath: path) { try visit(path + "/" + child) }
            } else {
                try setMode(path, (st.st_mode & 0o7777) | mask)
            }
        }
        try visit(root)
    }
}
