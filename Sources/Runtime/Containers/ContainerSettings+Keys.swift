//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

// The configuration keys of `[containers]` and `[containers.templates.<name>]`. Each key checks its own value; the
// rules that span keys (`max_sessions_per_user` against `max_sessions`, `memory_max` against `memory`, a template
// without an image) are ``ContainerSettings/validate()``'s, reported by the loader on the key's line.

extension ContainerSettings: ConfigSection {
    public static let keys: [ConfigKey<Self>] = [
        .custom("enabled") { settings, raw throws(ConfigValueError) in settings.enabled = try enablement(raw) },
        .absolutePath("socket", \.socket),
        .custom("port_range") { settings, raw throws(ConfigValueError) in
            let text = try raw.string()
            guard let range = parsePortRange(text) else {
                throw ConfigValueError(message: "expected a port range such as \"20000-20999\" (two ports in 1-65535, the first not above the second), got \"\(text)\"")
            }
            settings.portRange = range
        },
        .custom("publish_address") { settings, raw throws(ConfigValueError) in
            let text = try raw.string()
            guard parseIPv4(text) != nil else { throw ConfigValueError(message: "expected an IPv4 address such as 127.0.0.1, got \"\(text)\"") }
            settings.publishAddress = text
        },
        .int("max_sessions", \.maxSessions, in: 1...100_000),
        .int("max_sessions_per_user", \.maxSessionsPerUser, in: 1...100_000),
        .duration("keep_exited", \.keepExited, min: .zero, max: "365d"),
        .bool("pull", \.pull),
        .bool("show_all", \.showAll),
        .oneOf("orphans", \.orphans),
        .duration("stop_grace_period", \.stopGracePeriod, min: .zero, max: "5m"),
        .duration("engine_timeout", \.engineTimeout, min: .milliseconds(100), max: "5m"),
        .duration("keep_records", \.keepRecords, min: .zero, max: "3650d"),
        .duration("reap_interval", \.reapInterval, min: .milliseconds(100), max: "1h"),
        .custom("agent_id") { settings, raw throws(ConfigValueError) in
            let text = try raw.string()
            guard SessionRules.isValidLabelValue(text) else {
                throw ConfigValueError(message: "expected 1-64 letters, digits, '.', '_' or '-' (a letter or digit first), got \"\(text)\"")
            }
            settings.agentID = text
        },
    ]

    /// `enabled`: `"auto"`, `true` or `false` (from the environment also 1/0, yes/no, on/off).
    static func enablement(_ raw: ConfigValue) throws(ConfigValueError) -> Enablement {
        if case .bool(let value) = raw { return value ? .on : .off }
        if case .string(let text) = raw, text.lowercased() == "auto" { return .auto }
        if case .text(let text) = raw {
            if text.lowercased() == "auto" { return .auto }
            if let value = try? raw.bool() { return value ? .on : .off }
        }
        throw ConfigValueError(message: "expected \"auto\", true or false, got \(raw.quoted)")
    }
}

extension SessionTemplate: ConfigSection {
    /// The keys of a `[containers.templates.<name>]` table. `env` is a table of its own
    /// (`env = { TZ = "UTC" }`), whose keys the loader resolves as ``envKey(_:)``.
    public static let keys: [ConfigKey<Self>] = [
        .string("image", \.image),
        .value("command", \.command) { raw throws(ConfigValueError) in try raw.strings { $0.isEmpty ? "an argument must not be empty" : nil } },
        .custom("env") { _, raw throws(ConfigValueError) in
            throw ConfigValueError(message: "expected a table of variables such as env = { TZ = \"UTC\" }, got \(raw.quoted)")
        },
        .int("port", \.port, in: 1...65535),
        .custom("memory") { template, raw throws(ConfigValueError) in template.memory = try byteSize(raw) },
        .custom("memory_max") { template, raw throws(ConfigValueError) in template.memoryMax = try byteSize(raw) },
        .int("cpu_shares", \.cpuShares, in: cpuSharesRange),
        .int("cpu_shares_max", \.cpuSharesMax, in: cpuSharesRange),
        .custom("cpus") { template, raw throws(ConfigValueError) in
            let value = try raw.number()
            guard value >= 0.01, value <= 1024 else { throw ConfigValueError(message: "expected a number of CPUs from 0.01 to 1024, got \(raw.quoted)") }
            template.cpus = value
        },
        .int("pids_limit", \.pidsLimit, in: 1...1_000_000),
        .duration("ttl", \.ttl, min: .seconds(1), max: "365d"),
        .duration("idle_timeout", \.idleTimeout, min: .seconds(1), max: "365d"),
        .bool("read_only", \.readOnly),
        .strings("tmpfs", \.tmpfs) { path in
            path.hasPrefix("/") && path != "/" && !path.contains(":") && !path.contains(",")
                ? nil : "\"\(path)\" must be an absolute path other than /, without ':' or ','"
        },
        .strings("cap_add", \.capAdd) { SessionRules.isCapabilityName($0) ? nil : "\"\($0)\" is not a capability name such as NET_BIND_SERVICE" },
    ]

    /// The key of one variable of `env`: its value is a string.
    static func envKey(_ name: String) -> ConfigKey<Self> {
        .custom(name) { template, raw throws(ConfigValueError) in
            guard !name.isEmpty, !name.contains("="), !name.utf8.contains(0) else { throw ConfigValueError(message: "\"\(name)\" is not a variable name") }
            template.env[name] = try raw.string()
        }
    }

    /// `"256MiB"`, `"1GiB"` (``ByteSize/parse(_:)``) or a number of bytes.
    static func byteSize(_ raw: ConfigValue) throws(ConfigValueError) -> Int64 {
        switch raw {
        case .int(let bytes) where bytes >= 0: return Int64(bytes)
        case .string(let text), .text(let text):
            if let bytes = ByteSize.parse(text) { return bytes }
        default: break
        }
        throw ConfigValueError(message: "expected a size such as \"256MiB\" or \"1GiB\", got \(raw.quoted)")
    }

    /// A template as the first of its keys finds it: no image and no port yet (both required, checked after the pass).
    static var unset: SessionTemplate { SessionTemplate(image: "", port: 0) }
}
