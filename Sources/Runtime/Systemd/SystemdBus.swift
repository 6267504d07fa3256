//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import CSystemd
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
// `timespec`'s members are declared by the stdlib's shims: named here so that a clean build under MemberImportVisibility sees them.
#if canImport(SwiftOverlayShims)
import SwiftOverlayShims
#endif

/// A unit as `org.freedesktop.systemd1.Manager.ListUnits` lists it.
public struct SystemdUnit: Sendable, Hashable {
    /// `nginx.service`.
    public var name: String
    public var loadState: String
    public var activeState: String
    public var subState: String
    /// The D-Bus object path of the unit.
    public var objectPath: String

    public init(name: String, loadState: String, activeState: String, subState: String, objectPath: String) {
        self.name = name
        self.loadState = loadState
        self.activeState = activeState
        self.subState = subState
        self.objectPath = objectPath
    }
}

/// Properties of one unit (`org.freedesktop.systemd1.Unit` and `.Service`).
public struct SystemdUnitDetails: Sendable, Hashable {
    public var name: String
    public var loadState: String
    public var activeState: String
    public var subState: String
    /// `MainPID`; 0 when there is none.
    public var mainPID: Int
    /// `NRestarts`; nil for units that are not services.
    public var restarts: Int?
    /// `StateChangeTimestamp` in microseconds since the epoch; 0 when never changed.
    public var stateChangeTimestampMicroseconds: UInt64
    /// `ControlGroup` (`/system.slice/nginx.service`); nil or empty when the unit has none (not running).
    public var controlGroup: String?
    /// `Result` of a service (`success`, `exit-code`, `signal`, `core-dump`, `timeout`, …).
    public var result: String?

    public init(
        name: String, loadState: String, activeState: String, subState: String, mainPID: Int = 0, restarts: Int? = nil,
        stateChangeTimestampMicroseconds: UInt64 = 0, controlGroup: String? = nil, result: String? = nil
    ) {
        self.name = name
        self.loadState = loadState
        self.activeState = activeState
        self.subState = subState
        self.mainPID = mainPID
        self.restarts = restarts
        self.stateChangeTimestampMicroseconds = stateChangeTimestampMicroseconds
        self.controlGroup = controlGroup
        self.result = result
    }
}

/// A failed D-Bus operation: what was asked and what sd-bus answered.
public struct SystemdBusError: Error, Sendable, Hashable, CustomStringConvertible {
    public var operation: String
    /// The D-Bus error name (`org.freedesktop.systemd1.NoSuchUnit`) or the errno text.
    public var name: String
    public var message: String

    public init(operation: String, name: String, message: String) {
        self.operation = operation
        self.name = name
        self.message = message
    }

    public var description: String { "\(operation): \(name)\(message.isEmpty ? "" : ": \(message)")" }
}

/// What the services collector (and service control) needs from systemd; tests substitute their own.
public protocol SystemdUnitSource: Sendable {
    /// Every loaded unit.
    func listUnits() async throws(SystemdBusError) -> [SystemdUnit]
    /// Properties of the unit named `name`, loading it when it is not loaded (a unit without a file is `not-found`).
    /// The details carry the unit's own name: for an alias (`sshd.service`), the unit it names (`ssh.service`).
    func unitDetails(_ name: String) async throws(SystemdBusError) -> SystemdUnitDetails
}

/// A client of systemd's D-Bus API through sd-bus.
///
/// sd-bus connections are not thread-safe and every call blocks its thread until the answer or the timeout, so one
/// serial Dispatch queue owns the connection: a hung bus holds that queue's thread, never a Swift concurrency thread,
/// and every call is bounded by ``timeout``. A connection that fails is dropped and opened again on the next call.
///
/// Where it connects: `DBUS_SYSTEM_BUS_ADDRESS` when set; else, as root, systemd's own socket `<rootfs>/run/systemd/private`
/// (what `systemctl` uses; no dbus-daemon needed); else the system bus `<rootfs>/run/dbus/system_bus_socket`.
public final class SystemdBus: SystemdUnitSource {
    private let queue = DispatchQueue(label: "viworks.systemd-bus")
    private let connection = Mutex<OpaquePointer?>(nil)
    private let rootfs: String
    public let timeout: Duration
    /// Calls queued or running; a caller finding too many (the bus hangs) fails at once instead of queueing more.
    private let pending = Atomic<Int>(0)

    /// - Parameters:
    ///   - rootfs: the host's root (`/`, or where it is mounted when the agent runs in a container).
    ///   - timeout: deadline of every call.
    public init(rootfs: String = "/", timeout: Duration = .seconds(2)) {
        self.rootfs = rootfs == "/" ? "" : rootfs
        self.timeout = timeout
    }

    deinit {
        connection.withLock { bus in
            if let bus { sd_bus_close_unref(bus) }
            bus = nil
        }
    }

    /// True when the host was booted with systemd (`<rootfs>/run/systemd/system` is a directory), as `sd_booted()` checks.
    public static func isBooted(rootfs: String = "/") -> Bool {
        var info = stat()
        let path = (rootfs == "/" ? "" : rootfs) + "/run/systemd/system"
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    public func listUnits() async throws(SystemdBusError) -> [SystemdUnit] {
        try await perform("ListUnits") { bus, usec throws(SystemdBusError) in
            try Self.listUnits(bus, usec)
        }
    }

    public func unitDetails(_ name: String) async throws(SystemdBusError) -> SystemdUnitDetails {
        try await perform("LoadUnit \(name)") { bus, usec throws(SystemdBusError) in
            let path = try Self.loadUnit(bus, usec, name)
            var details = SystemdUnitDetails(name: name, loadState: "", activeState: "", subState: "")
            try Self.getAll(bus, usec, path: path, interface: "org.freedesktop.systemd1.Unit") { key, value in
                switch (key, value) {
                // The unit's own name: an alias (`sshd.service` → `ssh.service`) is loaded as the unit it names.
                case ("Id", .string(let s)) where !s.isEmpty: details.name = s
                case ("LoadState", .string(let s)): details.loadState = s
                case ("ActiveState", .string(let s)): details.activeState = s
                case ("SubState", .string(let s)): details.subState = s
                case ("StateChangeTimestamp", .unsigned(let t)): details.stateChangeTimestampMicroseconds = t
                default: break
                }
            }
            if name.hasSuffix(".service"), details.loadState == "loaded" {
                try Self.getAll(bus, usec, path: path, interface: "org.freedesktop.systemd1.Service") { key, value in
                    switch (key, value) {
                    case ("MainPID", .unsigned(let pid)): details.mainPID = Int(truncatingIfNeeded: pid)
                    case ("NRestarts", .unsigned(let n)): details.restarts = Int(truncatingIfNeeded: n)
                    case ("ControlGroup", .string(let s)): details.controlGroup = s.isEmpty ? nil : s
                    case ("Result", .string(let s)): details.result = s
                    default: break
                    }
                }
            }
            return details
        }
    }

    /// Calls `Manager.<method>(name, mode)` (`StartUnit`, `StopUnit`, `RestartUnit`, …) and returns the job's object path.
    public func unitJob(_ method: String, unit: String, mode: String = "replace") async throws(SystemdBusError) -> String {
        try await perform("\(method) \(unit)") { bus, usec throws(SystemdBusError) in
            var reply: OpaquePointer?
            try Self.call(bus, usec, "\(method) \(unit)", path: "/org/freedesktop/systemd1", interface: "org.freedesktop.systemd1.Manager", member: method,
                strings: [unit, mode], reply: &reply)
            defer { sd_bus_message_unref(reply) }
            return try Self.readString(reply, type: "o", operation: method)
        }
    }

    // MARK: - Running calls on the bus queue

    private func perform<T: Sendable>(
        _ operation: String, _ body: @escaping @Sendable (OpaquePointer, UInt64) throws(SystemdBusError) -> T
    ) async throws(SystemdBusError) -> T {
        // Two calls stuck behind a hung bus are enough: later ones fail at once rather than pile up threads and memory.
        guard pending.add(1, ordering: .relaxed).newValue <= 2 else {
            pending.subtract(1, ordering: .relaxed)
            throw SystemdBusError(operation: operation, name: "busy", message: "earlier D-Bus calls have not returned (hung bus?)")
        }
        let usec = UInt64(max(1, timeout.secondsDouble * 1_000_000))
        let result: Result<T, SystemdBusError> = await withCheckedContinuation { continuation in
            queue.async { [self] in
                let result = connection.withLock { bus -> Result<T, SystemdBusError> in
                    do throws(SystemdBusError) {
                        if bus == nil {
                            let fresh = try Self.connect(rootfs: rootfs)
                            do throws(SystemdBusError) {
                                try Self.waitUntilReady(fresh, usec)
                            } catch {
                                sd_bus_close_unref(fresh)
                                throw error
                            }
                            bus = fresh
                        }
                        guard let open = bus else { throw SystemdBusError(operation: operation, name: "ENOTCONN", message: "no bus") }
                        return .success(try body(open, usec))
                    } catch {
                        // The connection may be dead (daemon restarted, timeout mid-message): start afresh next time.
                        if let open = bus, error.name.hasPrefix("E") || error.name == "org.freedesktop.DBus.Error.NoReply" {
                            sd_bus_close_unref(open)
                            bus = nil
                        }
                        return .failure(error)
                    }
                }
                pending.subtract(1, ordering: .relaxed)
                continuation.resume(returning: result)
            }
        }
        return try result.get()
    }

    private static func connect(rootfs: String) throws(SystemdBusError) -> OpaquePointer {
        var bus: OpaquePointer?
        if getenv("DBUS_SYSTEM_BUS_ADDRESS") == nil, geteuid() == 0, access(rootfs + "/run/systemd/private", F_OK) == 0 {
            try check(sd_bus_new(&bus), "connect")
            guard let bus else { throw SystemdBusError(operation: "connect", name: "ENOMEM", message: "") }
            let address = "unix:path=" + rootfs + "/run/systemd/private"
            do throws(SystemdBusError) {
                try check(sd_bus_set_address(bus, address), "connect \(address)")
                try check(sd_bus_start(bus), "connect \(address)")
            } catch {
                sd_bus_unref(bus)
                throw error
            }
            return bus
        }
        if getenv("DBUS_SYSTEM_BUS_ADDRESS") == nil, !rootfs.isEmpty {
            try check(sd_bus_new(&bus), "connect")
            guard let bus else { throw SystemdBusError(operation: "connect", name: "ENOMEM", message: "") }
            let address = "unix:path=" + rootfs + "/run/dbus/system_bus_socket"
            do throws(SystemdBusError) {
                try check(sd_bus_set_address(bus, address), "connect \(address)")
                try check(sd_bus_set_bus_client(bus, 1), "connect \(address)")
                try check(sd_bus_start(bus), "connect \(address)")
            } catch {
                sd_bus_unref(bus)
                throw error
            }
            return bus
        }
        try check(sd_bus_open_system(&bus), "connect to the system bus")
        guard let bus else { throw SystemdBusError(operation: "connect", name: "ENOMEM", message: "") }
        return bus
    }

    /// Completes the connection (the SASL handshake, `Hello`) within `usec`: `sd_bus_call` would otherwise wait for a
    /// silent peer up to sd-bus's own authentication timeout (90 s), whatever timeout the call was given. For the same
    /// reason connections are closed with `sd_bus_close_unref`, never `sd_bus_flush_close_unref`, which waits for that
    /// handshake too.
    private static func waitUntilReady(_ bus: OpaquePointer, _ usec: UInt64) throws(SystemdBusError) {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let start = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
        while true {
            let ready = sd_bus_is_ready(bus)
            try check(ready, "connect")
            if ready > 0 { return }
            let processed = sd_bus_process(bus, nil)
            try check(processed, "connect")
            if processed > 0 { continue }
            clock_gettime(CLOCK_MONOTONIC, &now)
            let elapsed = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000 - start
            guard elapsed < usec else {
                throw SystemdBusError(operation: "connect", name: "ETIMEDOUT", message: "the bus did not complete the handshake within \(Double(usec) / 1e6) s")
            }
            let waited = sd_bus_wait(bus, usec - elapsed)
            if waited < 0, waited != -EINTR { try check(waited, "connect") }
        }
    }

    // MARK: - Messages

    private static func check(_ code: Int32, _ operation: String) throws(SystemdBusError) {
        guard code < 0 else { return }
        throw SystemdBusError(operation: operation, name: errnoName(-code), message: String(cString: strerror(-code)))
    }

    private static func errnoName(_ code: Int32) -> String {
        switch code {
        case ENOENT: "ENOENT"
        case ECONNREFUSED: "ECONNREFUSED"
        case ETIMEDOUT: "ETIMEDOUT"
        case EACCES: "EACCES"
        case EPERM: "EPERM"
        case ECONNRESET: "ECONNRESET"
        case ENOTCONN: "ENOTCONN"
        default: "E\(code)"
        }
    }

    /// Calls a method whose arguments are strings; `reply` receives the answer (the caller unrefs it).
    private static func call(
        _ bus: OpaquePointer, _ usec: UInt64, _ operation: String, path: String, interface: String, member: String, strings: [String],
        reply: inout OpaquePointer?
    ) throws(SystemdBusError) {
        var message: OpaquePointer?
        try check(sd_bus_message_new_method_call(bus, &message, "org.freedesktop.systemd1", path, interface, member), operation)
        defer { sd_bus_message_unref(message) }
        for string in strings {
            let code = string.withCString { pointer in sd_bus_message_append_basic(message, CChar(UInt8(ascii: "s")), pointer) }
            try check(code, operation)
        }
        var error = sd_bus_error()
        defer { sd_bus_error_free(&error) }
        let code = sd_bus_call(bus, message, usec, &error, &reply)
        if code < 0 {
            let name = error.name.map { String(cString: $0) } ?? errnoName(-code)
            let text = error.message.map { String(cString: $0) } ?? String(cString: strerror(-code))
            throw SystemdBusError(operation: operation, name: name, message: text)
        }
    }

    private static func readString(_ message: OpaquePointer?, type: Character, operation: String) throws(SystemdBusError) -> String {
        var pointer: UnsafePointer<CChar>?
        guard let ascii = type.asciiValue else { throw SystemdBusError(operation: operation, name: "EINVAL", message: "type") }
        try check(sd_bus_message_read_basic(message, CChar(ascii), &pointer), operation)
        guard let pointer else { throw SystemdBusError(operation: operation, name: "EBADMSG", message: "no string") }
        return String(cString: pointer)
    }

    private static func listUnits(_ bus: OpaquePointer, _ usec: UInt64) throws(SystemdBusError) -> [SystemdUnit] {
        var reply: OpaquePointer?
        try call(bus, usec, "ListUnits", path: "/org/freedesktop/systemd1", interface: "org.freedesktop.systemd1.Manager", member: "ListUnits", strings: [],
            reply: &reply)
        defer { sd_bus_message_unref(reply) }
        try check(sd_bus_message_enter_container(reply, CChar(UInt8(ascii: "a")), "(ssssssouso)"), "ListUnits")
        var units: [SystemdUnit] = []
        while true {
            let entered = sd_bus_message_enter_container(reply, CChar(UInt8(ascii: "r")), "ssssssouso")
            try check(entered, "ListUnits")
            if entered == 0 { break }
            var fields: [String] = []
            for type: Character in ["s", "s", "s", "s", "s", "s", "o"] { fields.append(try readString(reply, type: type, operation: "ListUnits")) }
            // job id (u), job type (s), job path (o): not needed.
            try check(sd_bus_message_skip(reply, "uso"), "ListUnits")
            try check(sd_bus_message_exit_container(reply), "ListUnits")
            units.append(SystemdUnit(name: fields[0], loadState: fields[2], activeState: fields[3], subState: fields[4], objectPath: fields[6]))
        }
        return units
    }

    private static func loadUnit(_ bus: OpaquePointer, _ usec: UInt64, _ name: String) throws(SystemdBusError) -> String {
        var reply: OpaquePointer?
        try call(bus, usec, "LoadUnit \(name)", path: "/org/freedesktop/systemd1", interface: "org.freedesktop.systemd1.Manager", member: "LoadUnit",
            strings: [name], reply: &reply)
        defer { sd_bus_message_unref(reply) }
        return try readString(reply, type: "o", operation: "LoadUnit \(name)")
    }

    enum PropertyValue {
        case string(String)
        case unsigned(UInt64)
        case signed(Int64)
        case bool(Bool)
        case other
    }

    /// `org.freedesktop.DBus.Properties.GetAll(interface)`: calls `visit` with every property of a basic type.
    private static func getAll(
        _ bus: OpaquePointer, _ usec: UInt64, path: String, interface: String, _ visit: (String, PropertyValue) -> Void
    ) throws(SystemdBusError) {
        let operation = "GetAll \(interface)"
        var reply: OpaquePointer?
        try call(bus, usec, operation, path: path, interface: "org.freedesktop.DBus.Properties", member: "GetAll", strings: [interface], reply: &reply)
        defer { sd_bus_message_unref(reply) }
        try check(sd_bus_message_enter_container(reply, CChar(UInt8(ascii: "a")), "{sv}"), operation)
        while true {
            let entered = sd_bus_message_enter_container(reply, CChar(UInt8(ascii: "e")), "sv")
            try check(entered, operation)
            if entered == 0 { break }
            let key = try readString(reply, type: "s", operation: operation)
            var type: CChar = 0
            var contents: UnsafePointer<CChar>?
            try check(sd_bus_message_peek_type(reply, &type, &contents), operation)
            let signature = contents.map { String(cString: $0) } ?? ""
            if signature.utf8.count == 1, let code = signature.utf8.first, "sotubiqnxy".utf8.contains(code) {
                try check(sd_bus_message_enter_container(reply, CChar(UInt8(ascii: "v")), signature), operation)
                visit(key, try readBasic(reply, code, operation))
                try check(sd_bus_message_exit_container(reply), operation)
            } else {
                try check(sd_bus_message_skip(reply, "v"), operation)
            }
            try check(sd_bus_message_exit_container(reply), operation)
        }
    }

    private static func readBasic(_ message: OpaquePointer?, _ code: UInt8, _ operation: String) throws(SystemdBusError) -> PropertyValue {
        let type = CChar(code)
        switch code {
        case UInt8(ascii: "s"), UInt8(ascii: "o"):
            var pointer: UnsafePointer<CChar>?
            try check(sd_bus_message_read_basic(message, type, &pointer), operation)
            return .string(pointer.map { String(cString: $0) } ?? "")
        case UInt8(ascii: "t"):
            var value: UInt64 = 0
            try check(sd_bus_message_read_basic(message, type, &value), operation)
            return .unsigned(value)
        case UInt8(ascii: "u"):
            var value: UInt32 = 0
            try check(sd_bus_message_read_basic(message, type, &value), operation)
            return .unsigned(UInt64(value))
        case UInt8(ascii: "q"):
            var value: UInt16 = 0
            try check(sd_bus_message_read_basic(message, type, &value), operation)
            return .unsigned(UInt64(value))
        case UInt8(ascii: "y"):
            var value: UInt8 = 0
            try check(sd_bus_message_read_basic(message, type, &value), operation)
            return .unsigned(UInt64(value))
        case UInt8(ascii: "x"):
            var value: Int64 = 0
            try check(sd_bus_message_read_basic(message, type, &value), operation)
            return .signed(value)
        case UInt8(ascii: "i"):
            var value: Int32 = 0
            try check(sd_bus_message_read_basic(message, type, &value), operation)
            return .signed(Int64(value))
        case UInt8(ascii: "n"):
            var value: Int16 = 0
            try check(sd_bus_message_read_basic(message, type, &value), operation)
            return .signed(Int64(value))
        case UInt8(ascii: "b"):
            var value: Int32 = 0
            try check(sd_bus_message_read_basic(message, type, &value), operation)
            return .bool(value != 0)
        default:
            try check(sd_bus_message_skip(message, String(UnicodeScalar(code))), operation)
            return .other
        }
    }
}
