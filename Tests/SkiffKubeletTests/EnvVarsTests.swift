import Foundation
import SkiffCore
import SkiffRuntime
import Testing
@testable import SkiffKubelet

@Suite struct EnvVarsTests {
    static let pod: JSON = [
        "metadata": ["name": "web-0", "namespace": "shop", "uid": "1234-5678",
                     "labels": ["app": "web", "tier": "front"], "annotations": ["note": "say \"hi\"\nthere"]],
        "spec": ["nodeName": "node-a", "serviceAccountName": "builder"],
        "status": ["hostIP": "192.168.1.5", "hostIPs": [["ip": "192.168.1.5"]], "podIP": "10.42.0.7",
                   "podIPs": [["ip": "10.42.0.7"], ["ip": "fd00::7"]]],
    ]

    static let objects: [String: JSON] = [
        "ConfigMap/shop/settings": ["data": ["LOG_LEVEL": "debug", "bad key": "x", "1ST": "y", "MODE": "fast"]],
        "Secret/shop/creds": ["data": ["PASSWORD": .string(Data("s3cret".utf8).base64EncodedString())]],
    ]

    static func resolve(_ container: JSON, pod: JSON = pod, services: [JSON] = [],
                        allocatable: [String: Quantity] = [:]) async throws -> [KeyValue] {
        try await EnvVars.resolve(container: container, pod: pod, services: services, nodeAllocatable: allocatable) { kind, ns, name in
            objects["\(kind)/\(ns)/\(name)"]
        }
    }

    static func env(_ vars: JSON...) -> JSON { ["name": "c", "env": .array(vars)] }

    @Test func literalValuesAndExpansion() async throws {
        let result = try await Self.resolve(Self.env(
            ["name": "A", "value": "a"],
            ["name": "B", "value": "$(A)-$(C)-$$(A)-$(A"],
            ["name": "C", "value": "c"],
            ["name": "D", "value": "$(C)$x$"],
            ["name": "E"]))
        #expect(result == [KeyValue("A", "a"), KeyValue("B", "a-$(C)-$(A)-$(A"), KeyValue("C", "c"), KeyValue("D", "c$x$"), KeyValue("E", "")])
    }

    @Test func envFromThenEnvOverrides() async throws {
        let container: JSON = [
            "name": "c",
            "envFrom": [["configMapRef": ["name": "settings"], "prefix": "CFG_"],
                        ["configMapRef": ["name": "settings"]],
                        ["secretRef": ["name": "creds"]],
                        ["configMapRef": ["name": "absent", "optional": true]]],
            "env": [["name": "MODE", "value": "slow-$(LOG_LEVEL)"]],
        ]
        let result = try await Self.resolve(container)
        // "bad key" and "1ST" are invalid names and skipped; CFG_1ST is valid with its prefix.
        #expect(result == [KeyValue("CFG_LOG_LEVEL", "debug"), KeyValue("CFG_1ST", "y"),
                           KeyValue("CFG_MODE", "fast"), KeyValue("LOG_LEVEL", "debug"), KeyValue("MODE", "slow-debug"),
                           KeyValue("PASSWORD", "s3cret")])
    }

    @Test(arguments: [
        ("metadata.name", "web-0"), ("metadata.namespace", "shop"), ("metadata.uid", "1234-5678"),
        ("metadata.labels['app']", "web"), ("metadata.annotations['note']", "say \"hi\"\nthere"),
        ("metadata.labels", "app=\"web\"\ntier=\"front\""), ("metadata.annotations", "note=\"say \\\"hi\\\"\\nthere\""),
        ("metadata.labels['missing']", ""),
        ("spec.nodeName", "node-a"), ("spec.serviceAccountName", "builder"), ("status.hostIP", "192.168.1.5"),
        ("status.hostIPs", "192.168.1.5"), ("status.podIP", "10.42.0.7"), ("status.podIPs", "10.42.0.7,fd00::7"),
    ])
    func fieldRef(path: String, expected: String) async throws {
        let result = try await Self.resolve(Self.env(["name": "V", "valueFrom": ["fieldRef": ["fieldPath": .string(path)]]]))
        #expect(result == [KeyValue("V", expected)])
    }

    @Test func unsupportedFieldRef() async throws {
        await #expect(throws: ContainerConfigError("unsupported fieldPath: spec.hostname")) {
            try await Self.resolve(Self.env(["name": "V", "valueFrom": ["fieldRef": ["fieldPath": "spec.hostname"]]]))
        }
    }

    @Test(arguments: [
        ("limits.cpu", nil, "1"), ("limits.cpu", "1m", "500"), ("requests.cpu", "1m", "250"), ("requests.cpu", nil, "1"),
        ("limits.memory", "1Mi", "8192"), ("requests.memory", nil, "104857600"), ("requests.memory", "1Gi", "1"),
        ("limits.ephemeral-storage", "1Gi", "2"), ("requests.ephemeral-storage", nil, "0"),
    ] as [(resource: String, divisor: String?, expected: String)])
    func resourceFieldRef(_ c: (resource: String, divisor: String?, expected: String)) async throws {
        let (resource, divisor, expected) = c
        var ref: JSON = ["resource": .string(resource)]
        if let divisor { ref["divisor"] = .string(divisor) }
        let container: JSON = [
            "name": "c", "env": [["name": "V", "valueFrom": ["resourceFieldRef": ref]]],
            "resources": ["limits": ["cpu": "500m"], "requests": ["cpu": "250m", "memory": "100Mi"]],
        ]
        let result = try await Self.resolve(container, allocatable: ["memory": Quantity(8 << 30), "ephemeral-storage": try Quantity(parsing: "1500Mi")])
        #expect(result == [KeyValue("V", expected)])
    }

    @Test func keyRefs() async throws {
        let result = try await Self.resolve(Self.env(
            ["name": "LEVEL", "valueFrom": ["configMapKeyRef": ["name": "settings", "key": "LOG_LEVEL"]]],
            ["name": "PW", "valueFrom": ["secretKeyRef": ["name": "creds", "key": "PASSWORD"]]],
            ["name": "GONE", "valueFrom": ["configMapKeyRef": ["name": "absent", "key": "k", "optional": true]]],
            ["name": "NOKEY", "valueFrom": ["secretKeyRef": ["name": "creds", "key": "USER", "optional": true]]]))
        #expect(result == [KeyValue("LEVEL", "debug"), KeyValue("PW", "s3cret")])
    }

    @Test(arguments: [
        (["configMapKeyRef": ["name": "absent", "key": "k"]] as JSON, "configmap \"absent\" not found"),
        (["secretKeyRef": ["name": "absent", "key": "k"]] as JSON, "secret \"absent\" not found"),
        (["configMapKeyRef": ["name": "settings", "key": "k"]] as JSON, "couldn't find key k in ConfigMap shop/settings"),
        (["secretKeyRef": ["name": "creds", "key": "k"]] as JSON, "couldn't find key k in Secret shop/creds"),
    ])
    func keyRefErrors(valueFrom: JSON, message: String) async throws {
        await #expect(throws: ContainerConfigError(message)) {
            try await Self.resolve(Self.env(["name": "V", "valueFrom": valueFrom]))
        }
    }

    @Test func envFromMissing() async throws {
        await #expect(throws: ContainerConfigError("secret \"nope\" not found")) {
            try await Self.resolve(["name": "c", "envFrom": [["secretRef": ["name": "nope"]]]])
        }
    }

    static let services: [JSON] = [
        ["metadata": ["name": "kubernetes", "namespace": "default"],
         "spec": ["clusterIP": "10.43.0.1", "ports": [["name": "https", "port": 443, "protocol": "TCP"]]]],
        ["metadata": ["name": "my-db", "namespace": "shop"],
         "spec": ["clusterIP": "10.43.0.9", "ports": [["name": "sql", "port": 5432], ["name": "metrics-x", "port": 9000, "protocol": "UDP"]]]],
        ["metadata": ["name": "headless", "namespace": "shop"], "spec": ["clusterIP": "None", "ports": [["port": 80]]]],
        ["metadata": ["name": "other", "namespace": "elsewhere"], "spec": ["clusterIP": "10.43.0.10", "ports": [["port": 80]]]],
    ]

    @Test func serviceLinks() async throws {
        let result = try await Self.resolve(Self.env(["name": "DB", "value": "$(MY_DB_SERVICE_HOST):$(MY_DB_SERVICE_PORT)"],
                                                     ["name": "MY_DB_PORT", "value": "mine"]),
                                            services: Self.services)
        #expect(result == [
            KeyValue("DB", "10.43.0.9:5432"), KeyValue("MY_DB_PORT", "mine"),
            KeyValue("KUBERNETES_SERVICE_HOST", "10.43.0.1"), KeyValue("KUBERNETES_SERVICE_PORT", "443"),
            KeyValue("KUBERNETES_SERVICE_PORT_HTTPS", "443"), KeyValue("KUBERNETES_PORT", "tcp://10.43.0.1:443"),
            KeyValue("KUBERNETES_PORT_443_TCP", "tcp://10.43.0.1:443"), KeyValue("KUBERNETES_PORT_443_TCP_PROTO", "tcp"),
            KeyValue("KUBERNETES_PORT_443_TCP_PORT", "443"), KeyValue("KUBERNETES_PORT_443_TCP_ADDR", "10.43.0.1"),
            KeyValue("MY_DB_SERVICE_HOST", "10.43.0.9"), KeyValue("MY_DB_SERVICE_PORT", "5432"),
            KeyValue("MY_DB_SERVICE_PORT_SQL", "5432"), KeyValue("MY_DB_SERVICE_PORT_METRICS_X", "9000"),
            KeyValue("MY_DB_PORT_5432_TCP", "tcp://10.43.0.9:5432"), KeyValue("MY_DB_PORT_5432_TCP_PROTO", "tcp"),
            KeyValue("MY_DB_PORT_5432_TCP_PORT", "5432"), KeyValue("MY_DB_PORT_5432_TCP_ADDR", "10.43.0.9"),
            KeyValue("MY_DB_PORT_9000_UDP", "udp://10.43.0.9:9000"), KeyValue("MY_DB_PORT_9000_UDP_PROTO", "udp"),
            KeyValue("MY_DB_PORT_9000_UDP_PORT", "9000"), KeyValue("MY_DB_PORT_9000_UDP_ADDR", "10.43.0.9"),
        ])
    }

    @Test func serviceLinksDisabledKeepsTheMasterService() async throws {
        var pod = Self.pod
        pod[path: ["spec", "enableServiceLinks"]] = false
        let result = try await Self.resolve(Self.env(), pod: pod, services: Self.services)
        #expect(result.map(\.key).allSatisfy { $0.hasPrefix("KUBERNETES_") })
        #expect(result.count == 8)
    }

    @Test func subPathExpr() throws {
        #expect(try VolumeManager.expandSubPath("logs/$(POD)", env: [KeyValue("POD", "web-0")]) == "logs/web-0")
        #expect(throws: ContainerConfigError("missing value for A, B")) {
            try VolumeManager.expandSubPath("$(B)/$(A)", env: [KeyValue("A", "")])
        }
    }
}
