// ViWorks plugin example in Swift (poll mode): the kernel's available entropy.
// Build: make plugins (swiftc -O examples/plugins/swift/entropy.swift -o examples/plugins/swift/entropy)
// Protocol: docs/plugin-protocol.md. Try it:  viworks-agent plugin test plugins.d/entropy-swift.toml
#if canImport(Glibc)
import Glibc
#endif

func send(_ line: String) {
    print(line)
    fflush(stdout)
}

func readNumber(_ path: String) -> Double? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var buffer = [CChar](repeating: 0, count: 64)
    guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
    let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return Double(text.filter { !$0.isWhitespace })
}

send(#"{"type":"hello","protocol":1,"name":"entropy-swift","version":"1.0"}"#)
while let line = readLine() {
    guard line.contains(#""type":"collect""#) else {
        if line.contains(#""type":"shutdown""#) { break }
        continue
    }
    // The reply echoes the collect's id: the digits after "id":.
    let id = line.split(separator: "\"id\":").dropFirst().first.map { $0.prefix { $0.isNumber } } ?? "0"
    let entropy = readNumber("/proc/sys/kernel/random/entropy_avail") ?? 0
    send(#"{"type":"metrics","id":\#(id),"samples":[{"name":"example_entropy_available_bits","value":\#(entropy),"unit":"bits"}]}"#)
}
