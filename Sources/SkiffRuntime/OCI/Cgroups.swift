import CSkiffSys
import Foundation
import Glibc

/// Which cgroup layout the host has. Detected, never assumed: these lab machines are
/// hybrid (v1 controllers plus a cgroup2 mount holding only hugetlb), most users' machines
/// are pure v2.
public enum CgroupMode: String, Sendable {
    case v1, hybrid, v2

    static let cgroup2Magic: Int = 0x6367_7270

    public static func detect(root: String = "/sys/fs/cgroup") -> CgroupMode {
        if isCgroup2(root) { return .v2 }
        let unified = root + "/unified"
        guard isCgroup2(unified) else { return .v1 }
        let controllers = (try? String(contentsOfFile: unified + "/cgroup.controllers", encoding: .utf8)) ?? ""
        return controllers.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? .v1 : .hybrid
    }

    static func isCgroup2(_ path: String) -> Bool {
        skiff_fs_type(path) == cgroup2Magic
    }

    /// The cgroup2 mount crun must not see on a hybrid host.
    public var hiddenMountForCrun: String? { self == .hybrid ? "/sys/fs/cgroup/unified" : nil }
}

/// Reads and cleans the cgroups the OCI runtime made for containers.
public struct Cgroups: Sendable {
    public var mode: CgroupMode
    public var root: String

    public init(mode: CgroupMode, root: String = "/sys/fs/cgroup") {
        self.mode = mode
        self.root = root
    }

    /// How many times the kernel's OOM killer struck inside `path` (read before the runtime
    /// deletes the container, which removes the cgroup).
    public func oomKills(_ path: String) -> Int {
        let file = mode == .v2 ? "\(root)\(path)/memory.events" : "\(root)/memory\(path)/memory.oom_control"
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("oom_kill ") {
            return Int(line.dropFirst(9).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        return 0
    }

    /// Every directory this cgroup path has in the mounted hierarchies — on a hybrid host
    /// the cgroup2 one (`unified`) too, where runc makes every container's cgroup as well.
    public func directories(_ path: String) -> [String] {
        if mode == .v2 { return ["\(root)\(path)"] }
        let controllers = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        var dirs: [String] = []
        for c in controllers.sorted() {
            let full = "\(root)/\(c)"
            var isDir: ObjCBool = false
            // Skip the cpu -> cpu,cpuacct style symlinks: the real directory is listed too.
            if let attrs = try? FileManager.default.attributesOfItem(atPath: full), attrs[.type] as? FileAttributeType == .typeSymbolicLink { continue }
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDir), isDir.boolValue { dirs.append(full + path) }
        }
        return dirs
    }

    /// Removes the cgroup `path` and its empty descendants in every hierarchy (rmdir only:
    /// a cgroup that still holds processes stays, and the error says so).
    public func remove(_ path: String) throws {
        var busy: [String] = []
        for dir in directories(path) where FileManager.default.fileExists(atPath: dir) {
            removeTree(dir, busy: &busy)
        }
        if !busy.isEmpty { throw RuntimeError("CgroupBusy", "cgroups still in use: \(busy.joined(separator: ", "))") }
    }

    private func removeTree(_ dir: String, busy: inout [String]) {
        let children = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter {
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: "\(dir)/\($0)", isDirectory: &isDir) && isDir.boolValue
        }
        for child in children { removeTree("\(dir)/\(child)", busy: &busy) }
        if rmdir(dir) != 0 && errno != ENOENT { busy.append(dir) }
    }
}
