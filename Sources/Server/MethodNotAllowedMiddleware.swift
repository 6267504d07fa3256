//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import Hummingbird

/// Answers for a path the API serves asked with a method it does not: `OPTIONS` is 204 with `Allow`, any other
/// method is 405 `method_not_allowed` with `Allow` (HEAD counts as served where GET is). A path no route declares
/// goes on to the router's 404.
///
/// It acts only when the router found no handler, so it costs nothing on served requests.
public struct MethodNotAllowedMiddleware: RouterMiddleware {
    public typealias Context = AgentRequestContext

    let routes: RouteTable

    public init(routes: RouteTable) {
        self.routes = routes
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard context.endpointPath == nil, let template = routes.template(matching: request.uri.path),
            let allowed = routes.allowedMethods(template: template)
        else {
            return try await next(request, context)
        }
        if request.method == .options {
            return Response(status: .noContent, headers: [.allow: allowed])
        }
        throw APIError(
            .methodNotAllowed, code: "method_not_allowed", message: "\(request.method) is not allowed on \(template); allowed: \(allowed)",
            headers: [.allow: allowed])
    }
}
