//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

// viworks-fuzz: every libFuzzer target of the agent in one executable (one link), the target chosen by name:
//
//     viworks-fuzz <target> [libFuzzer flags] [corpus directories]
//
// The name is also read from VIWORKS_FUZZ_TARGET (set here for libFuzzer's child processes under -fork or -jobs).
// See docs/fuzzing.md.

import CFuzzerDriver
import Glibc

/// One fuzz target: `run` must not crash for any input; it stops the process (`fatalError`, which libFuzzer reports
/// as a crash with the input saved) when an invariant of the parser under test does not hold.
protocol FuzzTarget: Sendable {
    func run(_ input: UnsafeRawBufferPointer)
}

/// Every target by name; the seed corpus of each is Fuzz/corpus/<name>. `findsLeaks` false: the target's parser leaks
/// by design of a dependency (TOMLKit, see CFuzzerDriver.c), so that libFuzzer's leak check, which then runs after
/// every input, would cut the rate 15-fold; it runs with `-detect_leaks=0` unless the command line says otherwise.
let targets: [(name: String, findsLeaks: Bool, make: @Sendable () -> any FuzzTarget)] = [
    ("plugin-wire", true, { PluginWireTarget() }),
    ("plugin-manifest", false, { PluginManifestTarget() }),
    ("config", false, { ConfigurationTarget() }),
    ("procfs", true, { ProcfsTarget() }),
    ("time", true, { TimeTarget() }),
    ("docker-stats", true, { DockerStatsTarget() }),
    ("authorization", true, { AuthorizationTarget() }),
]

/// The target named by VIWORKS_FUZZ_TARGET, built (keys, files) once before the first input.
let selectedTarget: any FuzzTarget = {
    let name = getenv("VIWORKS_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let target = targets.first(where: { $0.name == name }) else {
        fatalError("viworks-fuzz: unknown target '\(name)'; one of: \(targets.map(\.name).joined(separator: ", "))")
    }
    return target.make()
}()

@_cdecl("LLVMFuzzerTestOneInput") public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    selectedTarget.run(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    return 0
}

/// The executable's entry point (SwiftPM links an executable's `main` to `<module>_main`): takes the target's name off
/// the command line, then hands the rest to libFuzzer's driver.
@_cdecl("viworks_fuzz_main") func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    guard let argv else { return 2 }
    var count = argc
    var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    if argc >= 2, let first = argv[1], first.pointee != 0x2D /* - */, targets.contains(where: { $0.name == String(cString: first) }) {
        setenv("VIWORKS_FUZZ_TARGET", first, 1)
        // argv[1] removed: libFuzzer reads flags and corpus directories from the rest.
        var index = 1
        while index < Int(argc) {
            argv[index] = argv[index + 1]
            index += 1
        }
        count -= 1
    }
    guard let name = getenv("VIWORKS_FUZZ_TARGET").map({ String(cString: $0) }) else {
        let names = targets.map(\.name).joined(separator: "|")
        let usage = "usage: viworks-fuzz <\(names)> [libFuzzer flags] [corpus directories]\n"
        _ = usage.withCString { write(2, $0, strlen($0)) }
        return 2
    }
    _ = selectedTarget
    var given = (0..<Int(count)).map { argv[$0] }
    let flags = given.compactMap { $0.map { String(cString: $0) } }
    if targets.contains(where: { $0.name == name && !$0.findsLeaks }), !flags.contains(where: { $0.hasPrefix("-detect_leaks=") }) {
        given.append(strdup("-detect_leaks=0"))
    }
    count = CInt(given.count)
    given.append(nil)
    return given.withUnsafeMutableBufferPointer { buffer in
        arguments = buffer.baseAddress
        return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzzTestOneInput(data, size) }
    }
}
