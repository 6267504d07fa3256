// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

// The release binary's steady-state code (what runs every collection and every request, listed by
// `make hot-code-order` in Sources/viworks-agent/hot-code.order) placed together at the start of the text by lld:
// code faults in 64 KB at a time (the kernel maps the cached pages around a fault), so code that runs every second
// scattered over 50 MB of text kept 10-11 MB of it resident. A name the order lists that a build no longer has is
// skipped. SwiftPM does not see the file: a changed order needs a new link (`make release` relinks then).
let hotCodeFirst = [
    "-use-ld=lld",
    "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/Sources/viworks-agent/hot-code.order",
    "-Xlinker", "--no-warn-symbol-ordering",
]

let package = Package(
    name: "viworks-agent",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "viworks-agent", targets: ["viworks-agent"]),
        .library(name: "AgentRuntime", targets: ["AgentRuntime"]),
        .library(name: "AgentCollectors", targets: ["AgentCollectors"]),
        .library(name: "AgentServer", targets: ["AgentServer"]),
        .library(name: "AgentPlugins", targets: ["AgentPlugins"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        // Without its SubprocessFoundation trait: no Foundation linked for plugin processes.
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2", traits: []),
        // Access control: TLS through swift-nio-ssl, JWT through jwt-kit, hashes through swift-crypto.
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.7.1"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        // The audit log (SQLite) and its hash chain; history (SQLite); webhook HMAC signatures.
        // swift-crypto is shared by access control, the audit log and webhooks.
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        // Webhooks; property-based tests of the block codec.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        // The PostgreSQL push output.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // The dashboard's files, gzip-compressed once when first served.
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CSystemd",
            path: "Sources/CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        .target(
            name: "AgentRuntime",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                "CSystemd",
            ],
            path: "Sources/Runtime",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AgentCollectors",
            dependencies: [
                "AgentRuntime",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Sources/Collectors",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AgentPlugins",
            dependencies: [
                "AgentRuntime",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            path: "Sources/Plugins",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AgentServer",
            dependencies: [
                "AgentRuntime",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            path: "Sources/Server",
            // The OpenAPI document, served as it is: `PackageResources.openapi_json`; the dashboard's files, served by
            // DashboardAssets (which lists them again by their `PackageResources` names).
            resources: [
                .embedInCode("Resources/openapi.json"),
                .embedInCode("Resources/dashboard/index.html"),
                .embedInCode("Resources/dashboard/app.css"),
                .embedInCode("Resources/dashboard/app.js"),
                .embedInCode("Resources/dashboard/api.js"),
                .embedInCode("Resources/dashboard/dom.js"),
                .embedInCode("Resources/dashboard/charts.js"),
                .embedInCode("Resources/dashboard/overview.js"),
                .embedInCode("Resources/dashboard/history.js"),
                .embedInCode("Resources/dashboard/capacity.js"),
                .embedInCode("Resources/dashboard/incidents.js"),
                .embedInCode("Resources/dashboard/services.js"),
                .embedInCode("Resources/dashboard/sessions.js"),
                .embedInCode("Resources/dashboard/logs.js"),
                .embedInCode("Resources/dashboard/admin.js"),
                .embedInCode("Resources/dashboard/agent.js"),
                .embedInCode("Resources/dashboard/favicon.svg"),
                .embedInCode("Resources/dashboard/chart.min.js"),
                .embedInCode("Resources/dashboard/chart-LICENSE.txt"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AgentContainers",
            dependencies: [
                "AgentRuntime",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Containers",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AgentOutputs",
            dependencies: [
                "AgentRuntime",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Outputs",
            // The backend's tables, created when missing: the same files as examples/backend/schema*.sql.
            resources: [.embedInCode("Resources/schema.sql"), .embedInCode("Resources/schema-extended.sql")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "viworks-agent",
            dependencies: [
                "AgentRuntime",
                "AgentCollectors",
                "AgentServer",
                "AgentPlugins",
                "AgentContainers",
                "AgentOutputs",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Sources/viworks-agent",
            exclude: ["hot-code.order"],
            swiftSettings: swiftSettings,
            // The static Swift runtime's link arguments export every symbol of the executable (--export-dynamic): 59,000
            // dynamic symbols that nothing looks up and that --gc-sections then has to keep. 6 MB of the stripped binary.
            // -z now: every imported function bound at start (BIND_NOW), so the GOT is read-only from then on (full
            // RELRO), and no lazy binding after the start-up memory release reads the symbol tables of every library.
            linkerSettings: [
                .unsafeFlags(
                    ["-Xlinker", "--no-export-dynamic", "-Xlinker", "-z", "-Xlinker", "now"] + hotCodeFirst,
                    .when(platforms: [.linux], configuration: .release))
            ]
        ),
        .executableTarget(
            name: "viworks-bench",
            dependencies: [
                "AgentRuntime", "AgentCollectors", "AgentServer", "AgentPlugins", "AgentContainers", "AgentOutputs",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Benchmarks/viworks-bench",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AgentRuntimeTests",
            dependencies: [
                "AgentRuntime",
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            path: "Tests/AgentRuntimeTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AgentCollectorsTests",
            dependencies: ["AgentCollectors", "AgentRuntime"],
            path: "Tests/AgentCollectorsTests",
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AgentPluginsTests",
            dependencies: ["AgentPlugins", "AgentRuntime", .product(name: "Logging", package: "swift-log")],
            path: "Tests/AgentPluginsTests",
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AgentContainersTests",
            dependencies: [
                "AgentContainers", "AgentRuntime",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/AgentContainersTests",
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AgentOutputsTests",
            dependencies: ["AgentOutputs", "AgentRuntime"],
            path: "Tests/AgentOutputsTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AgentServerTests",
            dependencies: [
                "AgentServer", "AgentRuntime", "AgentCollectors", "AgentContainers",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            path: "Tests/AgentServerTests",
            swiftSettings: swiftSettings
        ),
    ]
)

// Fuzzing (docs/fuzzing.md): one libFuzzer executable, declared only when VIWORKS_FUZZ=1 so that a plain `swift build`
// neither plans nor builds it. Only the agent's own modules (where the parsers are) are compiled with the fuzzer's
// coverage and the address sanitizer; the dependencies are the debug build's, unchanged, so that the fuzz build compiles
// our modules again and nothing else. In the debug configuration:
// VIWORKS_FUZZ=1 swift build --product viworks-fuzz
// (a later plain debug build compiles the agent's modules again, without the sanitizers).
if Context.environment["VIWORKS_FUZZ"] == "1" {
    let sanitizers = ["-sanitize=fuzzer,address"]
    for target in package.targets where target.type == .regular && target.path?.hasPrefix("Sources/") == true {
        target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(sanitizers)]
    }
    package.targets += [
        // libFuzzer's entry point (LLVMFuzzerRunDriver), declared for Swift.
        .target(name: "CFuzzerDriver", path: "Fuzz/CFuzzerDriver"),
        .executableTarget(
            name: "viworks-fuzz",
            dependencies: [
                "CFuzzerDriver", "AgentRuntime", "AgentCollectors", "AgentPlugins", "AgentContainers", "AgentServer",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Fuzz/viworks-fuzz",
            swiftSettings: swiftSettings + [.unsafeFlags(sanitizers + ["-parse-as-library"])],
            linkerSettings: [.unsafeFlags(sanitizers)]
        ),
    ]
}
