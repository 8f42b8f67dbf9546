// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// The data plane in release builds: no dynamic exclusivity checks (a measurable share of the
/// per-request cost; debug builds and tests keep them).
let hotPath: [SwiftSetting] =
    strict + [
        .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
    ]

let package = Package(
    name: "turnpike",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "turnpike", targets: ["TurnpikeCLI"]),
        .executable(name: "turnpike-bench", targets: ["TurnpikeBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        .systemLibrary(
            name: "CPCRE2",
            pkgConfig: "libpcre2-8",
            providers: [.apt(["libpcre2-dev"])]
        ),
        .target(
            name: "TurnpikeModel",
            // X509: certificate checks at load (ca_certificates, later certificates).
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "TurnpikeYAML",
            dependencies: ["TurnpikeModel", "CYAML"],
            swiftSettings: strict
        ),
        .target(
            name: "TurnpikeRegex",
            // PCRE2 behind one small type, for the router and the plugins that take regexes.
            dependencies: ["CPCRE2"],
            swiftSettings: hotPath
        ),
        .target(
            name: "TurnpikeRouter",
            dependencies: ["TurnpikeModel", "TurnpikeRegex"],
            swiftSettings: hotPath
        ),
        .target(
            name: "TurnpikePlugins",
            // NIOCore for ByteBuffer only: plugins never see loops, channels or futures.
            // _CryptoExtras (RSA) for jwt: already built for TurnpikeModel's certificate checks.
            dependencies: [
                "TurnpikeModel", "TurnpikeRegex", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: hotPath
        ),
        .target(
            name: "TurnpikeRedis",
            // A small RESP2 client on SwiftNIO (no Swift Redis client is available here).
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "TurnpikeEngine",
            dependencies: ["TurnpikeModel", "TurnpikeRouter", "TurnpikePlugins"],
            swiftSettings: hotPath
        ),
        .target(
            name: "TurnpikeServer",
            dependencies: [
                "TurnpikeModel", "TurnpikeYAML", "TurnpikePlugins", "TurnpikeEngine", "TurnpikeRedis",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: hotPath
        ),
        .executableTarget(
            name: "TurnpikeCLI",
            dependencies: [
                "TurnpikeServer", "TurnpikeEngine", "TurnpikeModel", "TurnpikeYAML",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "TurnpikeBench",
            dependencies: [
                "TurnpikeRouter", "TurnpikeModel",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: hotPath
        ),
        .target(
            name: "TurnpikeTestSupport",
            dependencies: [
                "TurnpikeModel", "TurnpikeYAML", "TurnpikeServer", "TurnpikeEngine", "TurnpikePlugins",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TurnpikeModelTests",
            dependencies: ["TurnpikeModel"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TurnpikePluginsTests",
            dependencies: [
                "TurnpikePlugins", "TurnpikeModel", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TurnpikeRouterTests",
            dependencies: ["TurnpikeRouter", "TurnpikeModel"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TurnpikeRedisTests",
            dependencies: [
                "TurnpikeRedis", "TurnpikeTestSupport", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TurnpikeYAMLTests",
            dependencies: ["TurnpikeYAML", "TurnpikeModel"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TurnpikeServerTests",
            dependencies: [
                "TurnpikeServer", "TurnpikeModel", "TurnpikeEngine", "TurnpikeYAML", "TurnpikePlugins",
                "TurnpikeRedis", "TurnpikeTestSupport", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"), .product(name: "Crypto", package: "swift-crypto"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "TurnpikeServer", "TurnpikeTestSupport", "TurnpikeEngine", "TurnpikePlugins", "TurnpikeModel",
                "TurnpikeRedis", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TurnpikeCLITests",
            dependencies: ["TurnpikeTestSupport", "TurnpikeServer"],
            swiftSettings: strict
        ),
    ]
)
