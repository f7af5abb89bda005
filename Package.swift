// swift-tools-version:6.0
// luminatectl takes no Swift package dependencies: only the toolchain and C system libraries
// (libcurl for HTTP, libyaml for configuration and manifests, libcrypto for the journal's hash
// chain, libxml2 for S3's answers), each wrapped in a system-library target.
import PackageDescription

let package = Package(
    name: "luminatectl",
    products: [
        .executable(name: "luminatectl", targets: ["luminatectl"]),
    ],
    targets: [
        // libcurl's headers; the library itself is opened on the first request (see shim.h), so
        // no pkgConfig here: its `-lcurl` would load libcurl's thirty dependencies at every start.
        .systemLibrary(
            name: "CCurl",
            path: "Sources/CCurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .systemLibrary(
            name: "CYAML",
            path: "Sources/CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        // libxml2's reader, opened on the first XML document like libcurl (see shim.h): linking it,
        // or FoundationXML, would load libxml2 and ICU at every start.
        .systemLibrary(
            name: "CXML",
            path: "Sources/CXML",
            providers: [.apt(["libxml2"])]
        ),
        .systemLibrary(
            name: "CCrypto",
            path: "Sources/CCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(
            name: "OpsKit",
            dependencies: ["CCurl", "CYAML", "CCrypto", "CXML"],
            path: "Sources/OpsKit"
        ),
        .executableTarget(
            name: "luminatectl",
            dependencies: ["OpsKit"],
            path: "Sources/luminatectl"
        ),
        .target(
            name: "OpsKitTestSupport",
            dependencies: ["OpsKit"],
            path: "Tests/OpsKitTestSupport"
        ),
        .testTarget(
            name: "OpsKitTests",
            dependencies: ["OpsKit", "OpsKitTestSupport"],
            path: "Tests/OpsKitTests"
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["OpsKit", "OpsKitTestSupport"],
            path: "Tests/IntegrationTests"
        ),
    ],
    swiftLanguageModes: [.v6]
)
