import Testing
@testable import SkiffRuntime

@Suite struct SpecBuilderTests {
    @Test(arguments: [
        // command, args, entrypoint, cmd -> process args (Kubernetes' documented table)
        ([], [], ["/ep"], ["c1"], ["/ep", "c1"]),
        (["/cmd"], [], ["/ep"], ["c1"], ["/cmd"]),
        ([], ["a1"], ["/ep"], ["c1"], ["/ep", "a1"]),
        (["/cmd"], ["a1"], ["/ep"], ["c1"], ["/cmd", "a1"]),
        ([], [], [], ["sh"], ["sh"]),
    ] as [([String], [String], [String], [String], [String])])
    func processArgs(command: [String], args: [String], entrypoint: [String], cmd: [String], expected: [String]) {
        #expect(SpecBuilder.processArgs(command: command, args: args, image: ImageConfig(entrypoint: entrypoint, cmd: cmd)) == expected)
    }

    @Test func environmentMergesOverImage() {
        let env = SpecBuilder.environment(image: ["PATH=/bin", "A=image"], container: [KeyValue("A", "pod"), KeyValue("B", "2")], hostname: "web-1")
        #expect(env == ["PATH=/bin", "A=pod", "HOSTNAME=web-1", "B=2"])
        #expect(SpecBuilder.environment(image: [], container: [], hostname: "h").first?.hasPrefix("PATH=/usr/local/sbin") == true)
    }

    @Test func capabilities() {
        #expect(SpecBuilder.capabilities(.init(), privileged: false) == SpecBuilder.defaultCapabilities)
        let dropped = SpecBuilder.capabilities(.init(add: ["NET_ADMIN"], drop: ["CHOWN", "cap_kill"]), privileged: false)
        #expect(dropped.contains("CAP_NET_ADMIN") && !dropped.contains("CAP_CHOWN") && !dropped.contains("CAP_KILL"))
        #expect(SpecBuilder.capabilities(.init(drop: ["ALL"]), privileged: false).isEmpty)
        #expect(SpecBuilder.capabilities(.init(add: ["NET_BIND_SERVICE"], drop: ["ALL"]), privileged: false) == ["CAP_NET_BIND_SERVICE"])
        #expect(SpecBuilder.capabilities(.init(drop: ["ALL"]), privileged: true).count == SpecBuilder.allCapabilities.count)
    }

    let passwd = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\napp:x:1000:1000::/home/app:/bin/sh\n"
    let group = "root:x:0:\nnogroup:x:65534:\napp:x:1000:\nextra:x:2000:app\n"

    @Test func usersResolve() throws {
        var sc = LinuxContainerSecurityContext()
        #expect(try SpecBuilder.resolveUser(security: sc, imageUser: "", passwd: passwd, group: group) == .init(uid: 0, gid: 0))
        #expect(try SpecBuilder.resolveUser(security: sc, imageUser: "app", passwd: passwd, group: group) == .init(uid: 1000, gid: 1000, additionalGids: [2000]))
        #expect(try SpecBuilder.resolveUser(security: sc, imageUser: "1000:extra", passwd: passwd, group: group).gid == 2000)
        sc.runAsUser = 65534
        sc.supplementalGroups = [3000]
        #expect(try SpecBuilder.resolveUser(security: sc, imageUser: "app", passwd: passwd, group: group) == .init(uid: 65534, gid: 65534, additionalGids: [3000]))
        sc.runAsGroup = 5
        #expect(try SpecBuilder.resolveUser(security: sc, imageUser: "", passwd: passwd, group: group).gid == 5)
    }

    @Test func runAsNonRootRefusesRoot() {
        var sc = LinuxContainerSecurityContext()
        sc.runAsNonRoot = true
        #expect(throws: RuntimeError.self) { try SpecBuilder.resolveUser(security: sc, imageUser: "", passwd: passwd, group: group) }
        do {
            _ = try SpecBuilder.resolveUser(security: sc, imageUser: "0", passwd: passwd, group: group)
            Issue.record("root accepted")
        } catch let e as RuntimeError {
            #expect(e.reason == "CreateContainerConfigError")
            #expect(e.message == "container has runAsNonRoot and image will run as root")
        } catch { Issue.record("\(error)") }
        #expect((try? SpecBuilder.resolveUser(security: sc, imageUser: "1000", passwd: passwd, group: group))?.uid == 1000)
        #expect(throws: RuntimeError.self) { try SpecBuilder.resolveUser(security: sc, imageUser: "nobody", passwd: passwd, group: group) }
    }

    @Test func specHasPodNamespacesLimitsAndHardening() {
        var c = ContainerConfig(name: "web", image: "busybox", command: ["httpd"], logPath: "web/0.log")
        c.resources.memoryLimitInBytes = 64 << 20
        c.resources.cpuShares = 512
        c.resources.cpuQuota = 50_000
        c.resources.cpuPeriod = 100_000
        c.resources.pidsLimit = 100
        c.securityContext.readonlyRootfs = true
        c.securityContext.noNewPrivs = true
        c.mounts = [Mount(containerPath: "/data", hostPath: "/host/data", readOnly: true)]
        let sandbox = PodSandboxConfig(name: "p", namespace: "default", uid: "u", hostname: "p", logDirectory: "/logs")
        let paths = SpecBuilder.SandboxPaths(network: "/ns/net", ipc: "/ns/ipc", uts: "/ns/uts", hosts: "/s/hosts",
                                             resolvConf: "/s/resolv.conf", hostname: "/s/hostname", shm: "/s/shm")
        let spec = SpecBuilder().build(container: c, sandbox: sandbox, image: ImageConfig(cmd: ["sh"]), user: .init(uid: 0, gid: 0),
                                       rootfs: "/r", paths: paths, cgroupsPath: "/kubepods/pod-u/c1")
        #expect(spec.process.args == ["httpd"])
        #expect(spec.root == .init(path: "/r", readonly: true))
        #expect(spec.process.noNewPrivileges == true)
        #expect(spec.linux.namespaces.contains(.init(type: "network", path: "/ns/net")))
        #expect(spec.linux.namespaces.contains(.init(type: "pid", path: nil)))
        #expect(spec.linux.resources?.memory?.limit == 64 << 20)
        #expect(spec.linux.resources?.cpu == .init(shares: 512, quota: 50_000, period: 100_000))
        #expect(spec.linux.resources?.pids?.limit == 100)
        #expect(spec.linux.maskedPaths == SpecBuilder.maskedPaths)
        #expect(spec.linux.seccomp?.syscalls.first?.names.contains("mount") == true)
        #expect(spec.mounts.contains(.init(destination: "/data", type: "bind", source: "/host/data", options: ["rbind", "rprivate", "ro"])))
        #expect(spec.mounts.contains { $0.destination == "/etc/hosts" && $0.source == "/s/hosts" })

        c.securityContext.privileged = true
        let privileged = SpecBuilder().build(container: c, sandbox: sandbox, image: ImageConfig(), user: .init(uid: 0, gid: 0),
                                             rootfs: "/r", paths: paths, cgroupsPath: "/x")
        #expect(privileged.linux.seccomp == nil && privileged.linux.maskedPaths == nil)
        #expect(privileged.process.capabilities?.bounding.contains("CAP_SYS_ADMIN") == true)
    }
}
