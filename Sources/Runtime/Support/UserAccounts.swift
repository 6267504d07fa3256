//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

#if canImport(Glibc)
public import Glibc
#elseif canImport(Musl)
public import Musl
#endif

/// Users and groups by name or number, for the processes the agent starts (plugins, commands).
public enum UserAccounts {
    public struct LookupError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// A user name or numeric uid.
    public static func userID(_ user: String) throws(LookupError) -> uid_t {
        if let number = UInt32(user) { return number }
        guard let entry = getpwnam(user) else { throw LookupError(description: "unknown user \"\(user)\"") }
        return entry.pointee.pw_uid
    }

    /// The primary group of a user name or numeric uid.
    public static func primaryGroup(of user: String) throws(LookupError) -> gid_t {
        if let number = UInt32(user), let entry = getpwuid(number) { return entry.pointee.pw_gid }
        guard let entry = getpwnam(user) else { throw LookupError(description: "unknown user \"\(user)\"") }
        return entry.pointee.pw_gid
    }

    /// A group name or numeric gid.
    public static func groupID(_ group: String) throws(LookupError) -> gid_t {
        if let number = UInt32(group) { return number }
        guard let entry = getgrnam(group) else { throw LookupError(description: "unknown group \"\(group)\"") }
        return entry.pointee.gr_gid
    }
}
