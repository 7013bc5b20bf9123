import Foundation
import Testing
import SkiffCore
@testable import SkiffAPI

/// Fixtures/Protobuf holds request bodies captured from real kubectl on loopback (see the
/// README there): `<name>.pb` from kubectl 1.32 (1.33 sent the same bytes) and `<name>.json`
/// from kubectl 1.31 for the same command. The decoded Protobuf must equal the JSON.
@Suite struct ProtobufTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/Protobuf")

    static let captured: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: fixtures.path)) ?? []
        return names.filter { $0.hasSuffix(".pb") }.map { String($0.dropLast(3)) }.sorted()
    }()

    static func load(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: fixtures.appendingPathComponent(name)))
    }

    @Test func fixturesArePresent() {
        #expect(Self.captured.count >= 16)
    }

    @Test(arguments: captured)
    func decodesKubectlCreateLikeItsJSON(_ name: String) throws {
        let decoded = try ProtobufDecoder.decode(Self.load("\(name).pb"), schema: .builtIn)
        let expected = try JSON.parse(Self.load("\(name).json"))
        #expect(decoded == expected, "\(name): got \(decoded.serializedString())")
        // apiVersion and kind lead, as in kubectl's JSON.
        #expect(decoded.objectValue?.keys.prefix(2).sorted() == ["apiVersion", "kind"])
    }

    // MARK: - Hand-built messages

    /// A tiny Protobuf writer for the cases kubectl does not produce.
    struct Writer {
        var bytes: [UInt8] = []

        mutating func varint(_ v: UInt64) {
            var v = v
            while v >= 0x80 {
                bytes.append(UInt8(v & 0x7F) | 0x80)
                v >>= 7
            }
            bytes.append(UInt8(v))
        }

        mutating func key(_ tag: Int, _ wireType: UInt64) { varint(UInt64(tag) << 3 | wireType) }
        mutating func int(_ tag: Int, _ v: Int64) { key(tag, 0); varint(UInt64(bitPattern: v)) }
        mutating func bytes(_ tag: Int, _ b: [UInt8]) { key(tag, 2); varint(UInt64(b.count)); bytes += b }
        mutating func string(_ tag: Int, _ s: String) { bytes(tag, Array(s.utf8)) }
        mutating func message(_ tag: Int, _ build: (inout Writer) -> Void) {
            var w = Writer()
            build(&w)
            bytes(tag, w.bytes)
        }
        mutating func double(_ tag: Int, _ d: Double) {
            key(tag, 1)
            for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: d.bitPattern >> (8 * UInt64(i)))) }
        }
    }

    static func envelope(_ apiVersion: String, _ kind: String, _ build: (inout Writer) -> Void) -> [UInt8] {
        var w = Writer()
        w.message(1) { $0.string(1, apiVersion); $0.string(2, kind) }
        w.message(2, build)
        return ProtobufDecoder.magic + w.bytes
    }

    static func decode(_ apiVersion: String, _ kind: String, _ build: (inout Writer) -> Void) throws -> JSON {
        try ProtobufDecoder.decode(envelope(apiVersion, kind, build), schema: .builtIn)
    }

    @Test func podWithInlineStructsPointersAndSpecialTypes() throws {
        let pod = try Self.decode("v1", "Pod") { w in
            w.message(1) { m in
                m.string(1, "p")
                m.message(9) { $0.int(1, 1_700_000_000); $0.int(2, 999) }  // deletionTimestamp: nanos dropped
                m.int(10, 0)  // deletionGracePeriodSeconds: a pointer, so 0 stays
            }
            w.message(2) { spec in
                spec.message(1) { vol in  // volumes[0]: VolumeSource is inline at tag 2
                    vol.string(1, "cfg")
                    vol.message(2) { $0.message(19) { $0.message(1) { $0.string(1, "settings") }; $0.int(3, 420) } }
                }
                spec.message(2) { c in
                    c.string(1, "main")
                    c.int(16, 0)  // stdin false: not a pointer, omitted
                    c.message(10) { probe in  // livenessProbe: ProbeHandler is inline at tag 1
                        probe.message(1) { $0.message(2) { $0.string(1, "/healthz"); $0.message(2) { $0.int(1, 1); $0.string(3, "http") } } }
                        probe.int(2, 5)
                    }
                    c.message(7) { env in  // env[0].valueFrom.secretKeyRef with inline LocalObjectReference
                        env.string(1, "PASSWORD")
                        env.message(3) { $0.message(4) { $0.message(1) { $0.string(1, "creds") }; $0.string(2, "password") } }
                    }
                    c.message(8) { $0.message(1) { $0.string(1, "cpu"); $0.message(2) { $0.string(1, "500m") } } }
                }
                spec.int(4, 0)  // terminationGracePeriodSeconds: pointer, 0 stays
                spec.int(21, 0)  // automountServiceAccountToken: pointer bool false stays
            }
        }
        let expected = try JSON.parse("""
            {"apiVersion":"v1","kind":"Pod",
             "metadata":{"name":"p","deletionTimestamp":"2023-11-14T22:13:20Z","deletionGracePeriodSeconds":0},
             "spec":{"volumes":[{"name":"cfg","configMap":{"name":"settings","defaultMode":420}}],
               "containers":[{"name":"main",
                 "livenessProbe":{"httpGet":{"path":"/healthz","port":"http"},"initialDelaySeconds":5},
                 "env":[{"name":"PASSWORD","valueFrom":{"secretKeyRef":{"name":"creds","key":"password"}}}],
                 "resources":{"limits":{"cpu":"500m"}}}],
               "terminationGracePeriodSeconds":0,"automountServiceAccountToken":false}}
            """)
        #expect(pod == expected, "\(pod.serializedString())")
    }

    @Test func ephemeralContainerCommonIsInline() throws {
        let pod = try Self.decode("v1", "Pod") { w in
            w.message(2) { spec in
                spec.message(34) { ec in
                    ec.message(1) { $0.string(1, "debug"); $0.string(2, "busybox") }
                    ec.string(2, "main")
                }
            }
        }
        let ec = try #require(pod[path: ["spec", "ephemeralContainers"]]?.arrayValue?.first)
        #expect(ec == ["name": "debug", "image": "busybox", "targetContainerName": "main"])
    }

    @Test func absentNoOmitFieldsAreZeroOrNull() throws {
        // A message from a non-Go client that writes only what is set.
        let binding = try Self.decode("rbac.authorization.k8s.io/v1", "RoleBinding") { w in
            w.message(1) { $0.string(1, "b") }
        }
        #expect(binding == ["apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": ["name": "b"],
                            "roleRef": ["apiGroup": "", "kind": "", "name": ""]])
        let token = try Self.decode("authentication.k8s.io/v1", "TokenRequest") { _ in }
        #expect(token == ["apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                          "spec": ["audiences": nil, "boundObjectRef": nil, "expirationSeconds": nil]])
    }

    @Test func timesQuantitiesDurationsAndRawExtensions() throws {
        let lease = try Self.decode("coordination.k8s.io/v1", "Lease") { w in
            w.message(2) { spec in
                spec.message(3) { $0.int(1, 1_700_000_000); $0.int(2, 123_456_789) }  // acquireTime: MicroTime
                spec.message(4) { _ in }  // renewTime present but empty: zero time
                spec.int(2, 0)  // leaseDurationSeconds: pointer 0
            }
        }
        #expect(lease["spec"] == ["acquireTime": "2023-11-14T22:13:20.123456Z", "renewTime": nil, "leaseDurationSeconds": 0])

        let revision = try Self.decode("apps/v1", "ControllerRevision") { w in
            w.message(2) { $0.bytes(1, Array(#"{"spec":{"template":{"x":[1,true]}}}"#.utf8)) }
            w.int(3, -2)  // negative int64: ten-byte two's complement varint
        }
        #expect(revision["data"] == ["spec": ["template": ["x": [1, true]]]])
        #expect(revision["revision"] == -2)

        let hpa = try Self.decode("autoscaling/v2", "HorizontalPodAutoscaler") { w in
            w.message(2) { spec in
                spec.int(3, 3)
                spec.message(5) { b in  // behavior.scaleUp.tolerance is a *Quantity
                    b.message(1) { $0.message(4) { $0.string(1, "0.05") } }
                }
            }
        }
        #expect(hpa[path: ["spec", "behavior", "scaleUp", "tolerance"]] == "50m")
        #expect(hpa[path: ["spec", "maxReplicas"]] == 3)

        #expect(ProtobufDecoder.goDuration(0) == "0s")
        #expect(ProtobufDecoder.goDuration(1_500) == "1.5µs")
        #expect(ProtobufDecoder.goDuration(2_000_000) == "2ms")
        #expect(ProtobufDecoder.goDuration(3_600_000_000_000) == "1h0m0s")
        #expect(ProtobufDecoder.goDuration(-90_500_000_000) == "-1m30.5s")
        #expect(ProtobufDecoder.goDuration(Int64.min) == "-2562047h47m16.854775808s")
    }

    @Test func packedAndMapValues() throws {
        let job = try Self.decode("batch/v1", "Job") { w in
            w.message(2) { spec in
                spec.message(11) { pfp in
                    pfp.message(1) { rule in
                        rule.string(1, "FailJob")
                        rule.message(2) { req in
                            req.string(2, "In")
                            var packed = Writer()
                            packed.varint(1); packed.varint(42)
                            req.bytes(3, packed.bytes)  // packed repeated int32
                            req.int(3, 7)  // and one more unpacked
                        }
                    }
                }
            }
        }
        #expect(job[path: ["spec", "podFailurePolicy", "rules"]] == [["action": "FailJob", "onExitCodes": ["operator": "In", "values": [1, 42, 7]]]])

        let token = try Self.decode("authentication.k8s.io/v1", "TokenRequest") { w in
            w.message(2) { spec in
                spec.message(5) { entry in  // map<string, {repeated string items = 1}>
                    entry.string(1, "k")
                    entry.message(2) { $0.string(1, "a"); $0.string(1, "b") }
                }
            }
        }
        #expect(token[path: ["spec", "attestations"]] == ["k": ["a", "b"]])
    }

    @Test func customResourceDefinitionSchemaUnions() throws {
        let crd = try Self.decode("apiextensions.k8s.io/v1", "CustomResourceDefinition") { w in
            w.message(2) { spec in
                spec.message(7) { version in
                    version.string(1, "v1")
                    version.int(2, 1)
                    version.message(4) { $0.message(1) { props in
                        props.string(5, "object")
                        props.message(29) { entry in
                            entry.string(1, "tags")
                            entry.message(2) { tags in
                                tags.string(5, "array")
                                tags.message(24) { $0.message(1) { $0.string(5, "string") } }  // items: one schema
                            }
                        }
                        props.message(30) { $0.int(1, 1) }  // additionalProperties: true
                        props.message(8) { $0.bytes(1, Array(#"{"a":1}"#.utf8)) }  // default
                        props.double(9, 2.5)
                    } }
                    version.message(5) { $0.message(1) { _ in } }  // subresources.status: {}
                }
            }
        }
        let version = try #require(crd[path: ["spec", "versions"]]?.arrayValue?.first)
        #expect(version["subresources"] == ["status": [:]])
        let props = try #require(version[path: ["schema", "openAPIV3Schema"]])
        #expect(props == ["type": "object", "default": ["a": 1], "maximum": 2.5, "additionalProperties": true,
                          "properties": ["tags": ["type": "array", "items": ["type": "string"]]]])
    }

    @Test func unknownFieldsAndGroupsAreSkipped() throws {
        let ns = try Self.decode("v1", "Namespace") { w in
            w.message(1) { $0.string(1, "n"); $0.string(999, "from the future") }
            w.key(77, 3); w.int(1, 5); w.key(78, 3); w.key(78, 4); w.key(77, 4)  // a nested group
            w.int(50, 1)
        }
        #expect(ns == ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "n"]])
    }

    @Test func deleteOptionsFallBackToMeta() throws {
        let options = try Self.decode("apps/v1", "DeleteOptions") { w in
            w.string(4, "Foreground")
            w.int(1, 0)
        }
        #expect(options == ["apiVersion": "apps/v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0, "propagationPolicy": "Foreground"])
    }

    // MARK: - Hostile input

    static func expectBadRequest(_ body: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let json = try ProtobufDecoder.decode(body, schema: .builtIn)
            Issue.record("expected 400, decoded \(json.serializedString())", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == 400, sourceLocation: sourceLocation)
        }
    }

    @Test func malformedInputIsBadRequest() throws {
        Self.expectBadRequest([])
        Self.expectBadRequest(Array("{\"kind\":\"Pod\"}".utf8))
        Self.expectBadRequest(ProtobufDecoder.magic)
        Self.expectBadRequest(Self.envelope("v1", "Nope") { _ in })
        Self.expectBadRequest(Self.envelope("v1", "PodSpec") { _ in })  // not a kind
        Self.expectBadRequest(Self.envelope("apps.example.com/v1", "Deployment") { _ in })  // not apps/v1
        Self.expectBadRequest(Self.envelope("", "Pod") { _ in })
        // Truncated varint, a length past the end, an overlong varint, an illegal wire type.
        Self.expectBadRequest(ProtobufDecoder.magic + [0x08, 0x80])
        Self.expectBadRequest(ProtobufDecoder.magic + [0x12, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00])
        Self.expectBadRequest(ProtobufDecoder.magic + [0x08] + [UInt8](repeating: 0xFF, count: 11) + [0x01])
        Self.expectBadRequest(ProtobufDecoder.magic + [0x0F])
        Self.expectBadRequest(ProtobufDecoder.magic + [0x1B])  // group start with no end
        // A wrong wire type for a known field, a bad quantity, a bad IntOrString, a bad time.
        Self.expectBadRequest(Self.envelope("v1", "Namespace") { $0.int(1, 3) })
        Self.expectBadRequest(Self.envelope("v1", "ResourceQuota") { w in
            w.message(2) { $0.message(1) { $0.string(1, "cpu"); $0.message(2) { $0.string(1, "lots") } } }
        })
        Self.expectBadRequest(Self.envelope("v1", "Service") { w in
            w.message(2) { $0.message(1) { $0.int(3, 80); $0.message(4) { $0.int(1, 7) } } }
        })
        Self.expectBadRequest(Self.envelope("v1", "Namespace") { w in
            w.message(1) { $0.message(8) { $0.int(1, Int64.max) } }
        })
        Self.expectBadRequest(Self.envelope("apps/v1", "ControllerRevision") { $0.message(2) { $0.bytes(1, Array("{nope".utf8)) } })
        // Every truncation of a real body fails cleanly or decodes; none may crash.
        let deployment = try Self.load("deployment.pb")
        for n in 0..<deployment.count {
            _ = try? ProtobufDecoder.decode(Array(deployment.prefix(n)), schema: .builtIn)
        }
    }

    @Test func deepNestingIsBadRequest() {
        // JSONSchemaProps.not nested far beyond the limit.
        var inner: [UInt8] = []
        for _ in 0..<1_000 {
            var w = Writer()
            w.bytes(28, inner)
            inner = w.bytes
        }
        let body = Self.envelope("apiextensions.k8s.io/v1", "CustomResourceDefinition") { w in
            w.message(2) { $0.message(7) { $0.message(4) { $0.bytes(1, inner) } } }
        }
        Self.expectBadRequest(body)
        // Embedded Protobuf in a RawExtension recursing on itself.
        var raw = Self.envelope("apps/v1", "ControllerRevision") { _ in }
        for _ in 0..<300 {
            raw = Self.envelope("apps/v1", "ControllerRevision") { $0.message(2) { $0.bytes(1, raw) } }
        }
        Self.expectBadRequest(raw)
    }

    @Test func specialFieldsExistInTheSchema() throws {
        for (type, fields) in ProtobufDecoder.specials {
            for name in fields.keys {
                let field = try #require(APISchema.builtIn[type: type]?.field(name), "\(type).\(name)")
                #expect(field.type == .any || field.type == .map(.any), "\(type).\(name)")
            }
        }
    }
}
