//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import CompressNIO
import Crypto
import NIOCore

/// One file of the dashboard as it is served: both encodings made once, each with its strong validator.
struct DashboardAsset: Sendable {
    var contentType: String
    var identity: ByteBuffer
    var gzip: ByteBuffer
    /// `"<first 32 hex digits of the SHA-256 of the bytes>"`; the gzip encoding's ends in `-gz` (a strong ETag names one
    /// representation, RFC 9110 §8.8.3).
    var etag: String
    var gzipETag: String
}

/// The dashboard's files, embedded in the binary (`Resources/dashboard`, one `.embedInCode` line each in Package.swift).
///
/// Every file but `index.html` is served under `/assets/<version>/<name>`, where `version` is a hash of all the files:
/// a new build gets new URLs, so those responses can be cached for a year as immutable; `index.html` (which names the
/// version) is revalidated on every load. The ES modules import each other by relative path (`./api.js`), which stays
/// inside the versioned folder. Compressed once per process, on first use, with zlib (compress-nio).
struct DashboardAssets: Sendable {
    /// The embedded files by name. Names are flat (no folders): a request names a key of this table or gets 404,
    /// so no path from a client ever reaches a file system.
    static let embedded: [(name: String, bytes: [UInt8])] = [
        ("index.html", PackageResources.index_html),
        ("app.css", PackageResources.app_css),
        ("app.js", PackageResources.app_js),
        ("api.js", PackageResources.api_js),
        ("dom.js", PackageResources.dom_js),
        ("charts.js", PackageResources.charts_js),
        ("overview.js", PackageResources.overview_js),
        ("history.js", PackageResources.history_js),
        ("capacity.js", PackageResources.capacity_js),
        ("incidents.js", PackageResources.incidents_js),
        ("services.js", PackageResources.services_js),
        ("sessions.js", PackageResources.sessions_js),
        ("logs.js", PackageResources.logs_js),
        ("admin.js", PackageResources.admin_js),
        ("agent.js", PackageResources.agent_js),
        ("favicon.svg", PackageResources.favicon_svg),
        ("chart.min.js", PackageResources.chart_min_js),
        ("chart-LICENSE.txt", PackageResources.chart_LICENSE_txt),
    ]

    /// The placeholder `index.html` writes where the assets' folder goes.
    static let versionPlaceholder = "__ASSETS__"

    /// The served set, built on first use.
    static let shared = DashboardAssets(files: embedded)

    /// Hash of every file's name and bytes: the assets' folder name.
    let version: String
    let index: DashboardAsset
    let assets: [String: DashboardAsset]

    init(files: [(name: String, bytes: [UInt8])]) {
        var hasher = SHA256()
        for file in files {
            hasher.update(data: Array(file.name.utf8) + [0])
            hasher.update(data: Array(String(file.bytes.count).utf8) + [0])
            hasher.update(data: file.bytes)
        }
        let version = String(Hex.encode(hasher.finalize()).prefix(16))
        self.version = version
        var assets: [String: DashboardAsset] = [:]
        var index: DashboardAsset?
        for file in files {
            if file.name == "index.html" {
                let html = String(decoding: file.bytes, as: UTF8.self).replacing(Self.versionPlaceholder, with: "/assets/\(version)")
                index = Self.asset(name: file.name, bytes: Array(html.utf8))
            } else {
                assets[file.name] = Self.asset(name: file.name, bytes: file.bytes)
            }
        }
        self.assets = assets
        self.index = index ?? Self.asset(name: "index.html", bytes: [])
    }

    static func asset(name: String, bytes: [UInt8]) -> DashboardAsset {
        let identity = ByteBuffer(bytes: bytes)
        var input = identity
        // Compression of bytes in memory fails only when zlib cannot allocate; the identity encoding is served then.
        let gzip = (try? input.compress(with: .gzip(configuration: .init(compressionLevel: .bestCompression)))) ?? identity
        let digest = String(Hex.encode(SHA256.hash(data: bytes)).prefix(32))
        return DashboardAsset(
            contentType: contentType(name), identity: identity, gzip: gzip.readableBytes < identity.readableBytes ? gzip : identity,
            etag: "\"\(digest)\"", gzipETag: gzip.readableBytes < identity.readableBytes ? "\"\(digest)-gz\"" : "\"\(digest)\"")
    }

    static func contentType(_ name: String) -> String {
        if name.hasSuffix(".js") { return "text/javascript; charset=utf-8" }
        if name.hasSuffix(".css") { return "text/css; charset=utf-8" }
        if name.hasSuffix(".html") { return "text/html; charset=utf-8" }
        if name.hasSuffix(".svg") { return "image/svg+xml" }
        return "text/plain; charset=utf-8"
    }
}
