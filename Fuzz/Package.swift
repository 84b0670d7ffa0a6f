// swift-tools-version: 6.2
// The libFuzzer binary: built apart from the console, with `-sanitize=fuzzer,address`, by
// `make fuzz` (scripts/fuzz.sh). What each target does with an input is IngestFuzzTargets, in
// the console's package, so the regression tests replay the corpus through the same code.
import PackageDescription

let package = Package(
    name: "console-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "threatmapper-console", path: "..")],
    targets: [
        .target(name: "CFuzzer"),
        .executableTarget(
            name: "fuzz",
            dependencies: ["CFuzzer", .product(name: "IngestFuzzTargets", package: "threatmapper-console")],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
    ]
)
