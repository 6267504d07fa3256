//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import CSystemd

#if canImport(Glibc)
import Glibc
#endif
// `timespec`'s members are declared by the stdlib's shims: named here so that a clean build under MemberImportVisibility sees them.
#if canImport(SwiftOverlayShims)
import SwiftOverlayShims
#endif

/// Sends `sd_notify(3)` messages to the service manager.
///
/// libsystemd reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` on every call, so the notifier
/// holds no state: when `NOTIFY_SOCKET` is unset (not started by systemd, or `Type=` is not `notify`)
/// every call returns without sending anything. The environment is never unset, so plugins spawned
/// later inherit `NOTIFY_SOCKET`; systemd ignores them because the unit says `NotifyAccess=main`.
///
/// ```swift
/// let notifier = SystemdNotifier()
/// notifier.notify("READY=1", "STATUS=8 collectors ok")
/// ```
public struct SystemdNotifier: Sendable {
    public init() {}

    /// True when `NOTIFY_SOCKET` is set, i.e. messages go somewhere.
    public var isEnabled: Bool {
        guard let value = getenv("NOTIFY_SOCKET") else { return false }
        return value.pointee != 0
    }

    /// The watchdog timeout (`WATCHDOG_USEC`) when `sd_watchdog_enabled(3)` says the watchdog is on for
    /// this process, else nil (unset, another process's `WATCHDOG_PID`, or an invalid value).
    public func watchdogTimeout() -> Duration? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0, usec <= UInt64(Int64.max / 1000) else { return nil }
        return .microseconds(Int64(usec))
    }

    /// Sends one datagram holding `assignments` joined by newlines (`READY=1`, `STATUS=…`).
    ///
    /// - Returns: true when a message was sent; false when `NOTIFY_SOCKET` is unset or sending failed.
    @discardableResult
    public func notify(_ assignments: String...) -> Bool {
        notify(assignments)
    }

    /// Sends one datagram holding `assignments` joined by newlines.
    @discardableResult
    public func notify(_ assignments: [String]) -> Bool {
        // A newline inside a value would start a new assignment: STATUS= is one line.
        let message = assignments.map { $0.replacingNewlines() }.joined(separator: "\n")
        return sd_notify(0, message) > 0
    }

    /// `MONOTONIC_USEC=` for `RELOADING=1` (required by `Type=notify-reload`, harmless otherwise).
    public static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
    }
}

extension String {
    fileprivate func replacingNewlines() -> String {
        guard contains(where: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) else { return self }
        return String(map { $0 == "\n" || $0 == "\r\n" || $0 == "\r" ? " " : $0 })
    }
}
