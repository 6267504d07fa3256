//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import Hummingbird
import NIOCore

/// `GET /api/v1/openapi.json`.
struct OpenAPIController: Sendable {
    func addRoutes(to router: Router<some RequestContext>) {
        let body = ByteBuffer(string: OpenAPIDocument.json)
        router.get("/api/v1/openapi.json") { request, _ in
            _ = try QueryParameters(request, allowed: [])
            return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: ResponseBody(byteBuffer: body))
        }
    }
}
