enum OpenAPIDocument { static let json = #"{"openapi":"3.1.0","info":{"title":"ViWorks OS Agent","version":"0.1.0"},"paths":{}}"# }
