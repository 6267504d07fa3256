//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import AgentServer

/// Every route the controllers declare, as the router registers them.
let declaredRoutes = APIServer.routes(dependencies: FakeAgent().dependencies).map(\.description)

/// The repository's root, from this file's place in `Tests/AgentServerTests/`.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The bytes of `Sources/Server/Resources/openapi.json`, as the repository has them.
func openAPIResource() throws -> Data {
    try Data(contentsOf: repositoryRoot.appending(path: "Sources/Server/Resources/openapi.json"))
}

struct RouteDeclarationTests {
    @Test func eachRouteIsDeclaredOnce() {
        let keys = declaredRoutes.map { "\($0.method) \($0.path)" }
        #expect(Set(keys).count == keys.count, "\(keys)")
        #expect(keys.contains("POST /api/v1/services/{name}/restart"))
        let restart = declaredRoutes.first { $0.path == "/api/v1/services/{name}/restart" }
        #expect(restart?.summary == "Restart a tracked service's unit through systemd (audited)")
        #expect(restart?.access == .operator)
    }

    @Test func theServedDocumentIsTheResourceFileByteForByte() async throws {
        let file = try openAPIResource()
        #expect(file.count > 100_000)
        let served = try await FakeAgent().application().test(.router) { client in
            try await client.execute(uri: "/api/v1/openapi.json", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json; charset=utf-8")
                return Data(response.body.readableBytesView)
            }
        }
        #expect(served == file)
    }

    /// Both ways: every declared route is a documented operation with its role and summary, and every documented
    /// operation is a declared route.
    @Test func theDocumentsOperationsAreExactlyTheDeclaredRoutes() throws {
        let document = try #require(try JSONSerialization.jsonObject(with: try openAPIResource()) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: [String: Any]]])
        var documented: [String: (role: String, summary: String)] = [:]
        for (path, item) in paths {
            for (method, operation) in item {
                documented["\(method.uppercased()) \(path)"] = (
                    try #require(operation["x-viworks-role"] as? String), try #require(operation["summary"] as? String)
                )
            }
        }
        #expect(Set(documented.keys) == Set(declaredRoutes.map { "\($0.method) \($0.path)" }))
        for route in declaredRoutes {
            let operation = documented["\(route.method) \(route.path)"]
            #expect(operation?.role == route.access.role.map { "\($0)" } ?? "public", "\(route.method) \(route.path)")
            #expect(operation?.summary == route.summary, "\(route.method) \(route.path)")
        }
    }

    /// README's "Security" table: one row per route with its least role, in the order the table has them.
    @Test func theReadmeRoleTableIsTheRouteList() throws {
        let readme = try String(contentsOf: repositoryRoot.appending(path: "README.md"), encoding: .utf8)
        var table: [String: String] = [:]
        for line in readme.split(separator: "\n") {
            guard let match = line.wholeMatch(of: /\| `(GET|POST|PUT|PATCH|DELETE) (\/[^`]*)` \| (public|viewer|operator|admin)\b.*/) else { continue }
            #expect(table.updateValue(String(match.3), forKey: "\(match.1) \(match.2)") == nil, "\(match.1) \(match.2) is in the table twice")
        }
        let declared = Dictionary(uniqueKeysWithValues: declaredRoutes.map { ("\($0.method) \($0.path)", $0.access.role.map { "\($0)" } ?? "public") })
        #expect(table == declared)
        #expect(table["GET /api/v1/health"] == "public" && table["POST /api/v1/command"] == "admin")
    }
}

struct RouteTableMatchingTests {
    let table = RouteTable(declaredRoutes)

    @Test func aPathFallsUnderTheTemplateTheRouterWouldPick() {
        #expect(table.template(matching: "/api/v1/status") == "/api/v1/status")
        #expect(table.template(matching: "/api/v1/status/") == "/api/v1/status")
        #expect(table.template(matching: "/api/v1/services/nginx") == "/api/v1/services/{name}")
        #expect(table.template(matching: "/api/v1/services/nginx/stop") == "/api/v1/services/{name}/stop")
        // A literal component wins over a parameter; one that leads nowhere gives way.
        #expect(table.template(matching: "/api/v1/plugins/reload") == "/api/v1/plugins/reload")
        #expect(table.template(matching: "/api/v1/plugins/reload/enable") == "/api/v1/plugins/{name}/enable")
        #expect(table.template(matching: "/api/v1/plugins/x") == "/api/v1/plugins/{name}")
        #expect(table.template(matching: "/api/v1/metrics/x") == nil)
        #expect(table.template(matching: "/api/v1/nope") == nil)
        // The dashboard's page and files are routes too.
        #expect(table.template(matching: "/") == "/")
        #expect(table.template(matching: "/assets/0123456789abcdef/app.js") == "/assets/{version}/{file}")
        #expect(table.template(matching: "/assets/app.js") == nil)
    }

    @Test func allowListsTheDeclaredMethodsWithHeadForGetAndOptions() {
        #expect(table.allowedMethods(template: "/api/v1/status") == "GET, HEAD, OPTIONS")
        #expect(table.allowedMethods(template: "/api/v1/command") == "POST, OPTIONS")
        #expect(table.allowedMethods(template: "/api/v1/nope") == nil)
    }

    @Test func aParameterisedPathAnswers405AndOptionsWithItsAllow() async throws {
        try await FakeAgent().application().test(.router) { client in
            try await client.execute(uri: "/api/v1/plugins/x/enable", method: .get) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "POST, OPTIONS")
                let error = try #require(try json(response.body)["error"] as? [String: String])
                #expect(error["code"] == "method_not_allowed")
                #expect(error["message"] == "GET is not allowed on /api/v1/plugins/{name}/enable; allowed: POST, OPTIONS")
            }
            try await client.execute(uri: "/api/v1/services/nginx", method: .options) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.allow] == "GET, HEAD, OPTIONS")
            }
            try await client.execute(uri: "/api/v1/plugins/reload", method: .get) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "POST, OPTIONS")
            }
            try await client.execute(uri: "/api/v1/metrics/x", method: .options) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    /// A method a privileged path does not serve needs the path's role before it learns the path's methods.
    @Test func aWrongMethodOnAPrivilegedPathNeedsThePathsRole() async throws {
        let control = try await AccessControl(settings: SecuritySettings(), listenHost: "127.0.0.1")
        #expect(control.anonymousRole == .viewer)
        let app = Application(router: APIServer.buildRouter(dependencies: FakeAgent().dependencies, access: AccessControlState(control)))
        try await app.test(.router) { client in
            let get = try await client.execute(uri: "/api/v1/command", method: .get)
            #expect(get.status == .unauthorized)
            let options = try await client.execute(uri: "/api/v1/command", method: .options)
            #expect(options.status == .unauthorized)
            let delete = try await client.execute(uri: "/api/v1/status", method: .delete)
            #expect(delete.status == .methodNotAllowed)
        }
    }
}

struct RequesterTests {
    /// The handler reads who called from the context that ``AccessMiddleware`` filled in.
    @Test func theRequesterIsOnTheContext() async throws {
        let key = APIKeyStore.generate()
        var control = AccessControl.unrestricted
        control.anonymousRole = nil
        control.apiKeys = APIKeyStore([APIKeyEntry(name: "ci", role: .operator, hash: key.hash)])
        let router = Router(context: AgentRequestContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(
            middleware: AccessMiddleware(state: AccessControlState(control), routes: RouteTable([RouteDescription(.get, "/who", "who", access: .viewer)])))
        router.get("/who") { _, context -> String in
            let requester = context.requester
            return "\(requester?.name ?? "-") \(requester?.role ?? "-") \(requester?.requestID ?? "-")"
        }
        try await Application(router: router).test(.router) { client in
            let response = try await client.execute(uri: "/who", method: .get, headers: [.xAPIKey: key.key, .xRequestID: "r-1"])
            #expect(String(buffer: response.body) == "key:ci operator r-1")
            let anonymous = try await client.execute(uri: "/who", method: .get)
            #expect(anonymous.status == .unauthorized)
        }
    }
}
