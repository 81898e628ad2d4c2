// swift-tools-version:6.0
import PackageDescription

// The comparison server of bench/http_compare.sh: Hummingbird 2's hello-JSON app answering
// GET /healthz with the body PacketStack answers. Its own package, so the product never links SwiftNIO.
let package = Package(
    name: "HelloJSON",
    platforms: [.macOS(.v14)],
    dependencies: [.package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1")],
    targets: [
        .executableTarget(name: "HelloJSON", dependencies: [.product(name: "Hummingbird", package: "hummingbird")]),
    ]
)
