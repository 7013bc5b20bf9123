// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "skiff",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "skiff", targets: ["skiff"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // JSON value, errors as metav1.Status, selectors, quantities, patches.
        .target(name: "SkiffCore"),
        // Typed views of API objects: the schema of every built-in kind (fields, patch
        // strategies, protobuf tags) and accessors over the JSON tree.
        .target(name: "SkiffAPI", dependencies: ["SkiffCore"]),
        // The etcd-role store: revisioned keys, CAS, list/watch at a revision, compaction.
        .target(
            name: "SkiffStore",
            dependencies: [
                "SkiffCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Clients of the API (client-go's role): dynamic client, informers, work queue.
        .target(
            name: "SkiffClient",
            dependencies: [
                "SkiffCore",
                "SkiffAPI",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The controller manager: controllers that drive actual state to desired state.
        .target(
            name: "SkiffControllers",
            dependencies: [
                "SkiffCore",
                "SkiffAPI",
                "SkiffClient",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Linux system calls Swift's Glibc module cannot make safely: spawning with a
        // pre-exec step, holding namespaces without a process.
        .target(name: "CSkiffSys"),
        // zlib (Debian's zlib1g-dev) and xattrs for image layers and archives.
        .systemLibrary(name: "CImageSys", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // The container runtime behind a CRI-shaped protocol: OCI bundles run by crun or
        // runc, images (store, registry pulls, archives), CNI networking, container logs.
        .target(
            name: "SkiffRuntime",
            dependencies: [
                "SkiffCore",
                "CSkiffSys",
                "CImageSys",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Streams into pods: HTTP connections upgraded to WebSocket or SPDY/3.1, and the
        // channel.k8s.io and portforward.k8s.io protocols spoken over them.
        .target(
            name: "SkiffStreaming",
            dependencies: [
                "SkiffCore",
                "SkiffRuntime",
                "CImageSys",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The node agent: the kubelet (node registration, pod workers, probes, status,
        // volumes, logs) over SkiffRuntime, and simulated nodes for scale tests.
        .target(
            name: "SkiffKubelet",
            dependencies: [
                "SkiffCore",
                "SkiffAPI",
                "SkiffClient",
                "SkiffRuntime",
                "SkiffStreaming",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Logging", package: "swift-log"),
                // Probes and lifecycle hooks: one-shot HTTP(S) GETs and TCP dials to pod IPs.
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The scheduler: queue, cache of nodes, filter and score plugins, binding.
        .target(
            name: "SkiffScheduler",
            dependencies: [
                "SkiffCore",
                "SkiffAPI",
                "SkiffClient",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The Kubernetes REST API over the store: registry, handlers, watch cache, discovery.
        .target(
            name: "SkiffAPIServer",
            dependencies: [
                "SkiffCore",
                "SkiffAPI",
                "SkiffStore",
                "SkiffClient",
                "SkiffStreaming",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        // kube-proxy's job: Services and EndpointSlices rendered to one nftables ruleset
        // (a pure function) and applied with `nft -f` into Skiff's own table.
        .target(
            name: "SkiffProxy",
            dependencies: [
                "SkiffCore",
                "SkiffAPI",
                "SkiffClient",
                "SkiffRuntime",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // CoreDNS' job in a cluster: Service and pod names answered from the informer
        // cache over UDP and TCP, other names forwarded to the node's resolvers.
        .target(
            name: "SkiffDNS",
            dependencies: [
                "SkiffCore",
                "SkiffAPI",
                "SkiffClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "CMalloc"),
        .executableTarget(
            name: "skiff",
            dependencies: [
                "CMalloc",
                "SkiffCore",
                "SkiffStore",
                "SkiffAPIServer",
                "SkiffClient",
                "SkiffControllers",
                "SkiffScheduler",
                "SkiffKubelet",
                "SkiffRuntime",
                "SkiffProxy",
                "SkiffDNS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "APIServerBench",
            dependencies: [
                "SkiffCore",
                "SkiffStore",
                "SkiffAPIServer",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Benchmarks/APIServerBench"
        ),
        .executableTarget(
            name: "SchedulerBench",
            dependencies: ["SkiffCore", "SkiffAPI", "SkiffStore", "SkiffAPIServer", "SkiffClient", "SkiffScheduler"],
            path: "Benchmarks/SchedulerBench"
        ),
        .executableTarget(
            name: "ProxyBench",
            dependencies: ["SkiffCore", "SkiffProxy"],
            path: "Benchmarks/ProxyBench"
        ),
        .executableTarget(
            name: "DNSBench",
            dependencies: [
                "SkiffCore", "SkiffDNS", "SkiffClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Benchmarks/DNSBench"
        ),
        .testTarget(name: "SkiffCoreTests", dependencies: ["SkiffCore"]),
        .testTarget(
            name: "SkiffStreamingTests",
            dependencies: [
                "SkiffStreaming", "CImageSys", "SkiffCore", "SkiffRuntime",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "SkiffProxyTests", dependencies: ["SkiffProxy", "SkiffCore"], exclude: ["Golden"]),
        .testTarget(
            name: "SkiffDNSTests",
            dependencies: [
                "SkiffDNS", "SkiffCore", "SkiffClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "SkiffAPITests", dependencies: ["SkiffAPI"], exclude: ["Fixtures"]),
        .testTarget(name: "SkiffStoreTests", dependencies: ["SkiffStore"]),
        .testTarget(name: "SkiffClientTests", dependencies: ["SkiffClient"]),
        .testTarget(name: "SkiffControllersTests", dependencies: ["SkiffControllers", "SkiffClient", "SkiffAPIServer", "SkiffStore"]),
        // What the runtime and kubelet tests share: a busybox image made on the spot.
        .target(name: "SkiffTestSupport", dependencies: ["SkiffRuntime"], path: "Tests/SkiffTestSupport"),
        .testTarget(name: "SkiffRuntimeTests", dependencies: ["SkiffRuntime", "SkiffTestSupport"]),
        .testTarget(
            name: "SkiffKubeletTests",
            dependencies: [
                "SkiffKubelet", "SkiffRuntime", "SkiffClient", "SkiffAPIServer", "SkiffStore", "SkiffTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "SkiffSchedulerTests", dependencies: ["SkiffScheduler", "SkiffClient", "SkiffAPIServer", "SkiffStore"]),
        .testTarget(
            name: "SkiffAPIServerTests",
            dependencies: [
                "SkiffAPIServer",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
    ]
)
