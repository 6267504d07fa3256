//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// `[containers.templates.<name>]`: what a session of this kind runs and within which limits. Clients choose a template
/// by name and may only lower or raise its memory and CPU shares up to the maxima and shorten its TTL; they never
/// choose an image, a mount, a capability or privileged mode.
public struct SessionTemplate: Sendable, Hashable {
    /// `image`: a local image reference, e.g. `agent-test/busybox:latest`.
    public var image: String
    /// `command`: the argv run in the container; nil keeps the image's command.
    public var command: [String]?
    /// `env`: environment variables.
    public var env: [String: String] = [:]
    /// `port`: the TCP port the session listens on inside the container.
    public var port: Int
    /// `memory`: the default memory limit, bytes (`"256MiB"` in the file).
    public var memory: Int64 = 256 << 20
    /// `memory_max`: the highest memory limit a request may ask for, bytes.
    public var memoryMax: Int64 = 1 << 30
    /// `cpu_shares`: the default relative CPU weight (1024 = one default share).
    public var cpuShares: Int = 512
    /// `cpu_shares_max`: the highest weight a request may ask for.
    public var cpuSharesMax: Int = 1024
    /// `cpus`: a hard cap in CPUs (1.5 = one and a half), sent as `NanoCpus`; nil for none. Shares alone only weigh
    /// CPUs under contention.
    public var cpus: Double?
    /// `pids_limit`: processes and threads at most (against fork bombs).
    public var pidsLimit: Int = 256
    /// `ttl`: the default and longest lifetime of a session; nil for no limit.
    public var ttl: Duration?
    /// `idle_timeout`: a running session whose container sent no network traffic for this long is stopped and
    /// removed; nil for never.
    public var idleTimeout: Duration?
    /// `read_only`: a read-only root filesystem.
    public var readOnly: Bool = false
    /// `tmpfs`: paths mounted as tmpfs (writable even with ``readOnly``).
    public var tmpfs: [String] = []
    /// `cap_add`: capabilities given back (every other one is dropped), e.g. `NET_BIND_SERVICE`.
    public var capAdd: [String] = []

    public init(image: String, port: Int) {
        self.image = image
        self.port = port
    }

    /// The smallest memory limit the engine accepts (Docker refuses less than 6 MiB).
    public static let minimumMemory: Int64 = 6 << 20
    /// The range of `cpu_shares` (Docker's minimum is 2).
    public static let cpuSharesRange: ClosedRange<Int> = 2...262_144
    /// The longest TTL and idle timeout accepted.
    public static let longestDuration: Duration = .seconds(365 * 86_400)

    /// Every problem with the template, each naming its key (`image`, `memory`, …); empty when valid.
    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        func fail(_ field: String, _ message: String) { errors.append(FieldError(field: field, message: message)) }
        if image.isEmpty || image.utf8.count > 255 || image.contains(where: { $0.isWhitespace }) {
            fail("image", "must be an image reference such as \"debian:12\", got \"\(image)\"")
        }
        if let command, command.isEmpty || command.contains(where: \.isEmpty) { fail("command", "must be a non-empty argv array of non-empty strings") }
        for key in env.keys.sorted() where key.isEmpty || key.contains("=") || key.utf8.contains(0) {
            fail("env", "\"\(key)\" is not a variable name")
        }
        if !(1...65535).contains(port) { fail("port", "must be a TCP port in 1-65535, got \(port)") }
        if memory < Self.minimumMemory { fail("memory", "must be at least \(ByteSize.format(Self.minimumMemory)), got \(ByteSize.format(memory))") }
        if memoryMax < memory { fail("memory_max", "must not be below memory (\(ByteSize.format(memory))), got \(ByteSize.format(memoryMax))") }
        if !Self.cpuSharesRange.contains(cpuShares) { fail("cpu_shares", "must be in \(Self.cpuSharesRange.lowerBound)-\(Self.cpuSharesRange.upperBound), got \(cpuShares)") }
        if cpuSharesMax < cpuShares || cpuSharesMax > Self.cpuSharesRange.upperBound {
            fail("cpu_shares_max", "must be between cpu_shares (\(cpuShares)) and \(Self.cpuSharesRange.upperBound), got \(cpuSharesMax)")
        }
        if let cpus, !(cpus.isFinite && cpus >= 0.01 && cpus <= 1024) { fail("cpus", "must be a number of CPUs from 0.01 to 1024, got \(cpus)") }
        if !(1...1_000_000).contains(pidsLimit) { fail("pids_limit", "must be in 1-1000000, got \(pidsLimit)") }
        if let ttl, ttl < .seconds(1) || ttl > Self.longestDuration { fail("ttl", "must be between 1s and 365d") }
        if let idleTimeout, idleTimeout < .seconds(1) || idleTimeout > Self.longestDuration { fail("idle_timeout", "must be between 1s and 365d") }
        for path in tmpfs where !path.hasPrefix("/") || path == "/" || path.contains(":") || path.contains(",") {
            fail("tmpfs", "\"\(path)\" must be an absolute path other than /, without ':' or ','")
        }
        for capability in capAdd where !SessionRules.isCapabilityName(capability) {
            fail("cap_add", "\"\(capability)\" is not a capability name such as NET_BIND_SERVICE")
        }
        return errors
    }
}

/// What a client asks for when it creates a session (the body of `POST /api/v1/sessions`).
public struct SessionRequest: Sendable, Hashable {
    public var username: String
    public var template: String
    /// Bytes; nil takes the template's `memory`.
    public var memory: Int64?
    public var cpuShares: Int?
    /// Nil takes the template's `ttl`.
    public var ttl: Duration?

    public init(username: String, template: String, memory: Int64? = nil, cpuShares: Int? = nil, ttl: Duration? = nil) {
        self.username = username
        self.template = template
        self.memory = memory
        self.cpuShares = cpuShares
        self.ttl = ttl
    }
}

/// A ``SessionRequest`` checked against its template: the values a container is created with.
public struct ResolvedSessionRequest: Sendable, Hashable {
    public var username: String
    public var templateName: String
    public var template: SessionTemplate
    public var memory: Int64
    public var cpuShares: Int
    public var ttl: Duration?
}

/// The rules for names and for resolving a request against the templates.
public enum SessionRules {
    /// A username: 1–32 characters, a letter or `_` first, then letters, digits, `_`, `.` or `-` (a POSIX login name;
    /// it becomes part of a container name and a label).
    public static func isValidUsername(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 32, isLetter(first) || first == UInt8(ascii: "_") else { return false }
        return bytes.allSatisfy { isLetter($0) || isDigit($0) || "_.-".utf8.contains($0) }
    }

    /// A template name: 1–64 letters, digits, `.`, `_` or `-`.
    public static func isValidTemplateName(_ name: String) -> Bool { isValidLabelValue(name) }

    /// 1–64 letters, digits, `.`, `_` or `-`, a letter or digit first.
    public static func isValidLabelValue(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard let first = bytes.first, bytes.count <= 64, isLetter(first) || isDigit(first) else { return false }
        return bytes.allSatisfy { isLetter($0) || isDigit($0) || "_.-".utf8.contains($0) }
    }

    /// `NET_BIND_SERVICE`, `CAP_CHOWN`: upper-case letters, digits and `_`.
    static func isCapabilityName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 40 && name.utf8.allSatisfy { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
            && name.uppercased() != "ALL"
    }

    /// Checks `request` against `templates`.
    /// - Returns: the values to create the container with.
    /// - Throws: ``FieldError`` naming the first bad field (`username`, `template`, `memory`, `cpu_shares`, `ttl`).
    public static func resolve(_ request: SessionRequest, templates: [String: SessionTemplate]) throws(FieldError) -> ResolvedSessionRequest {
        guard isValidUsername(request.username) else {
            throw FieldError(
                field: "username", message: "must be 1-32 characters: a letter or '_' first, then letters, digits, '_', '.' or '-', got \"\(request.username.prefix(64))\"")
        }
        guard let template = templates[request.template] else {
            let known = templates.keys.sorted().joined(separator: ", ")
            throw FieldError(field: "template", message: "no template \"\(request.template.prefix(64))\" (known: \(known.isEmpty ? "none" : known))")
        }
        let memory = request.memory ?? template.memory
        guard memory >= SessionTemplate.minimumMemory, memory <= template.memoryMax else {
            throw FieldError(
                field: "memory", message: "must be between \(ByteSize.format(SessionTemplate.minimumMemory)) and \(ByteSize.format(template.memoryMax)), got \(ByteSize.format(memory))")
        }
        let cpuShares = request.cpuShares ?? template.cpuShares
        guard cpuShares >= SessionTemplate.cpuSharesRange.lowerBound, cpuShares <= template.cpuSharesMax else {
            throw FieldError(field: "cpu_shares", message: "must be between \(SessionTemplate.cpuSharesRange.lowerBound) and \(template.cpuSharesMax), got \(cpuShares)")
        }
        var ttl = template.ttl
        if let asked = request.ttl {
            let longest = template.ttl ?? SessionTemplate.longestDuration
            guard asked >= .seconds(1), asked <= longest else {
                throw FieldError(field: "ttl", message: "must be between 1s and \(format(longest)), got \(format(asked))")
            }
            ttl = asked
        }
        return ResolvedSessionRequest(username: request.username, templateName: request.template, template: template, memory: memory, cpuShares: cpuShares, ttl: ttl)
    }

    /// `90s`, `1.5s`: a duration in seconds, for messages.
    public static func format(_ duration: Duration) -> String {
        let seconds = duration.secondsDouble
        return seconds == seconds.rounded() ? "\(Int64(seconds))s" : "\(seconds)s"
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
}
