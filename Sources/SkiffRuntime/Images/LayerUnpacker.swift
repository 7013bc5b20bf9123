import CImageSys
import Foundation

/// Unpacks a layer's tar stream into a directory that overlayfs uses as a lower dir:
/// whiteouts become overlayfs' own (a 0:0 character device; `trusted.overlay.opaque=y`),
/// nothing may land outside the directory (`..` and paths through symlinks are refused),
/// and ownership, modes, links, devices, fifos, xattrs and mtimes are kept (we are root).
struct LayerUnpacker {
    let root: String

    /// Unpacks every entry; returns the bytes of regular files written.
    func unpack(_ reader: TarReader) throws -> Int64 {
        var written: Int64 = 0
        var directoryTimes: [(String, Int64)] = []
        while let entry = try reader.next() {
            let components = try Self.clean(entry.path)
            guard let base = components.last else { continue }  // the root itself
            let parent = try ensureParents(Array(components.dropLast()), entry: entry.path)
            if base.hasPrefix(".wh.") {
                try whiteout(base: base, parent: parent, entry: entry.path)
                continue
            }
            let path = parent + "/" + base
            var st = stat()
            let exists = lstat(path, &st) == 0
            if exists && !(entry.kind == .directory && (st.st_mode & S_IFMT) == S_IFDIR) {
                try removeTree(path)
            }
            switch entry.kind {
            case .file:
                let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
                guard fd >= 0 else { throw posixError("create", path) }
                defer { close(fd) }
                while true {
                    let chunk = try reader.readData(1 << 16)
                    if chunk.isEmpty { break }
                    var offset = 0
                    while offset < chunk.count {
                        let n = chunk[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                        guard n > 0 else { throw posixError("write", path) }
                        offset += n
                    }
                    written += Int64(chunk.count)
                }
            case .directory:
                if !exists || (st.st_mode & S_IFMT) != S_IFDIR {
                    guard mkdir(path, 0o700) == 0 else { throw posixError("mkdir", path) }
                }
                directoryTimes.append((path, entry.mtime))
            case .symlink:
                guard symlink(entry.linkName, path) == 0 else { throw posixError("symlink", path) }
            case .hardLink:
                let target = try Self.clean(entry.linkName)
                guard !target.isEmpty else { throw ImageContentError("tar entry \"\(entry.path)\" links to the layer's root") }
                let targetParent = try ensureParents(Array(target.dropLast()), entry: entry.linkName, create: false)
                let targetPath = targetParent + "/" + target[target.count - 1]
                guard link(targetPath, path) == 0 else { throw posixError("link to \(entry.linkName)", path) }
                continue  // the inode's metadata is the target's
            case .characterDevice, .blockDevice, .fifo:
                let type: mode_t = entry.kind == .fifo ? S_IFIFO : entry.kind == .blockDevice ? S_IFBLK : S_IFCHR
                let dev = Self.makeDevice(entry.devMajor, entry.devMinor)
                guard mknod(path, type | 0o600, dev) == 0 else { throw posixError("mknod", path) }
            }
            try applyMetadata(entry, path: path)
        }
        // Creating children changes a directory's mtime, so directories come last, deepest first.
        for (path, mtime) in directoryTimes.reversed() { try setTime(path, mtime) }
        return written
    }

    /// Path components of a tar name; `..` anywhere is refused rather than resolved.
    static func clean(_ name: String) throws -> [String] {
        var out: [String] = []
        for part in name.split(separator: "/") where part != "." {
            if part == ".." { throw ImageContentError("tar entry \"\(name)\" escapes the layer with \"..\"") }
            out.append(String(part))
        }
        return out
    }

    /// Makes (or checks) the directories above an entry; a symlink on the way is refused,
    /// so nothing is ever written through one to a place outside the layer.
    private func ensureParents(_ components: [String], entry: String, create: Bool = true) throws -> String {
        var path = root
        for component in components {
            path += "/" + component
            var st = stat()
            if lstat(path, &st) != 0 {
                guard create, errno == ENOENT else { throw posixError("lstat", path) }
                guard mkdir(path, 0o755) == 0 else { throw posixError("mkdir", path) }
            } else if (st.st_mode & S_IFMT) == S_IFLNK {
                throw ImageContentError("tar entry \"\(entry)\" goes through the symlink \"\(component)\"; refused")
            } else if (st.st_mode & S_IFMT) != S_IFDIR {
                throw ImageContentError("tar entry \"\(entry)\" needs \"\(component)\" to be a directory")
            }
        }
        return path
    }

    /// `.wh..wh..opq` makes the directory opaque; `.wh.<name>` hides `<name>` of lower layers.
    private func whiteout(base: String, parent: String, entry: String) throws {
        if base == ".wh..wh..opq" {
            let value: [UInt8] = [UInt8(ascii: "y")]
            guard lsetxattr(parent, "trusted.overlay.opaque", value, 1, 0) == 0 else { throw posixError("setxattr opaque", parent) }
            return
        }
        if base.hasPrefix(".wh..wh.") { return }  // aufs' own bookkeeping (.wh..wh.plnk), meaningless here
        let name = String(base.dropFirst(4))
        guard !name.isEmpty, name != ".", name != ".." else { throw ImageContentError("tar entry \"\(entry)\" is a malformed whiteout") }
        let path = parent + "/" + name
        try removeTree(path)
        guard mknod(path, S_IFCHR | 0o000, 0) == 0 else { throw posixError("mknod whiteout", path) }
    }

    private func applyMetadata(_ entry: TarEntry, path: String) throws {
        guard lchown(path, uid_t(entry.uid), gid_t(entry.gid)) == 0 else { throw posixError("chown", path) }
        if entry.kind != .symlink {
            // After chown, which clears set-user-ID and set-group-ID bits.
            guard chmod(path, mode_t(entry.mode & 0o7777)) == 0 else { throw posixError("chmod", path) }
        }
        for (name, value) in entry.xattrs.sorted(by: { $0.key < $1.key }) {
            guard lsetxattr(path, name, value, value.count, 0) == 0 else { throw posixError("setxattr \(name)", path) }
        }
        if entry.kind != .directory { try setTime(path, entry.mtime) }
    }

    private func setTime(_ path: String, _ mtime: Int64) throws {
        var times = [timespec(tv_sec: Int(mtime), tv_nsec: 0), timespec(tv_sec: Int(mtime), tv_nsec: 0)]
        guard utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW) == 0 else { throw posixError("utimensat", path) }
    }

    private func removeTree(_ path: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            try FileManager.default.removeItem(atPath: path)
        } else if unlink(path) != 0 {
            throw posixError("unlink", path)
        }
    }

    /// glibc's makedev, which Swift cannot import (a macro).
    static func makeDevice(_ major: UInt32, _ minor: UInt32) -> dev_t {
        let ma = UInt64(major), mi = UInt64(minor)
        return dev_t((ma & 0xfff) << 8 | (ma & ~0xfff) << 32 | (mi & 0xff) | (mi & ~0xff) << 12)
    }

    private func posixError(_ what: String, _ path: String) -> ImageContentError {
        ImageContentError("\(what) \(path): \(String(cString: strerror(errno)))")
    }
}
