//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// A keyed container that always writes optionals, as `null` when absent: the API's keys are a contract and
/// are present in every response. Used by the server's documents and by the collectors' ``SystemInfoSection``s.
public struct JSONObject<Key: CodingKey> {
    public var container: KeyedEncodingContainer<Key>

    public init(_ encoder: any Encoder, keyedBy: Key.Type) {
        container = encoder.container(keyedBy: Key.self)
    }

    /// Writes `value` under `key`, or `null` when it is nil.
    public mutating func callAsFunction<T: Encodable>(_ key: Key, _ value: T?) throws {
        if let value { try container.encode(value, forKey: key) } else { try container.encodeNil(forKey: key) }
    }
}
