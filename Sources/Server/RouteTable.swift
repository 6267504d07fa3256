//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

public import AgentRuntime
public import HTTPTypes
public import Hummingbird

/// Who may call a route: anyone the address allowlist lets in, or a credential with at least a role.
public enum RouteAccess: Sendable, Hashable, Comparable {
    case `public`
    case viewer
    case `operator`
    case admin

    /// The least role needed; nil for a public route.
    public var role: AccessRole? {
        switch self {
        case .public: nil
        case .viewer: .viewer
        case .operator: .operator
        case .admin: .admin
        }
    }
}

/// What a route is, without its handler: the router, the access control, the OpenAPI document test and the
/// README role table all read these.
public struct RouteDescription: Sendable, Hashable {
    public var method: HTTPRequest.Method
    /// A Hummingbird path template: `/api/v1/services/{name}`.
    public var path: String
    /// The OpenAPI operation's `summary`.
    public var summary: String
    /// The least role needed (README "Security" and the OpenAPI `security`/`x-viworks-role` of the operation follow it).
    public var access: RouteAccess

    /// - Parameter access: nil means `viewer` for GET and `admin` for any other method.
    public init(_ method: HTTPRequest.Method, _ path: String, _ summary: String, access: RouteAccess? = nil) {
        self.method = method
        self.path = path
        self.summary = summary
        self.access = access ?? (method == .get ? .viewer : .admin)
    }
}

/// One route of the API, declared once by its controller: method, path, least role, summary and handler.
/// ``APIServer`` registers every controller's routes; nothing else lists them.
public struct Route: Sendable {
    public typealias Handler = @Sendable (Request, AgentRequestContext) async throws -> Response

    public var description: RouteDescription
    let handler: Handler

    /// - Parameters:
    ///   - path: a Hummingbird path template, `{name}` for a path parameter.
    ///   - access: the least role a caller needs; ``RouteAccess/public`` skips credentials.
    ///   - summary: one line, the OpenAPI operation's `summary`.
    public init(
        _ method: HTTPRequest.Method, _ path: String, _ access: RouteAccess, _ summary: String, handler: @escaping Handler
    ) {
        self.description = RouteDescription(method, path, summary, access: access)
        self.handler = handler
    }
}

/// The declared routes by path template, for what the router itself does not know: the access of a request
/// before or without a matching handler, and the `Allow` header of 405 and OPTIONS answers.
public struct RouteTable: Sendable {
    public let routes: [RouteDescription]
    private var byPath: [String: [HTTPRequest.Method: RouteAccess]] = [:]
    /// The `Allow` value of each template.
    private var allowed: [String: String] = [:]
    /// Templates split into components, in declaration order of their first route.
    private var templates: [(path: String, components: [RouterPath.Element])] = []

    public init(_ routes: [RouteDescription]) {
        self.routes = routes
        var methods: [String: [HTTPRequest.Method]] = [:]
        for route in routes {
            if byPath[route.path] == nil { templates.append((route.path, RouterPath(route.path).components)) }
            byPath[route.path, default: [:]][route.method] = route.access
            methods[route.path, default: []].append(route.method)
        }
        for (path, declared) in methods {
            allowed[path] = (declared + (declared.contains(.get) ? [.head] : []) + [.options]).map(\.rawValue).joined(separator: ", ")
        }
    }

    /// The template a request path falls under, as the router resolves it: a literal component wins over a
    /// parameter, and a template that fails further on gives way to the next one; nil for an unknown path.
    public func template(matching path: String) -> String? {
        let components = path.split(separator: "/", omittingEmptySubsequences: true)
        var best: (path: String, literals: [Bool])?
        for template in templates where template.components.count == components.count {
            guard zip(template.components, components).allSatisfy({ $0 ~= $1 }) else { continue }
            let literals = zip(template.components, components).map { $0 == $1 }
            // Lexicographic: the first component where one is literal and the other a parameter decides.
            if let current = best, !literals.lexicographicallyPrecedes(current.literals, by: { $0 && !$1 }) { continue }
            best = (template.path, literals)
        }
        return best?.path
    }

    /// The `Allow` value of a template: its methods, HEAD when it has GET, and OPTIONS (`GET, HEAD, OPTIONS`).
    public func allowedMethods(template: String) -> String? {
        allowed[template]
    }

    /// Whether the route exists with this very method (not a 405 or OPTIONS answer).
    func serves(_ method: HTTPRequest.Method, _ template: String?) -> Bool {
        template.flatMap { byPath[$0]?[method] } != nil
    }

    /// HEAD is its GET; another method on a known path (405, OPTIONS) needs the least access of the path;
    /// an unknown path (404) needs `viewer`, so that an anonymous scan learns nothing.
    func access(_ method: HTTPRequest.Method, _ template: String?) -> RouteAccess {
        guard let template, let methods = byPath[template] else { return .viewer }
        if let access = methods[method] ?? (method == .head ? methods[.get] : nil) { return access }
        return methods.values.min() ?? .viewer
    }
}
