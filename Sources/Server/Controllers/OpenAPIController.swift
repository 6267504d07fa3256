//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import Hummingbird
import NIOCore

/// `GET /api/v1/openapi.json`: the OpenAPI 3.1 document `Resources/openapi.json`, embedded in the binary and
/// served byte for byte.
struct OpenAPIController: Sendable {
    /// The document's bytes, encoded once.
    static let document = ByteBuffer(bytes: PackageResources.openapi_json)

    /// The routes this controller declares; ``APIServer`` registers them.
    var routes: [Route] {
        [
            Route(.get, "/api/v1/openapi.json", .viewer, "This API's OpenAPI 3.1 document") { request, _ in
                _ = try QueryParameters(request, allowed: [])
                return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: ResponseBody(byteBuffer: Self.document))
            },
        ]
    }
}
