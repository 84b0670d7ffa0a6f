// swift-tools-version: 6.2
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "threatmapper-console",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "console", targets: ["console"]),
        .executable(name: "fleet", targets: ["fleet"]),
        .library(name: "IngestFuzzTargets", targets: ["IngestFuzzTargets"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .target(name: "IngestCore", swiftSettings: strict),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLibDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
        .systemLibrary(name: "CMalloc"),
        .target(name: "IngestCompression", dependencies: ["CZlib", "CLibDeflate", "IngestCore"], swiftSettings: strict),
        .target(
            name: "IngestAuth", dependencies: ["IngestCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict),
        // What each fuzz target (Fuzz/) does with one input; the regression tests replay the corpus through it.
        .target(
            name: "IngestFuzzTargets", dependencies: ["IngestCore", "IngestCompression", "IngestAuth", "LoadTestCore"],
            swiftSettings: strict),
        .executableTarget(name: "embed-migrations", path: "Sources/embed-migrations"),
        .plugin(name: "EmbedMigrations", capability: .buildTool(), dependencies: ["embed-migrations"]),
        .target(
            name: "IngestStorage",
            dependencies: [
                "IngestCore", "IngestCompression",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strict,
            plugins: ["EmbedMigrations"]
        ),
        .target(
            name: "IngestTransport",
            dependencies: [
                "IngestCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "IngestWorker",
            dependencies: [
                "IngestCore", "IngestStorage", "IngestTransport", "IngestCompression",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "IngestCoordinator",
            dependencies: [
                "IngestCore", "IngestStorage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "IngestGateway",
            dependencies: [
                "IngestCore", "IngestAuth", "IngestStorage", "IngestTransport", "IngestCompression",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // The operator's web console: pages over the gateway's operator service, served in front of the gateway.
        .target(
            name: "IngestWebConsole",
            dependencies: [
                "IngestCore", "IngestAuth", "IngestStorage", "IngestTransport", "IngestGateway",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "IngestConsole",
            dependencies: [
                "IngestAuth", "IngestCore", "IngestStorage", "IngestTransport", "IngestWorker", "IngestCoordinator", "IngestGateway",
                "IngestWebConsole",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "console",
            dependencies: [
                "CMalloc", "IngestConsole", "IngestAuth", "IngestCore", "IngestStorage", "IngestTransport", "IngestWorker", "IngestCoordinator", "IngestGateway",
                "IngestWebConsole",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "LoadTestCore",
            dependencies: [.product(name: "Histogram", package: "hdrhistogram-swift")],
            path: "loadtest/Sources/LoadTestCore",
            swiftSettings: strict
        ),
        .target(
            name: "LoadTestRunner",
            dependencies: [
                "LoadTestCore", "IngestCore", "IngestTransport", "IngestCompression",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "loadtest/Sources/LoadTestRunner",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "fleet",
            dependencies: [
                "LoadTestCore", "LoadTestRunner", "IngestTransport", "IngestCompression",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "loadtest/Sources/fleet",
            swiftSettings: strict
        ),
        .executableTarget(name: "ingest-bench", dependencies: ["IngestCore"], path: "Benchmarks/ingest-bench", swiftSettings: strict),
        .executableTarget(
            name: "body-bench", dependencies: ["IngestCore", "IngestCompression", "LoadTestCore", "LoadTestRunner"],
            path: "Benchmarks/body-bench", swiftSettings: strict),
        .target(
            name: "IngestTestSupport",
            dependencies: [
                "LoadTestCore", "LoadTestRunner", "IngestConsole", "IngestAuth", "IngestCore", "IngestStorage", "IngestTransport", "IngestWorker", "IngestGateway",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "IngestIntegrationTests",
            dependencies: [
                "IngestTestSupport", "IngestConsole", "IngestAuth", "IngestCore", "IngestCompression", "IngestStorage", "IngestTransport",
                "IngestWorker", "IngestGateway", "LoadTestCore", "LoadTestRunner",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "LoadTestCoreTests", dependencies: ["LoadTestCore", "IngestCore"], path: "loadtest/Tests/LoadTestCoreTests",
            swiftSettings: strict),
        .testTarget(
            name: "IngestWebConsoleTests", dependencies: ["IngestWebConsole", "IngestCore"], swiftSettings: strict),
        .testTarget(name: "IngestAuthTests", dependencies: ["IngestAuth", "IngestCore"], swiftSettings: strict),
        .testTarget(
            name: "IngestFuzzTargetsTests", dependencies: ["IngestFuzzTargets", "IngestCore", "IngestCompression"],
            swiftSettings: strict),
        .testTarget(name: "IngestCoreTests", dependencies: ["IngestCore", "IngestTestSupport"], swiftSettings: strict),
    ]
)
