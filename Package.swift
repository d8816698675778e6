// swift-tools-version:6.1
// The package reads like the architecture: a pure core at the bottom, storage and wire on top of
// it, then the sync client and the hub, then the command-line tool that ties them together.
import PackageDescription

let package = Package(
    name: "yuqing",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "yuqing", targets: ["yuqing"]),
        .executable(name: "yuqing-bench", targets: ["yuqing-bench"]),
        .library(name: "YuqingCore", targets: ["YuqingCore"]),
        .library(name: "YuqingCases", targets: ["YuqingCases"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // Clocks, dots, version vectors, per-field merge rules. No I/O, no Foundation.
        .target(name: "YuqingCore"),
        // The product's domain: cases and their records, roles, the workflow, deadlines, the
        // organisation, and the rules the hub applies. Pure: no I/O.
        .target(name: "YuqingCases", dependencies: ["YuqingCore"]),
        // Device keys (Ed25519), signed requests and sealed changes: pure, over swift-crypto.
        .target(name: "YuqingSecurity", dependencies: ["YuqingCore", .product(name: "Crypto", package: "swift-crypto")]),
        // SQLite's system VFS with each write-ahead log's appended frames written in one call
        // (a commit of 1,700 pages was 3,400 calls); nothing else changes. C, as VFSs are.
        .target(name: "CSQLiteWAL", linkerSettings: [.linkedLibrary("sqlite3")]),
        // The replica on SQLite (GRDB): used by every node, and by the hub's embedded store.
        .target(
            name: "YuqingReplica",
            dependencies: ["YuqingCore", "CSQLiteWAL", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift"),
                           .product(name: "Logging", package: "swift-log")]
        ),
        // The system zlib (zlib1g-dev), which compresses the binary wire form.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // The sync protocol's messages and their encodings (JSON, and the compact binary form).
        .target(name: "YuqingWire", dependencies: ["YuqingCore", "CZlib"]),
        // The node's sync client: URLSession for plain HTTP on loopback, AsyncHTTPClient for HTTPS
        // (URLSession on Linux cannot pin a hub's certificate).
        .target(
            name: "YuqingSync",
            dependencies: [
                "YuqingCore", "YuqingReplica", "YuqingWire", "YuqingSecurity",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The hub: Hummingbird server over a storage interface (SQLite by default).
        .target(
            name: "YuqingHub",
            dependencies: [
                "YuqingCore", "YuqingCases", "YuqingReplica", "YuqingWire", "YuqingSecurity",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // The hub's store on PostgreSQL (postgres-nio), for deployments that outgrow one machine:
        // the same merge (YuqingCore's Merge) over its tables.
        .target(
            name: "YuqingPostgres",
            dependencies: ["YuqingCore", "YuqingReplica", "YuqingHub", .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log")]
        ),
        // The office's work on a replica: routine reports, statistics, search (SQLite FTS5, trigram),
        // exports (CSV, XLSX, printable forms) and the two languages.
        .target(
            name: "YuqingOffice",
            dependencies: ["YuqingCore", "YuqingCases", "YuqingReplica", "CZlib", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // The web console the hub serves to the office, leaders and the operator: pages rendered
        // with Mustache, sessions and bcrypt-hashed passwords (hummingbird-auth), every asset
        // served by the hub itself.
        .target(
            name: "YuqingConsole",
            dependencies: [
                "YuqingCore", "YuqingCases", "YuqingReplica", "YuqingHub", "YuqingOffice", "YuqingSecurity",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The benchmarks of docs/benchmarks.md.
        .executableTarget(
            name: "yuqing-bench",
            dependencies: [
                "YuqingCore", "YuqingCases", "YuqingReplica", "YuqingWire", "YuqingSync", "YuqingHub", "YuqingSecurity", "YuqingOffice", "YuqingConsole", "YuqingTestSupport", "YuqingPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // Seeded randomness and temporary directories for the test targets.
        .target(name: "YuqingTestSupport", dependencies: ["YuqingCore"], path: "Tests/Support"),
        .executableTarget(
            name: "yuqing",
            dependencies: [
                "YuqingCore", "YuqingCases", "YuqingReplica", "YuqingWire", "YuqingSync", "YuqingHub", "YuqingSecurity", "YuqingOffice", "YuqingConsole",
                "YuqingPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "YuqingCoreTests",
            dependencies: ["YuqingCore", "YuqingTestSupport", .product(name: "PropertyBased", package: "swift-property-based")]
        ),
        .testTarget(
            name: "YuqingReplicaTests",
            dependencies: ["YuqingReplica", "YuqingTestSupport", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(name: "YuqingWireTests", dependencies: ["YuqingWire", "YuqingTestSupport"]),
        .testTarget(name: "YuqingSecurityTests", dependencies: ["YuqingSecurity", "YuqingCore", "YuqingTestSupport"]),
        .testTarget(
            name: "YuqingCasesTests",
            dependencies: ["YuqingCases", "YuqingCore", "YuqingTestSupport", .product(name: "PropertyBased", package: "swift-property-based")]
        ),
        .testTarget(
            name: "YuqingSyncTests",
            dependencies: [
                "YuqingSync", "YuqingHub", "YuqingReplica", "YuqingWire", "YuqingSecurity", "YuqingTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "YuqingHubTests",
            dependencies: ["YuqingHub", "YuqingCases", "YuqingReplica", "YuqingWire", "YuqingSecurity", "YuqingTestSupport", "YuqingPostgres",
                           .product(name: "HummingbirdTesting", package: "hummingbird"), .product(name: "HTTPTypes", package: "swift-http-types"),
                           .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "YuqingOfficeTests",
            dependencies: ["YuqingOffice", "YuqingCases", "YuqingCore", "YuqingReplica", "YuqingTestSupport"]
        ),
        .testTarget(
            name: "YuqingConsoleTests",
            dependencies: ["YuqingConsole", "YuqingHub", "YuqingCases", "YuqingCore", "YuqingReplica", "YuqingSecurity", "YuqingTestSupport",
                           .product(name: "HummingbirdTesting", package: "hummingbird")]
        ),
        .testTarget(
            name: "YuqingPostgresTests",
            dependencies: ["YuqingPostgres", "YuqingCore", "YuqingReplica", "YuqingTestSupport", .product(name: "Logging", package: "swift-log"),
                           .product(name: "PostgresNIO", package: "postgres-nio")]
        ),
        .testTarget(name: "YuqingCLITests", dependencies: ["YuqingCore", "YuqingCases", "YuqingReplica", "YuqingSecurity", "YuqingSync", "YuqingTestSupport", "YuqingPostgres",
                                                      .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
                                                      .product(name: "GRDB", package: "GRDB.swift")]),
    ],
    swiftLanguageModes: [.v6]
)
