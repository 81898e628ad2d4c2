// swift-tools-version:6.0
import PackageDescription

// Layers, lowest first (see README "Layout"): Wire → Kernel → TC → Store → HTTPServer → API → packetstackd;
// the nftables language (NFTables, and IPTables translating iptables-save into it) and eBPF (BPF) beside
// it, below Kernel.
let package = Package(
    name: "PacketStack",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "packetstackd", targets: ["packetstackd"]),
        .executable(name: "psbench", targets: ["psbench"]),
        .executable(name: "nftbench", targets: ["nftbench"]),
        .executable(name: "txbench", targets: ["txbench"]),
        .executable(name: "psfuzz", targets: ["psfuzz"]),
        .executable(name: "xdpbench", targets: ["xdpbench"]),
    ],
    targets: [
        .systemLibrary(name: "CNGHTTP2", pkgConfig: "libnghttp2", providers: [.apt(["libnghttp2-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CSystem"),
        // The packet path runs on class state owned by one thread at a time (a stack's lock), so the
        // dynamic exclusivity checks cost a fifth of the path and buy nothing: they are off here.
        .target(name: "Wire", swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        .target(name: "JSON"),
        .target(name: "NFTables", dependencies: ["JSON", "Wire"]),
        .target(name: "IPTables", dependencies: ["NFTables"]),
        // eBPF: instructions, ELF objects, maps, the verifier and the interpreter; knows no packets path.
        .target(name: "BPF", swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        .target(name: "Kernel", dependencies: ["Wire", "NFTables", "BPF"], swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        .target(name: "TC", dependencies: ["Kernel", "JSON"]),
        .target(name: "Store", dependencies: ["CSQLite"]),
        // The server's state is confined to its loop thread (the checks only ever see one thread's
        // accesses): they were a tenth of a small HTTP/2 request's instructions.
        .target(name: "HTTPServer", dependencies: ["CNGHTTP2", "CSystem"], swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        .target(name: "API", dependencies: ["HTTPServer", "Kernel", "Store", "Wire", "JSON", "NFTables", "IPTables", "TC", "BPF"]),
        .executableTarget(name: "packetstackd", dependencies: ["API", "HTTPServer", "Store"]),
        // Counts heap allocations (replaces malloc in the process that links it): benchmarks only.
        .target(name: "MallocCount", path: "bench/malloccount"),
        .executableTarget(name: "psbench", dependencies: ["Kernel", "Wire", "MallocCount"], path: "bench/psbench"),
        .executableTarget(name: "txbench", dependencies: ["Kernel", "Wire"], path: "bench/txbench"),
        .executableTarget(name: "nftbench", dependencies: ["Kernel", "Wire", "NFTables"], path: "bench/nftbench"),
        .executableTarget(name: "xdpbench", dependencies: ["Kernel", "Wire", "BPF"], path: "bench/xdpbench"),
        // Fuzzing harnesses (scripts/fuzz.sh builds psfuzz with libFuzzer); FuzzTests replays their corpora.
        .target(name: "FuzzTargets", dependencies: ["API", "HTTPServer", "IPTables", "Kernel", "NFTables", "JSON", "Store", "TC", "Wire", "BPF"], path: "Tests/Fuzz/FuzzTargets"),
        .executableTarget(name: "psfuzz", dependencies: ["FuzzTargets"], path: "Tests/Fuzz/psfuzz"),
        .testTarget(name: "FuzzTests", dependencies: ["FuzzTargets"], path: "Tests/Fuzz/Tests"),
        .testTarget(name: "WireTests", dependencies: ["Wire", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "KernelTests", dependencies: ["Kernel", "Wire", "NFTables", "TestSupport"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "TestSupport"]),
        .target(name: "TestSupport", dependencies: ["Wire", "BPF"], path: "Tests/TestSupport"),
        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer", "TestSupport"]),
        .testTarget(name: "APITests", dependencies: ["API", "HTTPServer", "Store", "Kernel", "JSON", "NFTables", "Wire", "TestSupport", "BPF"], exclude: ["Cases"]),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "IPTablesTests", dependencies: ["IPTables", "NFTables", "Kernel", "Wire", "JSON", "TestSupport"], exclude: ["Files"]),
        .testTarget(name: "NFTablesTests", dependencies: ["NFTables", "JSON", "TestSupport"], exclude: ["Rulesets"]),
        .testTarget(name: "TCTests", dependencies: ["TC", "Kernel", "JSON", "Wire", "TestSupport"], exclude: ["Cases"]),
        .testTarget(name: "OracleTests", dependencies: ["Kernel", "NFTables", "Wire", "TestSupport", "BPF"]),
        .testTarget(name: "BPFTests", dependencies: ["BPF", "TestSupport"], exclude: ["Verifier", "TC"]),
        .testTarget(name: "EndToEndTests", dependencies: ["TestSupport"], exclude: ["h2_concurrent.py", "h2_limits.py", "h2_early413.py", "h2_hpack.py", "h2_headers.py", "h2_client.py", "numeric_extremes.py"]),
    ],
    swiftLanguageModes: [.v6]
)
