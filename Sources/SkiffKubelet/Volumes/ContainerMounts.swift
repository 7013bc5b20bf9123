import Foundation
import SkiffAPI
import SkiffCore
import SkiffRuntime
#if canImport(Glibc)
import Glibc
#endif

extension VolumeManager {
    /// The bind mounts of one container attempt: its volumeMounts (readOnly, subPath,
    /// subPathExpr expanded from `env`, mountPropagation), then its termination message
    /// file. Errors are the container's CreateContainerConfigError, with upstream's messages.
    public func mounts(for container: JSON, pod: JSON, volumes: PodVolumes, env: [KeyValue] = [],
                       attempt: Int = 0) throws(ContainerConfigError) -> [Mount] {
        let containerName = container["name"]?.stringValue ?? ""
        var mounts: [Mount] = []
        for volumeMount in container["volumeMounts"]?.arrayValue ?? [] {
            let name = volumeMount["name"]?.stringValue ?? ""
            guard var hostPath = volumes[name] else {
                throw ContainerConfigError("cannot find volume \"\(name)\" to mount into container \"\(containerName)\"")
            }
            var subPath = volumeMount["subPath"]?.stringValue ?? ""
            if let expression = volumeMount["subPathExpr"]?.stringValue, !expression.isEmpty {
                subPath = try Self.expandSubPath(expression, env: env)
            }
            if !subPath.isEmpty {
                hostPath = try Self.prepareSubPath(subPath, volumePath: hostPath, mountName: name, containerName: containerName)
            }
            let propagation: String
            switch volumeMount["mountPropagation"]?.stringValue ?? "None" {
            case "None": propagation = "private"
            case "HostToContainer": propagation = "rslave"
            case "Bidirectional":
                guard container[path: ["securityContext", "privileged"]]?.boolValue == true else {
                    throw ContainerConfigError("Bidirectional mount propagation is available only to privileged containers")
                }
                propagation = "rshared"
            case let other: throw ContainerConfigError("invalid MountPropagation mode: \(other)")
            }
            mounts.append(Mount(containerPath: volumeMount["mountPath"]?.stringValue ?? "", hostPath: hostPath,
                                readOnly: volumeMount["readOnly"]?.boolValue == true || volumes.readOnly.contains(name),
                                propagation: propagation))
        }
        let messagePath = container["terminationMessagePath"]?.stringValue ?? "/dev/termination-log"
        if !messagePath.isEmpty {
            let file = terminationMessagePath(podUID: pod.uid ?? "", containerName: containerName, attempt: attempt)
            do {
                try HostFS.makeDirectories((file as NSString).deletingLastPathComponent, mode: 0o750)
                try HostFS.writeFile(file, [], mode: 0o666)
            } catch {
                throw ContainerConfigError("failed to create termination message file for container \"\(containerName)\": \(error)")
            }
            mounts.append(Mount(containerPath: messagePath, hostPath: file))
        }
        return mounts
    }

    /// The host file mounted at a container attempt's terminationMessagePath, where the
    /// kubelet reads the termination message once the container has exited.
    public nonisolated func terminationMessagePath(podUID: String, containerName: String, attempt: Int) -> String {
        "\(podsDirectory)/\(podUID)/containers/\(containerName)/\(attempt)"
    }

    /// subPathExpr: `$(VAR)` from the container's env; a missing or empty variable fails.
    static func expandSubPath(_ expression: String, env: [KeyValue]) throws(ContainerConfigError) -> String {
        let values = Dictionary(env.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
        var missing = Set<String>()
        let expanded = EnvVars.expand(expression) { key in
            if let v = values[key], !v.isEmpty { return v }
            missing.insert(key)
            return ""
        }
        if !missing.isEmpty { throw ContainerConfigError("missing value for \(missing.sorted().joined(separator: ", "))") }
        return expanded
    }

    /// Resolves a subPath inside its volume, creating it (with the volume root's mode) when
    /// missing; a path that leaves the volume, through `..` or symlinks, is refused. The
    /// resolved path is what gets bind-mounted, so a later symlink swap cannot redirect it.
    static func prepareSubPath(_ subPath: String, volumePath: String, mountName: String,
                               containerName: String) throws(ContainerConfigError) -> String {
        if subPath.hasPrefix("/") { throw ContainerConfigError("error SubPath `\(subPath)` must not be an absolute path") }
        if subPath.split(separator: "/").contains("..") {
            throw ContainerConfigError("unable to provision SubPath `\(subPath)`: must not contain '..'")
        }
        let prepareFailed = ContainerConfigError("failed to prepare subPath for volumeMount \"\(mountName)\" of container \"\(containerName)\"")
        guard let root = HostFS.realPath(volumePath) else { throw prepareFailed }
        var current = root
        for component in subPath.split(separator: "/") where component != "." {
            let next = current + "/" + component
            if !HostFS.exists(next) {
                // Never create through a link that leads outside: `current` is already resolved.
                let mode = HostFS.mode(root) ?? 0o755
                if (mkdir(next, mode) != 0 && errno != EEXIST) || chmod(next, mode) != 0 {
                    throw ContainerConfigError("failed to create subPath directory for volumeMount \"\(mountName)\" of container \"\(containerName)\"")
                }
            }
            guard let resolved = HostFS.realPath(next), HostFS.isWithin(resolved, root) else { throw prepareFailed }
            current = resolved
        }
        return current
    }
}
