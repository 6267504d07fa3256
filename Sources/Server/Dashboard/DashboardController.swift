//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
import HTTPTypes
import Hummingbird
import NIOCore

extension HTTPField.Name {
    static let lastEventID = Self("Last-Event-ID")!  // Safe to force unwrap: a valid literal token.
    static let referrerPolicy = Self("Referrer-Policy")!  // Safe to force unwrap: a valid literal token.
    static let xFrameOptions = Self("X-Frame-Options")!  // Safe to force unwrap: a valid literal token.
}

/// The web dashboard: `GET /` (the page) and `GET /assets/{version}/{file}` (its scripts, style sheet, icon and the
/// vendored Chart.js), embedded in the binary (``DashboardAssets``).
///
/// Both routes are public: they carry code, never data, and the page must load before anyone signs in; the page then
/// reads the API with the credential the person enters (kept in session storage, sent as `Authorization`, never a
/// cookie), and the API checks every role itself. The address allowlist and the rate limit apply as to any route.
/// Every answer carries a strict Content-Security-Policy (scripts, styles and connections from this origin only,
/// no inline script or style, no framing), `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`.
public struct DashboardController: Sendable {
    let settings: DashboardSettings

    public init(settings: DashboardSettings) {
        self.settings = settings
    }

    /// The policy of every dashboard response.
    static let contentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; font-src 'self'; "
        + "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    /// The routes this controller declares; ``APIServer`` registers them.
    public var routes: [Route] {
        [
            Route(.get, "/", .public, "The web dashboard (HTML page; the data comes from the API with the signed-in credential)") { request, _ in
                _ = try QueryParameters(request, allowed: [])
                guard settings.enabled else { throw Self.disabled }
                return Self.response(DashboardAssets.shared.index, request: request, cacheControl: "no-cache")
            },
            Route(.get, "/assets/{version}/{file}", .public, "A file of the web dashboard (script, style sheet, icon), immutable under its version") {
                request, context in
                let version = try context.pathParameter("version")
                let file = try context.pathParameter("file")
                _ = try QueryParameters(request, allowed: [])
                guard settings.enabled else { throw Self.disabled }
                let assets = DashboardAssets.shared
                guard let asset = assets.assets[file] else {
                    throw APIError.notFound("no dashboard file \(QueryParameters.shortened(file))")
                }
                guard version == assets.version else {
                    // An older page asking for files of another build: the current page names the current folder.
                    throw APIError.notFound("no dashboard assets of version \(QueryParameters.shortened(version)) (this agent serves \(assets.version))")
                }
                return Self.response(asset, request: request, cacheControl: "public, max-age=31536000, immutable")
            },
            Route(.get, "/api/v1/whoami", .viewer, "The caller's principal and role, as the access control sees this request") { request, context in
                _ = try QueryParameters(request, allowed: [])
                let principal = context.principal
                return try jsonResponse(
                    WhoAmIDTO(
                        principal: principal?.id ?? "anonymous", role: principal?.role.map { "\($0)" }, method: principal?.method.rawValue ?? "anonymous"))
            },
        ]
    }

    struct WhoAmIDTO: Encodable {
        var principal: String
        var role: String?
        var method: String
    }

    static let disabled = APIError(.notFound, code: "not_found", message: "the dashboard is disabled ([dashboard] enabled = false)")

    /// The security headers of every dashboard response.
    static var securityHeaders: HTTPFields {
        [
            .contentSecurityPolicy: contentSecurityPolicy, .xContentTypeOptions: "nosniff", .referrerPolicy: "no-referrer",
            .xFrameOptions: "DENY",
        ]
    }

    /// The gzip encoding when the client accepts it, 304 for a matching `If-None-Match`.
    static func response(_ asset: DashboardAsset, request: Request, cacheControl: String) -> Response {
        let gzip = acceptsGzip(request.headers[values: .acceptEncoding].joined(separator: ","))
        let etag = gzip ? asset.gzipETag : asset.etag
        var headers = securityHeaders
        headers[.eTag] = etag
        headers[.cacheControl] = cacheControl
        headers[.vary] = "Accept-Encoding"
        if let condition = request.headers[.ifNoneMatch], StatusController.matches(condition, etag: etag) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = asset.contentType
        if gzip, etag != asset.etag { headers[.contentEncoding] = "gzip" }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: gzip ? asset.gzip : asset.identity))
    }

    /// Whether an `Accept-Encoding` value accepts gzip: `gzip` or `*` with a quality above 0 (RFC 9110 §12.5.3).
    static func acceptsGzip(_ header: String) -> Bool {
        for entry in header.split(separator: ",") {
            let parts = entry.split(separator: ";").map { $0.trimmingASCIIWhitespace().lowercased() }
            guard let coding = parts.first, coding == "gzip" || coding == "x-gzip" || coding == "*" else { continue }
            let quality = parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            if quality > 0 { return true }
        }
        return false
    }
}
