// swift-tools-version:6.0
import PackageDescription

// Layers, lowest first (see README "Layout"): Wire → Kernel → Store → HTTPServer → API → packetstackd.
let package = Package(
    name: "PacketStack",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "packetstackd", targets: ["packetstackd"]),
        .executable(name: "psbench", targets: ["psbench"]),
    ],
    targets: [
        .systemLibrary(name: "CNGHTTP2", pkgConfig: "libnghttp2", providers: [.apt(["libnghttp2-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CSystem"),
        .target(name: "Wire"),
        .target(name: "JSON"),
        .target(name: "Kernel", dependencies: ["Wire"]),
        .target(name: "Store", dependencies: ["CSQLite"]),
        .target(name: "HTTPServer", dependencies: ["CNGHTTP2", "CSystem"]),
        .target(name: "API", dependencies: ["HTTPServer", "Kernel", "Store", "Wire", "JSON"]),
        .executableTarget(name: "packetstackd", dependencies: ["API", "HTTPServer", "Store"]),
        .executableTarget(name: "psbench", dependencies: ["Kernel", "Wire"], path: "bench/psbench"),
        .testTarget(name: "WireTests", dependencies: ["Wire"], exclude: ["Fixtures"]),
        .testTarget(name: "KernelTests", dependencies: ["Kernel", "Wire"]),
        .testTarget(name: "StoreTests", dependencies: ["Store"]),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer", "TestSupport"]),
        .testTarget(name: "APITests", dependencies: ["API", "HTTPServer", "Store", "Kernel", "JSON"]),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "EndToEndTests", dependencies: ["TestSupport"], exclude: ["h2_concurrent.py"]),
    ],
    swiftLanguageModes: [.v6]
)
