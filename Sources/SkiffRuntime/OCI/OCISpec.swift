import Foundation

/// The parts of the OCI runtime-spec config.json that Skiff writes. Optionals left nil are
/// omitted, so the runtime applies its own defaults.
public struct OCISpec: Codable, Sendable, Equatable {
    public var ociVersion = "1.0.2"
    public var process: Process
    public var root: Root
    public var hostname: String?
    public var mounts: [Mount]
    public var linux: Linux

    public struct Process: Codable, Sendable, Equatable {
        public var terminal = false
        public var user: User
        public var args: [String]
        public var env: [String]
        public var cwd: String
        public var capabilities: Capabilities?
        public var noNewPrivileges: Bool?
        public var oomScoreAdj: Int?
    }

    public struct User: Codable, Sendable, Equatable {
        public var uid: UInt32
        public var gid: UInt32
        public var additionalGids: [UInt32]?
    }

    public struct Capabilities: Codable, Sendable, Equatable {
        public var bounding: [String]
        public var effective: [String]
        public var permitted: [String]
    }

    public struct Root: Codable, Sendable, Equatable {
        public var path: String
        public var readonly: Bool
    }

    public struct Mount: Codable, Sendable, Equatable {
        public var destination: String
        public var type: String
        public var source: String
        public var options: [String]
    }

    public struct Linux: Codable, Sendable, Equatable {
        public var namespaces: [Namespace]
        public var cgroupsPath: String?
        public var resources: Resources?
        public var maskedPaths: [String]?
        public var readonlyPaths: [String]?
        public var seccomp: Seccomp?
        public var sysctl: [String: String]?
        public var rootfsPropagation: String?
    }

    public struct Namespace: Codable, Sendable, Equatable {
        public var type: String
        public var path: String?
    }

    public struct Resources: Codable, Sendable, Equatable {
        public var devices: [DeviceRule]?
        public var memory: Memory?
        public var cpu: CPU?
        public var pids: Pids?
    }

    public struct DeviceRule: Codable, Sendable, Equatable {
        public var allow: Bool
        public var type: String?
        public var major: Int64?
        public var minor: Int64?
        public var access: String?
    }

    public struct Memory: Codable, Sendable, Equatable {
        public var limit: Int64?
    }

    public struct CPU: Codable, Sendable, Equatable {
        public var shares: UInt64?
        public var quota: Int64?
        public var period: UInt64?
    }

    public struct Pids: Codable, Sendable, Equatable {
        public var limit: Int64
    }

    public struct Seccomp: Codable, Sendable, Equatable {
        public var defaultAction: String
        public var architectures: [String]?
        public var syscalls: [SyscallRule]
    }

    public struct SyscallRule: Codable, Sendable, Equatable {
        public var names: [String]
        public var action: String
        public var errnoRet: UInt?
    }
}
