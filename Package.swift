// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "turnpike",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "turnpike", targets: ["TurnpikeCLI"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        .systemLibrary(
            name: "CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        .target(
            name: "TurnpikeModel",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        .target(
            name: "TurnpikeYAML",
            dependencies: ["TurnpikeModel", "CYAML"],
            swiftSettings: strict
        ),
        .target(
            name: "TurnpikePlugins",
            dependencies: ["TurnpikeModel"],
            swiftSettings: strict
        ),
        .target(
            name: "TurnpikeEngine",
            dependencies: ["TurnpikeModel", "TurnpikePlugins"],
            swiftSettings: strict
        ),
        .target(
            name: "TurnpikeServer",
            dependencies: [
                "TurnpikeModel", "TurnpikeYAML", "TurnpikePlugins", "TurnpikeEngine",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "TurnpikeCLI",
            dependencies: [
                "TurnpikeServer", "TurnpikeEngine", "TurnpikeModel", "TurnpikeYAML",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "TurnpikeTestSupport",
            dependencies: ["TurnpikeModel", "TurnpikeYAML", "TurnpikeServer"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TurnpikeModelTests",
            dependencies: ["TurnpikeModel"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TurnpikeYAMLTests",
            dependencies: ["TurnpikeYAML", "TurnpikeModel"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TurnpikeServerTests",
            dependencies: ["TurnpikeServer", "TurnpikeModel", "TurnpikeEngine", "TurnpikeYAML", "TurnpikeTestSupport"],
            exclude: ["Fixtures"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TurnpikeCLITests",
            dependencies: ["TurnpikeTestSupport"],
            swiftSettings: strict
        ),
    ]
)
