import Foundation

/// Builds a container's OCI config.json from its CRI config, the pod sandbox and the
/// image, with the defaults container runtimes (containerd, CRI-O) give Kubernetes pods.
/// A pure function, so the whole translation is unit-tested.
public struct SpecBuilder: Sendable {
    /// Where the sandbox keeps what its containers share.
    public struct SandboxPaths: Sendable, Equatable {
        /// Pinned namespace files; nil = the host's namespace.
        public var network: String?
        public var ipc: String?
        public var uts: String?
        public var hosts: String
        public var resolvConf: String?
        public var hostname: String
        public var shm: String?
        /// Another container's process namespace to join (`/proc/<pid>/ns/pid`); nil: its own.
        public var pid: String?

        public init(network: String?, ipc: String?, uts: String?, hosts: String, resolvConf: String?, hostname: String, shm: String?,
                    pid: String? = nil) {
            self.pid = pid
            self.network = network
            self.ipc = ipc
            self.uts = uts
            self.hosts = hosts
            self.resolvConf = resolvConf
            self.hostname = hostname
            self.shm = shm
        }
    }

    /// The user a container runs as, resolved against the image's /etc/passwd and /etc/group.
    public struct ResolvedUser: Sendable, Equatable {
        public var uid: UInt32
        public var gid: UInt32
        public var additionalGids: [UInt32]
        public init(uid: UInt32, gid: UInt32, additionalGids: [UInt32] = []) {
            self.uid = uid
            self.gid = gid
            self.additionalGids = additionalGids
        }
    }

    /// containerd's default capability set for containers.
    public static let defaultCapabilities = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ]

    /// Every capability the kernel knows (privileged containers, `add: [ALL]`).
    public static let allCapabilities = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
        "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ]

    /// Paths hidden from (masked) or read-only in unprivileged containers, as containerd's.
    public static let maskedPaths = [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
    ]
    public static let readonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

    /// RuntimeDefault: the syscalls Docker's default profile documents as blocked for
    /// containers without the matching capability, refused with EPERM. (A deny list rather
    /// than Docker's allow list: short enough to read, and it blocks the same dangerous calls.)
    static let blockedSyscalls = [
        "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "delete_module", "finit_module", "get_mempolicy",
        "init_module", "ioperm", "iopl", "kcmp", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mbind",
        "move_pages", "name_to_handle_at", "open_by_handle_at", "perf_event_open", "process_vm_readv",
        "process_vm_writev", "quotactl", "reboot", "request_key", "set_mempolicy", "settimeofday", "swapon", "swapoff",
        "sysfs", "uselib", "userfaultfd", "ustat",
    ]
    /// Blocked unless the container has CAP_SYS_ADMIN.
    static let sysAdminSyscalls = ["mount", "umount2", "pivot_root", "setns", "unshare"]

    public init() {}

    /// Kubernetes' rule for command and args against the image's Entrypoint and Cmd.
    public static func processArgs(command: [String], args: [String], image: ImageConfig) -> [String] {
        if !command.isEmpty { return command + args }
        return image.entrypoint + (args.isEmpty ? image.cmd : args)
    }

    /// The image's Env with the container's variables applied over it, in order.
    public static func environment(image: [String], container: [KeyValue], hostname: String) -> [String] {
        var order: [String] = []
        var values: [String: String] = [:]
        func set(_ key: String, _ value: String) {
            if values[key] == nil { order.append(key) }
            values[key] = value
        }
        if !image.contains(where: { $0.hasPrefix("PATH=") }) {
            set("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        }
        for entry in image {
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            set(String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
        set("HOSTNAME", hostname)
        for kv in container { set(kv.key, kv.value) }
        return order.map { "\($0)=\(values[$0] ?? "")" }
    }

    /// The effective capabilities after add/drop, as containerd computes them.
    public static func capabilities(_ caps: Capabilities, privileged: Bool) -> [String] {
        if privileged { return allCapabilities }
        func normalize(_ c: String) -> String {
            let upper = c.uppercased()
            return upper.hasPrefix("CAP_") ? upper : "CAP_" + upper
        }
        let add = caps.add.map(normalize), drop = caps.drop.map(normalize)
        var set = add.contains("CAP_ALL") ? allCapabilities : defaultCapabilities
        if drop.contains("CAP_ALL") { set = [] }
        set.removeAll { drop.contains($0) }
        for c in add where c != "CAP_ALL" && !set.contains(c) { set.append(c) }
        return set
    }

    public func build(container c: ContainerConfig, sandbox: PodSandboxConfig, image: ImageConfig, user: ResolvedUser,
                      rootfs: String, paths: SandboxPaths, cgroupsPath: String) -> OCISpec {
        let sc = c.securityContext
        let caps = Self.capabilities(sc.capabilities, privileged: sc.privileged)
        let process = OCISpec.Process(
            terminal: c.tty,
            user: .init(uid: user.uid, gid: user.gid, additionalGids: user.additionalGids.isEmpty ? nil : user.additionalGids),
            args: Self.processArgs(command: c.command, args: c.args, image: image),
            env: Self.environment(image: image.env, container: c.envs, hostname: sandbox.hostname),
            cwd: !c.workingDir.isEmpty ? c.workingDir : (!image.workingDir.isEmpty ? image.workingDir : "/"),
            capabilities: .init(bounding: caps, effective: caps, permitted: caps),
            noNewPrivileges: sc.noNewPrivs && !sc.privileged ? true : nil,
            oomScoreAdj: c.resources.oomScoreAdj != 0 ? Int(c.resources.oomScoreAdj) : nil)

        var mounts: [OCISpec.Mount] = [
            .init(destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"]),
            .init(destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
            .init(destination: "/dev/pts", type: "devpts", source: "devpts",
                  options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
            .init(destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"]),
            .init(destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", sc.privileged ? "rw" : "ro"]),
            .init(destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup",
                  options: ["nosuid", "noexec", "nodev", "relatime", sc.privileged ? "rw" : "ro"]),
        ]
        if let shm = paths.shm {
            mounts.append(.init(destination: "/dev/shm", type: "bind", source: shm, options: ["rbind", "rw"]))
        } else {
            mounts.append(.init(destination: "/dev/shm", type: "tmpfs", source: "shm",
                                options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]))
        }
        let userMounts = Set(c.mounts.map(\.containerPath))
        func managed(_ destination: String, _ source: String?) {
            guard let source, !userMounts.contains(destination) else { return }
            mounts.append(.init(destination: destination, type: "bind", source: source,
                                options: ["rbind", "rprivate", sc.readonlyRootfs ? "ro" : "rw"]))
        }
        managed("/etc/hosts", paths.hosts)
        managed("/etc/resolv.conf", paths.resolvConf)
        managed("/etc/hostname", paths.hostname)
        for m in c.mounts {
            let propagation = ["rslave", "rshared"].contains(m.propagation) ? m.propagation : "rprivate"
            mounts.append(.init(destination: m.containerPath, type: "bind", source: m.hostPath,
                                options: ["rbind", propagation, m.readOnly ? "ro" : "rw"]))
        }

        var namespaces: [OCISpec.Namespace] = [.init(type: "pid", path: paths.pid), .init(type: "mount")]
        namespaces.append(.init(type: "ipc", path: paths.ipc))
        if let uts = paths.uts { namespaces.append(.init(type: "uts", path: uts)) }
        if let net = paths.network { namespaces.append(.init(type: "network", path: net)) }

        var resources = OCISpec.Resources()
        if sc.privileged {
            resources.devices = [.init(allow: true, access: "rwm")]
        } else {
            resources.devices = [.init(allow: false, access: "rwm")] + Self.defaultDevices
        }
        let r = c.resources
        if r.memoryLimitInBytes > 0 { resources.memory = .init(limit: r.memoryLimitInBytes) }
        if r.cpuShares > 0 || r.cpuQuota > 0 {
            resources.cpu = .init(shares: r.cpuShares > 0 ? UInt64(r.cpuShares) : nil,
                                  quota: r.cpuQuota > 0 ? r.cpuQuota : nil,
                                  period: r.cpuQuota > 0 ? UInt64(r.cpuPeriod > 0 ? r.cpuPeriod : 100_000) : nil)
        }
        if r.pidsLimit > 0 { resources.pids = .init(limit: r.pidsLimit) }

        var seccomp: OCISpec.Seccomp?
        if !sc.privileged && sc.seccompProfile != "Unconfined" {
            var blocked = Self.blockedSyscalls
            if !caps.contains("CAP_SYS_ADMIN") { blocked += Self.sysAdminSyscalls }
            seccomp = .init(defaultAction: "SCMP_ACT_ALLOW", architectures: nil,
                            syscalls: [.init(names: blocked, action: "SCMP_ACT_ERRNO", errnoRet: 1)])
        }
        let unmasked = sc.privileged || sc.procMount == "Unmasked"
        let linux = OCISpec.Linux(
            namespaces: namespaces, cgroupsPath: cgroupsPath, resources: resources,
            maskedPaths: unmasked ? nil : Self.maskedPaths, readonlyPaths: unmasked ? nil : Self.readonlyPaths,
            seccomp: seccomp, sysctl: nil, rootfsPropagation: nil)
        return OCISpec(process: process, root: .init(path: rootfs, readonly: sc.readonlyRootfs), hostname: nil,
                       mounts: mounts, linux: linux)
    }

    /// Devices every container may use: null, zero, full, random, urandom, tty, ptmx, pts,
    /// and mknod of anything (the nodes still need CAP_MKNOD and an allowed rule to be used).
    static let defaultDevices: [OCISpec.DeviceRule] = [
        .init(allow: true, type: "c", major: nil, minor: nil, access: "m"),
        .init(allow: true, type: "b", major: nil, minor: nil, access: "m"),
        .init(allow: true, type: "c", major: 1, minor: 3, access: "rwm"),
        .init(allow: true, type: "c", major: 1, minor: 5, access: "rwm"),
        .init(allow: true, type: "c", major: 1, minor: 7, access: "rwm"),
        .init(allow: true, type: "c", major: 1, minor: 8, access: "rwm"),
        .init(allow: true, type: "c", major: 1, minor: 9, access: "rwm"),
        .init(allow: true, type: "c", major: 5, minor: 0, access: "rwm"),
        .init(allow: true, type: "c", major: 5, minor: 2, access: "rwm"),
        .init(allow: true, type: "c", major: 136, minor: nil, access: "rwm"),
    ]

    /// Resolves who the container runs as: runAsUser/runAsGroup over the image's USER,
    /// names looked up in the image's /etc/passwd and /etc/group; refuses root under
    /// runAsNonRoot with the kubelet's messages.
    public static func resolveUser(security sc: LinuxContainerSecurityContext, imageUser: String,
                                   passwd: String?, group: String?) throws -> ResolvedUser {
        let parts = imageUser.split(separator: ":", maxSplits: 1).map(String.init)
        let userPart = parts.first ?? "", groupPart = parts.count > 1 ? parts[1] : ""
        let passwdEntries = (passwd ?? "").split(separator: "\n").map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) }
        let groupEntries = (group ?? "").split(separator: "\n").map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) }

        var uid: UInt32 = 0, gid: UInt32 = 0, userName: String?
        if let runAs = sc.runAsUser {
            uid = UInt32(truncatingIfNeeded: runAs)
            if let entry = passwdEntries.first(where: { $0.count > 3 && $0[2] == String(uid) }) {
                gid = UInt32(entry[3]) ?? 0
                userName = entry[0]
            }
        } else if !userPart.isEmpty {
            if let numeric = UInt32(userPart) {
                uid = numeric
                if let entry = passwdEntries.first(where: { $0.count > 3 && $0[2] == userPart }) {
                    gid = UInt32(entry[3]) ?? 0
                    userName = entry[0]
                }
            } else if let entry = passwdEntries.first(where: { $0.count > 3 && $0[0] == userPart }) {
                // As the kubelet: a user name cannot be verified as non-root.
                if sc.runAsNonRoot {
                    throw RuntimeError("CreateContainerConfigError", "container has runAsNonRoot and image has non-numeric user (\(userPart)), cannot verify user is non-root")
                }
                uid = UInt32(entry[2]) ?? 0
                gid = UInt32(entry[3]) ?? 0
                userName = entry[0]
            } else {
                throw RuntimeError("CreateContainerError", "unable to find user \(userPart): no matching entries in passwd file")
            }
        } else if let entry = passwdEntries.first(where: { $0.count > 3 && $0[2] == "0" }) {
            userName = entry[0]
        }
        if sc.runAsNonRoot && uid == 0 {
            throw RuntimeError("CreateContainerConfigError", "container has runAsNonRoot and image will run as root")
        }
        if let runAsGroup = sc.runAsGroup {
            gid = UInt32(truncatingIfNeeded: runAsGroup)
        } else if !groupPart.isEmpty {
            if let numeric = UInt32(groupPart) {
                gid = numeric
            } else if let entry = groupEntries.first(where: { $0.count > 2 && $0[0] == groupPart }), let g = UInt32(entry[2]) {
                gid = g
            } else {
                throw RuntimeError("CreateContainerError", "unable to find group \(groupPart): no matching entries in group file")
            }
        }
        var extra: [UInt32] = []
        if let userName {
            for entry in groupEntries where entry.count > 3 && entry[3].split(separator: ",").contains(Substring(userName)) {
                if let g = UInt32(entry[2]), g != gid, !extra.contains(g) { extra.append(g) }
            }
        }
        for g in sc.supplementalGroups {
            let v = UInt32(truncatingIfNeeded: g)
            if !extra.contains(v) { extra.append(v) }
        }
        return ResolvedUser(uid: uid, gid: gid, additionalGids: extra)
    }
}
