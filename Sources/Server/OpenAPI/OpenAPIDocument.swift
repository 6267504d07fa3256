//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

/// The OpenAPI 3.1 document served at `GET /api/v1/openapi.json`.
///
/// It documents every route of ``RouteTable/routes`` and every key of the DTOs in `DTO/`, with
/// `additionalProperties: false` and every key `required`, so `tests/e2e` (which validates the live
/// responses against it and compares its paths with the route table) catches any drift.
enum OpenAPIDocument {
    static let json = #"""
        {
          "openapi": "3.1.0",
          "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
          "info": {
            "title": "ViWorks OS Agent",
            "version": "0.1.0",
            "summary": "Linux host monitoring: health, status, system information, collectors, plugins and Prometheus metrics.",
            "description": "Monitoring and operations API of the ViWorks OS Agent (default listen `127.0.0.1:9740`): GET routes read, POST routes (service control, commands, plugins) act and are audited. JSON field names of the specification are kept exactly; every object always carries all of its keys, and unknown values are `null`. Percentages are 0–100 rounded to 2 decimals; `*_gb` figures are GiB (2^30 bytes) rounded to 2 decimals; `*_bytes` are bytes; timestamps are RFC 3339 UTC with nanoseconds. Every GET route also answers HEAD. A path that does not exist answers 404 and a known path asked with another method answers 405 with an `Allow` header, both with the `Error` body. Access control: every response carries `X-Request-Id` (the client's when it is 1–128 of `A-Za-z0-9._:-`, else a new one). Each operation's `security` lists the least role it needs (`x-viworks-role`: `public`, `viewer`, `operator` or `admin`); the address allowlist, the rate limit and the size limits (413, 414, 431) apply to every route. A request with `Expect: 100-continue` gets an interim `100 Continue` at once. Parameters follow one rule on every route, and each refusal is a 400 `invalid_parameter` whose message names the parameter: a query parameter the route does not document is refused (a route without parameters takes none); a parameter given twice is refused unless its schema is an array (`label`); query names and values and path parameters are percent-decoded (`+` stays a plus sign), and invalid percent-encoding or UTF-8 is refused; booleans are exactly `true`, `false`, `1` or `0`; integers are decimal digits within the documented range; times are RFC 3339 (any offset, up to nine fractional digits) or Unix seconds as plain digits with an optional fraction (no sign, exponent, `nan` or `inf`), from `1970-01-01T00:00:00Z` to `2200-01-01T00:00:00Z` inclusive; a range whose start is after its end (`from` > `to`, `since` > `until`) is refused.",
            "license": {
              "name": "Apache-2.0",
              "identifier": "Apache-2.0"
            }
          },
          "servers": [
            {
              "url": "http://127.0.0.1:9740",
              "description": "The default listen address."
            }
          ],
          "paths": {
            "/api/v1/health": {
              "get": {
                "operationId": "getHealth",
                "x-viworks-role": "public",
                "security": [
                  {}
                ],
                "summary": "Agent health for load balancers and systemd-style checks",
                "description": "Never cached (`Cache-Control: no-store`). `uptime` is the system's uptime, as in the specification; `agent_uptime_seconds` is the agent's own. HEAD is served too.",
                "responses": {
                  "200": {
                    "description": "`status` is `healthy`.",
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/Health"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "`status` is `starting` (no collection yet) or `unhealthy` (a core collector is `failed`; see `failed_collectors`).",
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/Health"
                        }
                      }
                    }
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                }
              }
            },
            "/api/v1/status": {
              "get": {
                "operationId": "getStatus",
                "x-viworks-role": "viewer",
                "security": [
                  {
                    "apiKeyBearer": [
                      "viewer"
                    ]
                  },
                  {
                    "jwtBearer": [
                      "viewer"
                    ]
                  },
                  {
                    "apiKeyHeader": [
                      "viewer"
                    ]
                  }
                ],
                "summary": "Full status: system_health, services, containers, system_info, collectors",
                "description": "The specification's `/api/v1/status`. Encoded once per collection and served from a cache; send the `ETag` back in `If-None-Match` to get 304 until the next collection. HEAD is served too (same headers, no body).",
                "parameters": [
                  {
                    "$ref": "#/components/parameters/IfNoneMatch"
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The current representation.",
                    "headers": {
                      "ETag": {
                        "description": "Strong validator of this representation: changes with every collection and every change of the supervisor's state.",
                        "schema": {
                          "type": "string"
                        }
                      },
                      "Cache-Control": {
                        "description": "`no-cache`: revalidate with `If-None-Match`.",
                        "schema": {
                          "type": "string"
                        }
                      }
                    },
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/Status"
                        }
                      }
                    }
                  },
                  "304": {
                    "$ref": "#/components/responses/NotModified"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                }
              }
            },
            "/api/v1/status-simple": {
              "get": {
                "operationId": "getStatusSimple",
                "x-viworks-role": "viewer",
                "security": [
                  {
                    "apiKeyBearer": [
                      "viewer"
                    ]
                  },
                  {
                    "jwtBearer": [
                      "viewer"
                    ]
                  },
                  {
                    "apiKeyHeader": [
                      "viewer"
                    ]
                  }
                ],
                "summary": "Overall status and the headline percentages, for cheap polls",
                "description": "Overall status with the reasons and the four headline percentages. Encoded once per collection and served from a cache; send the `ETag` back in `If-None-Match` to get 304 until the next collection. HEAD is served too (same headers, no body).",
                "parameters": [
                  {
                    "$ref": "#/components/parameters/IfNoneMatch"
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The current representation.",
                    "headers": {
                      "ETag": {
                        "description": "Strong validator of this representation: changes with every collection and every change of the supervisor's state.",
                        "schema": {
                          "type": "string"
                        }
                      },
                      "Cache-Control": {
                        "description": "`no-cache`: revalidate with `If-None-Match`.",
                        "schema": {
                          "type": "string"
                        }
                      }
                    },
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/SimpleStatus"
                        }
                      }
                    }
                  },
                  "304": {
                    "$ref": "#/components/responses/NotModified"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                }
              }
            },
            "/api/v1/system": {
              "get": {
                "operationId": "getSystem",
                "x-viworks-role": "viewer",
                "security": [
                  {
                    "apiKeyBearer": [
                      "viewer"
                    ]
                  },
                  {
                    "jwtBearer": [
                      "viewer"
                    ]
                  },
                  {
                    "apiKeyHeader": [
                      "viewer"
                    ]
                  }
                ],
                "summary": "System information alone (cpu, memory, network, system, disks, temperatures)",
                "description": "`system_info` of `/api/v1/status` alone. Encoded once per collection and served from a cache; send the `ETag` back in `If-None-Match` to get 304 until the next collection. HEAD is served too (same headers, no body).",
                "parameters": [
                  {
                    "$ref": "#/components/parameters/IfNoneMatch"
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The current representation.",
                    "headers": {
                      "ETag": {
                        "description": "Strong validator of this representation: changes with every collection and every change of the supervisor's state.",
                        "schema": {
                          "type": "string"
                        }
                      },
                      "Cache-Control": {
                        "description": "`no-cache`: revalidate with `If-None-Match`.",
                        "schema": {
                          "type": "string"
                        }
                      }
                    },
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/SystemInfo"
                        }
                      }
                    }
                  },
                  "304": {
                    "$ref": "#/components/responses/NotModified"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                }
              }
            },
            "/api/v1/collectors": {
              "get": {
                "operationId": "getCollectors",
                "x-viworks-role": "viewer",
                "security": [
                  {
                    "apiKeyBearer": [
                      "viewer"
                    ]
                  },
                  {
                    "jwtBearer": [
                      "viewer"
                    ]
                  },
                  {
                    "apiKeyHeader": [
                      "viewer"
                    ]
                  }
                ],
                "summary": "Supervisor view of every collector",
                "description": "The supervisor's state of every collector. Encoded once per collection and served from a cache; send the `ETag` back in `If-None-Match` to get 304 until the next collection. HEAD is served too (same headers, no body).",
                "parameters": [
                  {
                    "$ref": "#/components/parameters/IfNoneMatch"
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The current representation.",
                    "headers": {
                      "ETag": {
                        "description": "Strong validator of this representation: changes with every collection and every change of the supervisor's state.",
                        "schema": {
                          "type": "string"
                        }
                      },
                      "Cache-Control": {
                        "description": "`no-cache`: revalidate with `If-None-Match`.",
                        "schema": {
                          "type": "string"
                        }
                      }
                    },
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/Collectors"
                        }
                      }
                    }
                  },
                  "304": {
                    "$ref": "#/components/responses/NotModified"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                }
              }
            },
              "/api/v1/services": {
                "get": {
                  "operationId": "getServices",
                  "x-viworks-role": "viewer",
                  "security": [
                    {
                      "apiKeyBearer": [
                        "viewer"
                      ]
                    },
                    {
                      "jwtBearer": [
                        "viewer"
                      ]
                    },
                    {
                      "apiKeyHeader": [
                        "viewer"
                      ]
                    }
                  ],
                  "summary": "Every tracked service: state, main PID, unit, CPU, memory, probe",
                  "description": "The services of `[services.<name>]` (by default the specification's docker, sshd, nginx, postgres, redis, openvpn and viworks-gateway-agent) and discovered well-known servers, from the last collection of the `services` collector. Under systemd the states come from D-Bus (unit `ActiveState`/`SubState`/`MainPID`/`NRestarts`) and resources from the unit's cgroup; otherwise, or when the bus fails (`bus_error`), from a scan of /proc. Encoded once per collection; `ETag`/`If-None-Match` give 304. HEAD is served too.",
                  "parameters": [
                    {
                      "$ref": "#/components/parameters/IfNoneMatch"
                    }
                  ],
                  "responses": {
                    "200": {
                      "description": "The current representation.",
                      "headers": {
                        "ETag": {
                          "description": "Strong validator of this representation: changes with every collection.",
                          "schema": {
                            "type": "string"
                          }
                        },
                        "Cache-Control": {
                          "description": "`no-cache`: revalidate with `If-None-Match`.",
                          "schema": {
                            "type": "string"
                          }
                        }
                      },
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Services"
                          }
                        }
                      }
                    },
                    "304": {
                      "$ref": "#/components/responses/NotModified"
                    },
                    "401": {
                      "$ref": "#/components/responses/Unauthorized"
                    },
                    "403": {
                      "$ref": "#/components/responses/Forbidden"
                    },
                    "429": {
                      "$ref": "#/components/responses/TooManyRequests"
                    },
                    "default": {
                      "$ref": "#/components/responses/Error"
                    }
                  }
                }
              },
              "/api/v1/services/{name}": {
                "get": {
                  "operationId": "getService",
                  "x-viworks-role": "viewer",
                  "security": [
                    {
                      "apiKeyBearer": [
                        "viewer"
                      ]
                    },
                    {
                      "jwtBearer": [
                        "viewer"
                      ]
                    },
                    {
                      "apiKeyHeader": [
                        "viewer"
                      ]
                    }
                  ],
                  "summary": "One tracked service",
                  "description": "One entry of `/api/v1/services`, from the last collection. Not cached. HEAD is served too.",
                  "parameters": [
                    {
                      "name": "name",
                      "in": "path",
                      "required": true,
                      "description": "The service's name (`nginx`, `sshd`, …).",
                      "schema": {
                        "type": "string"
                      }
                    }
                  ],
                  "responses": {
                    "200": {
                      "description": "The service.",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Service"
                          }
                        }
                      }
                    },
                    "404": {
                      "description": "No service of that name (`not_found`); the message lists the known ones.",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Error"
                          }
                        }
                      }
                    },
                    "401": {
                      "$ref": "#/components/responses/Unauthorized"
                    },
                    "403": {
                      "$ref": "#/components/responses/Forbidden"
                    },
                    "429": {
                      "$ref": "#/components/responses/TooManyRequests"
                    },
                    "default": {
                      "$ref": "#/components/responses/Error"
                    }
                  }
                }
              },
              "/api/v1/processes": {
                "get": {
                  "operationId": "getProcesses",
                  "x-viworks-role": "viewer",
                  "security": [
                    {
                      "apiKeyBearer": [
                        "viewer"
                      ]
                    },
                    {
                      "jwtBearer": [
                        "viewer"
                      ]
                    },
                    {
                      "apiKeyHeader": [
                        "viewer"
                      ]
                    }
                  ],
                  "summary": "Process counts by state and the top processes by CPU and by memory",
                  "description": "From the last collection of the `processes` collector (one read of `/proc/PID/stat` per process; command lines and uids only for the processes listed). `top_cpu` lists processes that used CPU over the last interval, highest first; `top_memory` the largest resident sets. 503 (`not_collected`) before its first collection or when it is disabled. HEAD is served too.",
                  "parameters": [
                    {
                      "$ref": "#/components/parameters/IfNoneMatch"
                    }
                  ],
                  "responses": {
                    "200": {
                      "description": "The current representation.",
                      "headers": {
                        "ETag": {
                          "description": "Strong validator of this representation: changes with every collection.",
                          "schema": {
                            "type": "string"
                          }
                        },
                        "Cache-Control": {
                          "description": "`no-cache`: revalidate with `If-None-Match`.",
                          "schema": {
                            "type": "string"
                          }
                        }
                      },
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Processes"
                          }
                        }
                      }
                    },
                    "304": {
                      "$ref": "#/components/responses/NotModified"
                    },
                    "401": {
                      "$ref": "#/components/responses/Unauthorized"
                    },
                    "403": {
                      "$ref": "#/components/responses/Forbidden"
                    },
                    "429": {
                      "$ref": "#/components/responses/TooManyRequests"
                    },
                    "default": {
                      "$ref": "#/components/responses/Error"
                    },
                    "503": {
                      "description": "The processes collector has not reported (`not_collected`).",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Error"
                          }
                        }
                      }
                    }
                  }
                }
              },
              "/api/v1/services/{name}/start": {
                "post": {
                  "operationId": "startService",
                  "x-viworks-role": "operator",
                  "security": [
                    {
                      "apiKeyBearer": [
                        "operator"
                      ]
                    },
                    {
                      "jwtBearer": [
                        "operator"
                      ]
                    },
                    {
                      "apiKeyHeader": [
                        "operator"
                      ]
                    }
                  ],
                  "summary": "Start a tracked service's unit through systemd (audited)",
                  "description": "Calls systemd's `StartUnit` over D-Bus for the service's unit and waits (up to 30 s) for the unit to settle. Written to the audit log before (`service.start`) and after (`service.end`). Not cached.",
                  "parameters": [
                    {
                      "name": "name",
                      "in": "path",
                      "required": true,
                      "description": "The tracked service's name.",
                      "schema": {
                        "type": "string"
                      }
                    }
                  ],
                  "responses": {
                    "200": {
                      "description": "The unit's state after the job.",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/ServiceAction"
                          }
                        }
                      }
                    },
                    "404": {
                      "description": "No tracked service of that name (`not_found`).",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Error"
                          }
                        }
                      }
                    },
                    "409": {
                      "description": "systemd is not running on this host (`no_systemd`).",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Error"
                          }
                        }
                      }
                    },
                    "502": {
                      "description": "systemd refused or failed the job (`systemd_failed`).",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Error"
                          }
                        }
                      }
                    },
                    "503": {
                      "description": "Commands are disabled or the audit log cannot be written (`commands_disabled`, `audit_unavailable`).",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Error"
                          }
                        }
                      }
                    },
                    "401": {
                      "$ref": "#/components/responses/Unauthorized"
                    },
                    "403": {
                      "$ref": "#/components/responses/Forbidden"
                    },
                    "429": {
                      "$ref": "#/components/responses/TooManyRequests"
                    },
                    "default": {
                      "$ref": "#/components/responses/Error"
                    }
                  }
                }
              },
              "/api/v1/services/{name}/stop": {
                "post": {
                  "operationId": "stopService",
                  "x-viworks-role": "operator",
                  "security": [
                    {
                      "apiKeyBearer": [
                        "operator"
                      ]
                    },
                    {
                      "jwtBearer": [
                        "operator"
                      ]
                    },
                    {
                      "apiKeyHeader": [
                        "operator"
                      ]
                    }
                  ],
                  "summary": "Stop a tracked service's unit through systemd (audited)",
                  "description": "Calls systemd's `StopUnit` over D-Bus for the service's unit and waits (up to 30 s) for the unit to settle. Written to the audit log before (`service.start`) and after (`service.end`). Not cached.",
                  "parameters": [
                    {
                      "name": "name",
                      "in": "path",
                      "required": true,
                      "description": "The tracked service's name.",
                      "schema": {
                        "type": "string"
                      }
                    }
                  ],
                  "responses": {
                    "200": {
                      "description": "The unit's state after the job.",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/ServiceAction"
                          }
                        }
                      }
                    },
                    "404": {
                      "description": "No tracked service of that name (`not_found`).",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Error"
                          }
                        }
                      }
                    },
                    "409": {
                      "description": "systemd is not running on this host (`no_systemd`).",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Error"
                          }
                        }
                      }
                    },
                    "502": {
                      "description": "systemd refused or failed the job (`systemd_failed`).",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Error"
                          }
                        }
                      }
                    },
                    "503": {
                      "description": "Commands are disabled or the audit log cannot be written (`commands_disabled`, `audit_unavailable`).",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Error"
                          }
                        }
                      }
                    },
                    "401": {
                      "$ref": "#/components/responses/Unauthorized"
                    },
                    "403": {
                      "$ref": "#/components/responses/Forbidden"
                    },
                    "429": {
                      "$ref": "#/components/responses/TooManyRequests"
                    },
                    "default": {
                      "$ref": "#/components/responses/Error"
                    }
                  }
                }
              },
              "/api/v1/services/{name}/restart": {
                "post": {
                  "operationId": "restartService",
                  "x-viworks-role": "operator",
                  "security": [
                    {
                      "apiKeyBearer": [
                        "operator"
                      ]
                    },
                    {
                      "jwtBearer": [
                        "operator"
                      ]
                    },
                    {
                      "apiKeyHeader": [
                        "operator"
                      ]
                    }
                  ],
                  "summary": "Restart a tracked service's unit through systemd (audited)",
                  "description": "Calls systemd's `RestartUnit` over D-Bus for the service's unit and waits (up to 30 s) for the unit to settle. Written to the audit log before (`service.start`) and after (`service.end`). Not cached.",
                  "parameters": [
                    {
                      "name": "name",
                      "in": "path",
                      "required": true,
                      "description": "The tracked service's name.",
                      "schema": {
                        "type": "string"
                      }
                    }
                  ],
                  "responses": {
                    "200": {
                      "description": "The unit's state after the job.",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/ServiceAction"
                          }
                        }
                      }
                    },
                    "404": {
                      "description": "No tracked service of that name (`not_found`).",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Error"
                          }
                        }
                      }
                    },
                    "409": {
                      "description": "systemd is not running on this host (`no_systemd`).",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Error"
                          }
                        }
                      }
                    },
                    "502": {
                      "description": "systemd refused or failed the job (`systemd_failed`).",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Error"
                          }
                        }
                      }
                    },
                    "503": {
                      "description": "Commands are disabled or the audit log cannot be written (`commands_disabled`, `audit_unavailable`).",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Error"
                          }
                        }
                      }
                    },
                    "401": {
                      "$ref": "#/components/responses/Unauthorized"
                    },
                    "403": {
                      "$ref": "#/components/responses/Forbidden"
                    },
                    "429": {
                      "$ref": "#/components/responses/TooManyRequests"
                    },
                    "default": {
                      "$ref": "#/components/responses/Error"
                    }
                  }
                }
              },
              "/api/v1/command": {
                "post": {
                  "operationId": "runCommand",
                  "x-viworks-role": "admin",
                  "security": [
                    {
                      "apiKeyBearer": [
                        "admin"
                      ]
                    },
                    {
                      "jwtBearer": [
                        "admin"
                      ]
                    },
                    {
                      "apiKeyHeader": [
                        "admin"
                      ]
                    }
                  ],
                  "summary": "Run an allowlisted command by id with validated parameters (audited before it runs)",
                  "description": "The request names a command of the allowlist (`GET /api/v1/commands`) and its parameters; the agent validates every parameter against its type, builds the argv from the command's template and runs it directly: no shell, absolute executable, the environment reduced to PATH/LANG, `/` as working directory, no stdin, its own process group killed at the timeout, stdout and stderr each capped. The start record (with the final argv) is written to the audit log before the process starts; the end record after it. `async: true` answers 202 with a job id at once.",
                  "requestBody": {
                    "required": true,
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/CommandRequest"
                        }
                      }
                    }
                  },
                  "responses": {
                    "200": {
                      "description": "The command ran to its end (whatever its exit status).",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/CommandRun"
                          }
                        }
                      }
                    },
                    "202": {
                      "description": "Started in the background (`async: true`); poll `GET /api/v1/command/{id}` (also in `Location`).",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/CommandRun"
                          }
                        }
                      }
                    },
                    "400": {
                      "description": "Not JSON, or a parameter is unknown, missing or invalid (`bad_request`, `invalid_parameter`).",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Error"
                          }
                        }
                      }
                    },
                    "404": {
                      "description": "No such command in the allowlist (`unknown_command`).",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Error"
                          }
                        }
                      }
                    },
                    "409": {
                      "description": "The command's executable is not on this host (`unavailable`).",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Error"
                          }
                        }
                      }
                    },
                    "413": {
                      "description": "The body is larger than 64 KiB (`body_too_large`).",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Error"
                          }
                        }
                      }
                    },
                    "503": {
                      "description": "Commands are disabled or the audit log cannot be written (`commands_disabled`, `audit_unavailable`).",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Error"
                          }
                        }
                      }
                    },
                    "401": {
                      "$ref": "#/components/responses/Unauthorized"
                    },
                    "403": {
                      "$ref": "#/components/responses/Forbidden"
                    },
                    "429": {
                      "$ref": "#/components/responses/TooManyRequests"
                    },
                    "default": {
                      "$ref": "#/components/responses/Error"
                    }
                  }
                }
              },
              "/api/v1/command/{id}": {
                "get": {
                  "operationId": "getCommand",
                  "x-viworks-role": "admin",
                  "security": [
                    {
                      "apiKeyBearer": [
                        "admin"
                      ]
                    },
                    {
                      "jwtBearer": [
                        "admin"
                      ]
                    },
                    {
                      "apiKeyHeader": [
                        "admin"
                      ]
                    }
                  ],
                  "summary": "The result of a command job (202 while it runs)",
                  "description": "The last 200 jobs are kept in memory. Not cached.",
                  "parameters": [
                    {
                      "name": "id",
                      "in": "path",
                      "required": true,
                      "description": "The job id of `POST /api/v1/command`.",
                      "schema": {
                        "type": "string"
                      }
                    }
                  ],
                  "responses": {
                    "200": {
                      "description": "Finished.",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/CommandRun"
                          }
                        }
                      }
                    },
                    "202": {
                      "description": "Still running.",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/CommandRun"
                          }
                        }
                      }
                    },
                    "404": {
                      "description": "No such job (`not_found`).",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Error"
                          }
                        }
                      }
                    },
                    "401": {
                      "$ref": "#/components/responses/Unauthorized"
                    },
                    "403": {
                      "$ref": "#/components/responses/Forbidden"
                    },
                    "429": {
                      "$ref": "#/components/responses/TooManyRequests"
                    },
                    "default": {
                      "$ref": "#/components/responses/Error"
                    }
                  }
                }
              },
              "/api/v1/commands": {
                "get": {
                  "operationId": "getCommands",
                  "x-viworks-role": "operator",
                  "security": [
                    {
                      "apiKeyBearer": [
                        "operator"
                      ]
                    },
                    {
                      "jwtBearer": [
                        "operator"
                      ]
                    },
                    {
                      "apiKeyHeader": [
                        "operator"
                      ]
                    }
                  ],
                  "summary": "The command allowlist: ids, argv templates, parameter types",
                  "description": "Built-in commands (uptime, df, service-status, service-restart, journal-tail) and those of `[commands.<id>]`. Not cached.",
                  "responses": {
                    "200": {
                      "description": "The allowlist.",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Commands"
                          }
                        }
                      }
                    },
                    "401": {
                      "$ref": "#/components/responses/Unauthorized"
                    },
                    "403": {
                      "$ref": "#/components/responses/Forbidden"
                    },
                    "429": {
                      "$ref": "#/components/responses/TooManyRequests"
                    },
                    "default": {
                      "$ref": "#/components/responses/Error"
                    }
                  }
                }
              },
              "/api/v1/audit": {
                "get": {
                  "operationId": "getAudit",
                  "x-viworks-role": "admin",
                  "security": [
                    {
                      "apiKeyBearer": [
                        "admin"
                      ]
                    },
                    {
                      "jwtBearer": [
                        "admin"
                      ]
                    },
                    {
                      "apiKeyHeader": [
                        "admin"
                      ]
                    }
                  ],
                  "summary": "The audit log: every command and service action, hash-chained",
                  "description": "Newest first. Each record carries the SHA-256 of the previous one and of its own content; `verify=true` recomputes the whole chain (as `viworks-agent audit verify` does). Not cached.",
                  "parameters": [
                    {
                      "name": "from",
                      "in": "query",
                      "required": false,
                      "description": "RFC 3339 or Unix seconds, from `1970-01-01T00:00:00Z` to `2200-01-01T00:00:00Z`.",
                      "schema": {
                        "type": "string"
                      }
                    },
                    {
                      "name": "to",
                      "in": "query",
                      "required": false,
                      "description": "RFC 3339 or Unix seconds, from `1970-01-01T00:00:00Z` to `2200-01-01T00:00:00Z`.",
                      "schema": {
                        "type": "string"
                      }
                    },
                    {
                      "name": "principal",
                      "in": "query",
                      "required": false,
                      "description": "Only records of this credential.",
                      "schema": {
                        "type": "string"
                      }
                    },
                    {
                      "name": "limit",
                      "in": "query",
                      "required": false,
                      "description": "At most this many records (1–10000, default 1000).",
                      "schema": {
                        "type": "integer"
                      }
                    },
                    {
                      "name": "verify",
                      "in": "query",
                      "required": false,
                      "description": "`true`: also verify the chain.",
                      "schema": {
                        "type": "boolean"
                      }
                    }
                  ],
                  "responses": {
                    "200": {
                      "description": "The records.",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Audit"
                          }
                        }
                      }
                    },
                    "400": {
                      "description": "A parameter is malformed, unknown or repeated, or `from` is after `to` (`invalid_parameter`).",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Error"
                          }
                        }
                      }
                    },
                    "503": {
                      "description": "The audit log is not open (`audit_disabled`).",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Error"
                          }
                        }
                      }
                    },
                    "401": {
                      "$ref": "#/components/responses/Unauthorized"
                    },
                    "403": {
                      "$ref": "#/components/responses/Forbidden"
                    },
                    "429": {
                      "$ref": "#/components/responses/TooManyRequests"
                    },
                    "default": {
                      "$ref": "#/components/responses/Error"
                    }
                  }
                }
              },
              "/api/v1/logs": {
                "get": {
                  "operationId": "getLogs",
                  "x-viworks-role": "operator",
                  "security": [
                    {
                      "apiKeyBearer": [
                        "operator"
                      ]
                    },
                    {
                      "jwtBearer": [
                        "operator"
                      ]
                    },
                    {
                      "apiKeyHeader": [
                        "operator"
                      ]
                    }
                  ],
                  "summary": "Journal entries of allowlisted units; follow=true streams Server-Sent Events",
                  "description": "Read through sd-journal, only for the tracked services' units, the agent's own and `[logs] units`; matched on `_SYSTEMD_UNIT` or `UNIT`. No parameter names a file: a unit that looks like a path is 400, a unit outside the allowlist 403. `follow=true` answers `text/event-stream`: one `event: entry` with the entry as JSON in `data` per new entry, `id` the journal cursor (`after=` resumes after it), until the client leaves. Message bytes that are not UTF-8 are written as `\\xNN`.",
                  "parameters": [
                    {
                      "name": "unit",
                      "in": "query",
                      "required": false,
                      "description": "One allowlisted unit (`nginx.service`; `.service` is added when no suffix is given); default: all allowlisted units.",
                      "schema": {
                        "type": "string"
                      }
                    },
                    {
                      "name": "since",
                      "in": "query",
                      "required": false,
                      "description": "RFC 3339 or Unix seconds, from `1970-01-01T00:00:00Z` to `2200-01-01T00:00:00Z`.",
                      "schema": {
                        "type": "string"
                      }
                    },
                    {
                      "name": "until",
                      "in": "query",
                      "required": false,
                      "description": "RFC 3339 or Unix seconds, from `1970-01-01T00:00:00Z` to `2200-01-01T00:00:00Z`.",
                      "schema": {
                        "type": "string"
                      }
                    },
                    {
                      "name": "priority",
                      "in": "query",
                      "required": false,
                      "description": "0–7 or emerg…debug: this priority and more urgent.",
                      "schema": {
                        "type": "string"
                      }
                    },
                    {
                      "name": "grep",
                      "in": "query",
                      "required": false,
                      "description": "Case-insensitive substring of the message (at most 256 bytes).",
                      "schema": {
                        "type": "string"
                      }
                    },
                    {
                      "name": "lines",
                      "in": "query",
                      "required": false,
                      "description": "The newest N entries (1–10000, default 100).",
                      "schema": {
                        "type": "integer"
                      }
                    },
                    {
                      "name": "format",
                      "in": "query",
                      "required": false,
                      "description": "`json` (default) or `text`.",
                      "schema": {
                        "type": "string",
                        "enum": [
                          "json",
                          "text"
                        ]
                      }
                    },
                    {
                      "name": "follow",
                      "in": "query",
                      "required": false,
                      "description": "`true`: stream new entries as Server-Sent Events.",
                      "schema": {
                        "type": "boolean"
                      }
                    },
                    {
                      "name": "after",
                      "in": "query",
                      "required": false,
                      "description": "With follow: resume after this journal cursor.",
                      "schema": {
                        "type": "string"
                      }
                    }
                  ],
                  "responses": {
                    "200": {
                      "description": "The entries (JSON), their text, or the event stream.",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Logs"
                          }
                        },
                        "text/plain; charset=utf-8": {
                          "schema": {
                            "type": "string"
                          }
                        },
                        "text/event-stream; charset=utf-8": {
                          "schema": {
                            "type": "string"
                          }
                        }
                      }
                    },
                    "400": {
                      "description": "A malformed, unknown or repeated parameter, `since` after `until`, or a unit that looks like a path (`invalid_parameter`).",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Error"
                          }
                        }
                      }
                    },
                    "403": {
                      "description": "The unit is not allowlisted (`unit_not_allowed`).",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Error"
                          }
                        }
                      }
                    },
                    "503": {
                      "description": "The journal cannot be read here (`journal_unavailable`), e.g. a host without journal files (no systemd-journald); the message says why.",
                      "content": {
                        "application/json; charset=utf-8": {
                          "schema": {
                            "$ref": "#/components/schemas/Error"
                          }
                        }
                      }
                    },
                    "401": {
                      "$ref": "#/components/responses/Unauthorized"
                    },
                    "429": {
                      "$ref": "#/components/responses/TooManyRequests"
                    },
                    "default": {
                      "$ref": "#/components/responses/Error"
                    }
                  }
                }
              },
            "/api/v1/plugins": {
              "get": {
                "operationId": "getPlugins",
                "x-viworks-role": "viewer",
                "security": [
                  {
                    "apiKeyBearer": [
                      "viewer"
                    ]
                  },
                  {
                    "jwtBearer": [
                      "viewer"
                    ]
                  },
                  {
                    "apiKeyHeader": [
                      "viewer"
                    ]
                  }
                ],
                "summary": "Every plugin of plugins.d: state, restarts, bad lines by reason, samples; manifests that did not load",
                "description": "Not cached (`Cache-Control: no-store`): the figures move with every line a plugin writes. HEAD is served too.",
                "responses": {
                  "200": {
                    "description": "Every plugin and every manifest problem.",
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/Plugins"
                        }
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                }
              }
            },
            "/api/v1/plugins/{name}": {
              "get": {
                "operationId": "getPlugin",
                "x-viworks-role": "viewer",
                "security": [
                  {
                    "apiKeyBearer": [
                      "viewer"
                    ]
                  },
                  {
                    "jwtBearer": [
                      "viewer"
                    ]
                  },
                  {
                    "apiKeyHeader": [
                      "viewer"
                    ]
                  }
                ],
                "summary": "One plugin in detail",
                "parameters": [
                  {
                    "name": "name",
                    "in": "path",
                    "required": true,
                    "description": "The plugin's name.",
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "description": "Not cached (`Cache-Control: no-store`). HEAD is served too.",
                "responses": {
                  "200": {
                    "description": "The plugin.",
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/Plugin"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "No plugin of that name (`not_found`).",
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                }
              }
            },
            "/api/v1/plugins/{name}/enable": {
              "post": {
                "operationId": "enablePlugin",
                "x-viworks-role": "operator",
                "security": [
                  {
                    "apiKeyBearer": [
                      "operator"
                    ]
                  },
                  {
                    "jwtBearer": [
                      "operator"
                    ]
                  },
                  {
                    "apiKeyHeader": [
                      "operator"
                    ]
                  }
                ],
                "summary": "Start a disabled plugin again (after a crash loop, a refusal or its own request)",
                "parameters": [
                  {
                    "name": "name",
                    "in": "path",
                    "required": true,
                    "description": "The plugin's name.",
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "description": "Clears `disabled` (after a crash loop, a refused protocol or the plugin's own `disable` message) and starts the plugin with a fresh restart count. A plugin that is starting, running or waiting to restart is left alone (409 `already_running`); one whose manifest says `enabled = false` is refused (409 `disabled_in_manifest`): change the manifest and reload. No request body.",
                "responses": {
                  "200": {
                    "description": "The plugin as it is right after the start.",
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/Plugin"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "No plugin of that name (`not_found`).",
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "409": {
                    "description": "Nothing was started: the plugin is not disabled (`already_running`, e.g. `plugin nginx is running, not disabled: there is nothing to enable`), or its manifest disables it (`disabled_in_manifest`).",
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                }
              }
            },
            "/api/v1/plugins/reload": {
              "post": {
                "operationId": "reloadPlugins",
                "x-viworks-role": "operator",
                "security": [
                  {
                    "apiKeyBearer": [
                      "operator"
                    ]
                  },
                  {
                    "jwtBearer": [
                      "operator"
                    ]
                  },
                  {
                    "apiKeyHeader": [
                      "operator"
                    ]
                  }
                ],
                "summary": "Rescan plugins.d: start added plugins, stop removed ones, restart changed ones",
                "description": "The same as `SIGHUP` does for plugins: manifests are read again; unchanged plugins are not touched. No request body.",
                "responses": {
                  "200": {
                    "description": "What the rescan did.",
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/PluginReload"
                        }
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                }
              }
            },
            "/api/v1/metrics": {
              "get": {
                "operationId": "listSeries",
                "x-viworks-role": "viewer",
                "security": [
                  {
                    "apiKeyBearer": [
                      "viewer"
                    ]
                  },
                  {
                    "jwtBearer": [
                      "viewer"
                    ]
                  },
                  {
                    "apiKeyHeader": [
                      "viewer"
                    ]
                  }
                ],
                "summary": "Every stored history series with its labels",
                "description": "The series of the history database (built-in collectors and plugins), by key. Not cached.",
                "parameters": [
                  {
                    "name": "name",
                    "in": "query",
                    "required": false,
                    "description": "Only the series of this metric name.",
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The stored series.",
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/SeriesList"
                        }
                      }
                    }
                  },
                  "400": {
                    "description": "A bad, unknown or repeated query parameter or `from` after `to` (`invalid_parameter`), with the parameter named in the message; also a query that would return more than `[history] max_points` points (`bad_request`).",
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "History is disabled (`history_unavailable`), or its database fails: damaged (it is moved aside and a new one started), a full disk, or it cannot be opened (`storage_unavailable`, with the reason; retried).",
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                }
              }
            },
            "/api/v1/metrics/{name}/history": {
              "get": {
                "operationId": "getMetricHistory",
                "x-viworks-role": "viewer",
                "security": [
                  {
                    "apiKeyBearer": [
                      "viewer"
                    ]
                  },
                  {
                    "jwtBearer": [
                      "viewer"
                    ]
                  },
                  {
                    "apiKeyHeader": [
                      "viewer"
                    ]
                  }
                ],
                "summary": "History of one metric: raw points or buckets (from, to, step, agg), tier chosen automatically",
                "description": "Without `step`: the raw samples (tier 0) in [from, to], default the last hour. With `step`: one point per bucket, from the coarsest tier whose resolution divides the step (raw, per-minute, per-hour rollups) and whose retention covers the range; when only a coarser tier still covers it, the step is rounded up to that tier's resolution (the response's `step` and `tier` say so). min, max, count and last are exact in every tier. One entry in `series` per label set; `label=name=value` (repeatable) filters them.",
                "parameters": [
                  {
                    "name": "name",
                    "in": "path",
                    "required": true,
                    "description": "The metric name, e.g. `viworks_cpu_usage_percent`.",
                    "schema": {
                      "type": "string"
                    }
                  },
                  {
                    "name": "from",
                    "in": "query",
                    "required": false,
                    "description": "Start of the range (inclusive). RFC 3339 (`2025-01-31T12:00:00Z`, any offset) or Unix seconds (`1738324800`, a fraction allowed), from `1970-01-01T00:00:00Z` to `2200-01-01T00:00:00Z`. Default: `to` minus the route's default span.",
                    "schema": {
                      "type": "string"
                    }
                  },
                  {
                    "name": "to",
                    "in": "query",
                    "required": false,
                    "description": "End of the range (inclusive). RFC 3339 (`2025-01-31T12:00:00Z`, any offset) or Unix seconds (`1738324800`, a fraction allowed), from `1970-01-01T00:00:00Z` to `2200-01-01T00:00:00Z`. Default: now.",
                    "schema": {
                      "type": "string"
                    }
                  },
                  {
                    "name": "step",
                    "in": "query",
                    "required": false,
                    "description": "Bucket width: whole seconds (`60`) or a duration (`5m`, `1h`), 1 s to 366 days. Buckets are aligned to the Unix epoch; every non-empty bucket that intersects [from, to] is returned and aggregates all samples inside it.",
                    "schema": {
                      "type": "string"
                    }
                  },
                  {
                    "name": "agg",
                    "in": "query",
                    "required": false,
                    "description": "Aggregate per bucket (with `step`). Default `avg`.",
                    "schema": {
                      "type": "string",
                      "enum": [
                        "avg",
                        "min",
                        "max",
                        "sum",
                        "count",
                        "last"
                      ]
                    }
                  },
                  {
                    "name": "label",
                    "in": "query",
                    "required": false,
                    "description": "`name=value`: only series with this label; repeat for more (every one must match).",
                    "schema": {
                      "type": "array",
                      "items": {
                        "type": "string"
                      }
                    },
                    "style": "form",
                    "explode": true
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The points of every matching series.",
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/MetricHistory"
                        }
                      }
                    }
                  },
                  "400": {
                    "description": "A bad, unknown or repeated query parameter or `from` after `to` (`invalid_parameter`), with the parameter named in the message; also a query that would return more than `[history] max_points` points (`bad_request`).",
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "No stored series of that name (and labels) (`not_found`).",
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "History is disabled (`history_unavailable`), or its database fails: damaged (it is moved aside and a new one started), a full disk, or it cannot be opened (`storage_unavailable`, with the reason; retried).",
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                }
              }
            },
            "/api/v1/history/status": {
              "get": {
                "operationId": "getStatusHistory",
                "x-viworks-role": "viewer",
                "security": [
                  {
                    "apiKeyBearer": [
                      "viewer"
                    ]
                  },
                  {
                    "jwtBearer": [
                      "viewer"
                    ]
                  },
                  {
                    "apiKeyHeader": [
                      "viewer"
                    ]
                  }
                ],
                "summary": "The status headline fields (cpu, memory, disk, load, temperature) over time",
                "description": "The `system_health` fields of `/api/v1/status` as averages per bucket, for dashboards. Default range: the last 24 hours; default step: about 720 points, a multiple of 60 s.",
                "parameters": [
                  {
                    "name": "from",
                    "in": "query",
                    "required": false,
                    "description": "Start of the range (inclusive). RFC 3339 (`2025-01-31T12:00:00Z`, any offset) or Unix seconds (`1738324800`, a fraction allowed), from `1970-01-01T00:00:00Z` to `2200-01-01T00:00:00Z`. Default: `to` minus the route's default span.",
                    "schema": {
                      "type": "string"
                    }
                  },
                  {
                    "name": "to",
                    "in": "query",
                    "required": false,
                    "description": "End of the range (inclusive). RFC 3339 (`2025-01-31T12:00:00Z`, any offset) or Unix seconds (`1738324800`, a fraction allowed), from `1970-01-01T00:00:00Z` to `2200-01-01T00:00:00Z`. Default: now.",
                    "schema": {
                      "type": "string"
                    }
                  },
                  {
                    "name": "step",
                    "in": "query",
                    "required": false,
                    "description": "Bucket width: whole seconds (`60`) or a duration (`5m`, `1h`), 1 s to 366 days. Buckets are aligned to the Unix epoch; every non-empty bucket that intersects [from, to] is returned and aggregates all samples inside it.",
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "One point per bucket with data.",
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/StatusHistory"
                        }
                      }
                    }
                  },
                  "400": {
                    "description": "A bad, unknown or repeated query parameter or `from` after `to` (`invalid_parameter`), with the parameter named in the message; also a query that would return more than `[history] max_points` points (`bad_request`).",
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "History is disabled (`history_unavailable`), or its database fails: damaged (it is moved aside and a new one started), a full disk, or it cannot be opened (`storage_unavailable`, with the reason; retried).",
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                }
              }
            },
            "/api/v1/alerts": {
              "get": {
                "operationId": "getAlerts",
                "x-viworks-role": "viewer",
                "security": [
                  {
                    "apiKeyBearer": [
                      "viewer"
                    ]
                  },
                  {
                    "jwtBearer": [
                      "viewer"
                    ]
                  },
                  {
                    "apiKeyHeader": [
                      "viewer"
                    ]
                  }
                ],
                "summary": "Active alerts (not ok) and the alert summary",
                "description": "Every rule subject that is warning or critical, by rule then subject. Not cached.",
                "responses": {
                  "200": {
                    "description": "The active alerts.",
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/Alerts"
                        }
                      }
                    }
                  },
                  "400": {
                    "description": "A query parameter was given (`invalid_parameter`): this route takes none.",
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                }
              }
            },
            "/api/v1/incidents": {
              "get": {
                "operationId": "getIncidents",
                "x-viworks-role": "viewer",
                "security": [
                  {
                    "apiKeyBearer": [
                      "viewer"
                    ]
                  },
                  {
                    "jwtBearer": [
                      "viewer"
                    ]
                  },
                  {
                    "apiKeyHeader": [
                      "viewer"
                    ]
                  }
                ],
                "summary": "Alert incidents (start, peak, end, duration) overlapping from..to",
                "description": "Incidents that overlap [from, to] (an open incident overlaps everything after its start), newest first. Default range: the last 7 days.",
                "parameters": [
                  {
                    "name": "from",
                    "in": "query",
                    "required": false,
                    "description": "Start of the range (inclusive). RFC 3339 (`2025-01-31T12:00:00Z`, any offset) or Unix seconds (`1738324800`, a fraction allowed), from `1970-01-01T00:00:00Z` to `2200-01-01T00:00:00Z`. Default: `to` minus the route's default span.",
                    "schema": {
                      "type": "string"
                    }
                  },
                  {
                    "name": "to",
                    "in": "query",
                    "required": false,
                    "description": "End of the range (inclusive). RFC 3339 (`2025-01-31T12:00:00Z`, any offset) or Unix seconds (`1738324800`, a fraction allowed), from `1970-01-01T00:00:00Z` to `2200-01-01T00:00:00Z`. Default: now.",
                    "schema": {
                      "type": "string"
                    }
                  },
                  {
                    "name": "limit",
                    "in": "query",
                    "required": false,
                    "description": "At most this many incidents (1–10000, default 1000).",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 10000
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The incidents.",
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/Incidents"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "The history database fails (`storage_unavailable`, with the reason).",
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "400": {
                    "description": "A bad, unknown or repeated query parameter or `from` after `to` (`invalid_parameter`), with the parameter named in the message; also a query that would return more than `[history] max_points` points (`bad_request`).",
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                }
              }
            },
            "/api/v1/reports/{period}": {
              "get": {
                "operationId": "getReport",
                "x-viworks-role": "viewer",
                "security": [
                  {
                    "apiKeyBearer": [
                      "viewer"
                    ]
                  },
                  {
                    "jwtBearer": [
                      "viewer"
                    ]
                  },
                  {
                    "apiKeyHeader": [
                      "viewer"
                    ]
                  }
                ],
                "summary": "Daily, weekly or monthly report: headline min/avg/p95/max, incidents, service availability",
                "description": "The 24 hours, 7 days or 30 days ending at `to` (default now). min/avg/max are exact over every sample (from the per-minute rollups); p95 is the 95th percentile (nearest rank) of the per-minute averages. Service availability is 100 % minus the time covered by the service rule's incidents.",
                "parameters": [
                  {
                    "name": "period",
                    "in": "path",
                    "required": true,
                    "description": "`daily`, `weekly` or `monthly`.",
                    "schema": {
                      "type": "string",
                      "enum": [
                        "daily",
                        "weekly",
                        "monthly"
                      ]
                    }
                  },
                  {
                    "name": "to",
                    "in": "query",
                    "required": false,
                    "description": "End of the period. RFC 3339 (`2025-01-31T12:00:00Z`, any offset) or Unix seconds (`1738324800`, a fraction allowed), from `1970-01-01T00:00:00Z` to `2200-01-01T00:00:00Z`. Default: now.",
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The report.",
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/Report"
                        }
                      }
                    }
                  },
                  "400": {
                    "description": "A bad, unknown or repeated query parameter or `from` after `to` (`invalid_parameter`), with the parameter named in the message; also a query that would return more than `[history] max_points` points (`bad_request`).",
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "Another period (`not_found`).",
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "History is disabled (`history_unavailable`), or its database fails: damaged (it is moved aside and a new one started), a full disk, or it cannot be opened (`storage_unavailable`, with the reason; retried).",
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                }
              }
            },
            "/api/v1/openapi.json": {
              "get": {
                "operationId": "getOpenAPI",
                "x-viworks-role": "viewer",
                "security": [
                  {
                    "apiKeyBearer": [
                      "viewer"
                    ]
                  },
                  {
                    "jwtBearer": [
                      "viewer"
                    ]
                  },
                  {
                    "apiKeyHeader": [
                      "viewer"
                    ]
                  }
                ],
                "summary": "This API's OpenAPI 3.1 document",
                "description": "This document. HEAD is served too.",
                "responses": {
                  "200": {
                    "description": "The OpenAPI 3.1 document.",
                    "content": {
                      "application/json; charset=utf-8": {
                        "schema": {
                          "type": "object",
                          "required": [
                            "openapi",
                            "info",
                            "paths"
                          ]
                        }
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                }
              }
            },
            "/metrics": {
              "get": {
                "operationId": "getMetrics",
                "x-viworks-role": "viewer",
                "security": [
                  {
                    "apiKeyBearer": [
                      "viewer"
                    ]
                  },
                  {
                    "jwtBearer": [
                      "viewer"
                    ]
                  },
                  {
                    "apiKeyHeader": [
                      "viewer"
                    ]
                  }
                ],
                "summary": "Prometheus text exposition 0.0.4 of everything collected and of the agent itself",
                "description": "Every collected sample in Prometheus text format 0.0.4 (`viworks_cpu_usage_percent`, `viworks_memory_usage_percent`, `viworks_network_receive_bytes_total{interface=...}`, `viworks_filesystem_size_bytes{device,mountpoint,fstype}`, …) plus the agent's own metrics: `viworks_collector_up`, `viworks_collector_failed`, `viworks_collector_restarts_total`, `viworks_collector_duration_seconds`, `viworks_collector_success`, `viworks_collector_collections_total`, `viworks_collector_failures_total`, `viworks_collector_timeouts_total` (label `collector`), `viworks_bus_published_batches_total`, `viworks_bus_dropped_batches_total{subscriber}`, `viworks_agent_info{version}`, `viworks_agent_start_time_seconds`, and per plugin (label `plugin`): `viworks_plugin_up`, `viworks_plugin_disabled`, `viworks_plugin_restarts_total`, `viworks_plugin_samples_total`, `viworks_plugin_valid_lines_total`, `viworks_plugin_bad_lines_total{reason}`, `viworks_plugin_rejected_samples_total{reason}`, `viworks_plugin_last_sample_timestamp_seconds`, `viworks_plugin_service_up{service}`. Plugin samples carry the label `plugin`. Encoded once per collection and served from a cache; send the `ETag` back in `If-None-Match` to get 304 until the next collection. HEAD is served too (same headers, no body).",
                "parameters": [
                  {
                    "$ref": "#/components/parameters/IfNoneMatch"
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The current representation.",
                    "headers": {
                      "ETag": {
                        "description": "Strong validator of this representation: changes with every collection and every change of the supervisor's state.",
                        "schema": {
                          "type": "string"
                        }
                      },
                      "Cache-Control": {
                        "description": "`no-cache`: revalidate with `If-None-Match`.",
                        "schema": {
                          "type": "string"
                        }
                      }
                    },
                    "content": {
                      "text/plain; version=0.0.4; charset=utf-8": {
                        "schema": {
                          "type": "string",
                          "description": "Prometheus text exposition format 0.0.4."
                        }
                      }
                    }
                  },
                  "304": {
                    "$ref": "#/components/responses/NotModified"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                }
              }
            }
          },
          "components": {
            "securitySchemes": {
              "apiKeyBearer": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "viworks API key (vwk_<salt>_<secret>)",
                "description": "An API key made by `viworks-agent keys create`, sent as `Authorization: Bearer vwk_…`. The agent keeps only its salted HMAC-SHA256. The key's role (viewer < operator < admin) must be at least the operation's role, listed in its `security` requirement and in `x-viworks-role`."
              },
              "jwtBearer": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "A JWT signed with HS256 (`[auth.jwt] hs256_secret_file`) or ES256 / EdDSA (`public_key_files`), sent as `Authorization: Bearer <jwt>`. `exp` is required; `nbf`, `iss` and `aud` are checked when configured; `alg: none` and algorithms without a configured key are refused. The role comes from the claim `[auth.jwt] role_claim` (default `role`)."
              },
              "apiKeyHeader": {
                "type": "apiKey",
                "in": "header",
                "name": "X-API-Key",
                "description": "The same API key in the `X-API-Key` header."
              }
            },
            "schemas": {
              "Error": {
                "type": "object",
                "description": "Every error response: `{\"error\":{\"code\",\"message\"}}`, served as `application/json; charset=utf-8` with `Cache-Control: no-store`.",
                "additionalProperties": false,
                "required": [
                  "error"
                ],
                "properties": {
                  "error": {
                    "type": "object",
                    "description": "The error.",
                    "additionalProperties": false,
                    "required": [
                      "code",
                      "message"
                    ],
                    "properties": {
                      "code": {
                        "type": "string",
                        "description": "Stable, machine-readable error code: `not_found` (no route for the path, 404), `method_not_allowed` (405; the `Allow` header lists the methods the path serves), `bad_request` (400), `invalid_parameter` (400: a query or path parameter, named in the message), `payload_too_large` (413), `internal_error` (500; details are logged, not returned), `unauthorized` (401), `forbidden` and `address_not_allowed` (403), `uri_too_long` (414), `headers_too_large` (431), `rate_limited` (429)."
                      },
                      "message": {
                        "type": "string",
                        "description": "Human-readable explanation, e.g. `no route for GET /nope` or `POST is not allowed on /api/v1/status; allowed: GET, HEAD, OPTIONS`."
                      }
                    }
                  }
                }
              },
              "Health": {
                "type": "object",
                "description": "`GET /api/v1/health`.",
                "additionalProperties": false,
                "required": [
                  "status",
                  "timestamp",
                  "version",
                  "uptime",
                  "agent_uptime_seconds",
                  "failed_collectors"
                ],
                "properties": {
                  "status": {
                    "type": "string",
                    "description": "`healthy` (200) once the first batch of every core collector has landed and none is `failed`; `starting` (503) before the first collection; `unhealthy` (503) while a core collector is `failed` (see `failed_collectors`).",
                    "enum": [
                      "healthy",
                      "starting",
                      "unhealthy"
                    ]
                  },
                  "timestamp": {
                    "type": "string",
                    "description": "When this response was made (wall clock, not cached). RFC 3339 in UTC with nine fractional digits, e.g. `2025-09-03T09:06:55.757303636+00:00`.",
                    "format": "date-time",
                    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}\\+00:00$"
                  },
                  "version": {
                    "type": "string",
                    "description": "The agent's version, e.g. `0.1.0`."
                  },
                  "uptime": {
                    "type": [
                      "integer",
                      "null"
                    ],
                    "description": "System uptime in whole seconds (first field of `/proc/uptime`, truncated) as of the last uptime collection (so up to one collection interval behind `timestamp`), as in the specification; null before the uptime collector has reported.",
                    "minimum": 0
                  },
                  "agent_uptime_seconds": {
                    "type": "number",
                    "description": "Seconds since this agent process started, from the monotonic clock, rounded to 3 decimals.",
                    "minimum": 0
                  },
                  "failed_collectors": {
                    "type": "array",
                    "description": "Names of the core collectors the supervisor gave up on (status `failed`); empty when healthy.",
                    "items": {
                      "type": "string"
                    }
                  }
                }
              },
              "LoadAverage": {
                "type": "object",
                "description": "Load averages and task counts from `/proc/loadavg`.",
                "additionalProperties": false,
                "required": [
                  "one_minute",
                  "five_minutes",
                  "fifteen_minutes",
                  "runnable_tasks",
                  "total_tasks"
                ],
                "properties": {
                  "one_minute": {
                    "type": "number",
                    "description": "1-minute load average (first field of `/proc/loadavg`).",
                    "minimum": 0
                  },
                  "five_minutes": {
                    "type": "number",
                    "description": "5-minute load average (second field of `/proc/loadavg`).",
                    "minimum": 0
                  },
                  "fifteen_minutes": {
                    "type": "number",
                    "description": "15-minute load average (third field of `/proc/loadavg`).",
                    "minimum": 0
                  },
                  "runnable_tasks": {
                    "type": "integer",
                    "description": "Currently runnable scheduling entities (fourth field of `/proc/loadavg`, before the slash).",
                    "minimum": 0
                  },
                  "total_tasks": {
                    "type": "integer",
                    "description": "Scheduling entities that exist (fourth field of `/proc/loadavg`, after the slash).",
                    "minimum": 0
                  }
                }
              },
              "SystemHealth": {
                "type": "object",
                "description": "The specification's headline figures (`system_health`). Every key is always present; unknown values are null.",
                "additionalProperties": false,
                "required": [
                  "cpu_usage_percent",
                  "memory_usage_percent",
                  "disk_usage_percent",
                  "load_average",
                  "uptime_seconds",
                  "temperature"
                ],
                "properties": {
                  "cpu_usage_percent": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "CPU usage, percent of all CPUs, 0–100, rounded to 2 decimals, from deltas of `/proc/stat` jiffies between the last two collections; busy = user + nice + system + irq + softirq + steal over busy + idle + iowait (guest and guest_nice are already inside user and nice and are not added again); per-field deltas clamped at 0. Null on the first collection (no delta yet).",
                    "minimum": 0,
                    "maximum": 100
                  },
                  "memory_usage_percent": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "Memory usage in percent, 0–100, rounded to 2 decimals: (MemTotal − MemAvailable) / MemTotal from `/proc/meminfo`. Null until the memory collector has reported.",
                    "minimum": 0,
                    "maximum": 100
                  },
                  "disk_usage_percent": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "Usage of the filesystem mounted at `/`, in percent 0–100, rounded to 2 decimals, as `df` computes it: used / (used + available to unprivileged users) from `statvfs(3)`, so reserved blocks count as used. Null when `/` is excluded, stale or not yet collected.",
                    "minimum": 0,
                    "maximum": 100
                  },
                  "load_average": {
                    "anyOf": [
                      {
                        "$ref": "#/components/schemas/LoadAverage"
                      },
                      {
                        "type": "null"
                      }
                    ],
                    "description": "Load averages from `/proc/loadavg`; null until the load collector has reported."
                  },
                  "uptime_seconds": {
                    "type": [
                      "integer",
                      "null"
                    ],
                    "description": "System uptime in whole seconds (first field of `/proc/uptime`, truncated) as of the last uptime collection; null until the uptime collector has reported.",
                    "minimum": 0
                  },
                  "temperature": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "Hottest CPU temperature sensor in °C (hwmon chips coretemp/k10temp/zenpower/cpu_thermal/soc_thermal/k8temp/via_cputemp, thermal zones x86_pkg_temp/soc*/*cpu*; kernel millidegrees / 1000); null when the host has no readable CPU sensor (e.g. most cloud VMs)."
                  }
                }
              },
              "CoreUsage": {
                "type": "object",
                "description": "One logical CPU.",
                "additionalProperties": false,
                "required": [
                  "cpu",
                  "usage_percent"
                ],
                "properties": {
                  "cpu": {
                    "type": "string",
                    "description": "The CPU's name in `/proc/stat`: `cpu0`, `cpu1`, …",
                    "pattern": "^cpu[0-9]+$"
                  },
                  "usage_percent": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "Usage of this CPU, percent of this CPU, 0–100, rounded to 2 decimals, from deltas of `/proc/stat` jiffies between the last two collections; busy = user + nice + system + irq + softirq + steal over busy + idle + iowait (guest and guest_nice are already inside user and nice and are not added again); per-field deltas clamped at 0. Null for a CPU seen for the first time or again after being offline (a fresh baseline, never a spike).",
                    "minimum": 0,
                    "maximum": 100
                  }
                }
              },
              "CPU": {
                "type": "object",
                "description": "CPU usage and identity (`system_info.cpu`).",
                "additionalProperties": false,
                "required": [
                  "cores",
                  "usage_percent",
                  "frequency",
                  "brand",
                  "iowait_percent",
                  "steal_percent",
                  "per_core"
                ],
                "properties": {
                  "cores": {
                    "type": "integer",
                    "description": "Online logical CPUs (the `cpuN` lines of `/proc/stat`).",
                    "minimum": 0
                  },
                  "usage_percent": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "CPU usage, percent of all CPUs, 0–100, rounded to 2 decimals, from deltas of `/proc/stat` jiffies between the last two collections; busy = user + nice + system + irq + softirq + steal over busy + idle + iowait (guest and guest_nice are already inside user and nice and are not added again); per-field deltas clamped at 0. Null on the first collection (no delta yet).",
                    "minimum": 0,
                    "maximum": 100
                  },
                  "frequency": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "Current frequency in MHz, rounded to an integer value: cpufreq `scaling_cur_freq` of cpu0 (kHz / 1000) under the sys root, else `cpu MHz` of `/proc/cpuinfo`; null when neither exists.",
                    "minimum": 0
                  },
                  "brand": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "CPU model: `model name` of `/proc/cpuinfo`; on ARM, where there is none, built from `CPU implementer`/`CPU part`. Null when unknown."
                  },
                  "iowait_percent": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "Percent of the last interval all CPUs spent in iowait, 0–100, rounded to 2 decimals, from `/proc/stat` deltas over the same total as `usage_percent`. Null on the first collection.",
                    "minimum": 0,
                    "maximum": 100
                  },
                  "steal_percent": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "Percent of the last interval stolen by the hypervisor, 0–100, rounded to 2 decimals, from `/proc/stat` deltas over the same total as `usage_percent`. Null on the first collection.",
                    "minimum": 0,
                    "maximum": 100
                  },
                  "per_core": {
                    "type": "array",
                    "description": "Per-CPU usage, in `/proc/stat` order.",
                    "items": {
                      "$ref": "#/components/schemas/CoreUsage"
                    }
                  }
                }
              },
              "Memory": {
                "type": "object",
                "description": "Memory from `/proc/meminfo` (`system_info.memory`).",
                "additionalProperties": false,
                "required": [
                  "total_gb",
                  "used_gb",
                  "available_gb",
                  "usage_percent",
                  "total_bytes",
                  "used_bytes",
                  "available_bytes",
                  "available_estimated",
                  "swap_total_bytes",
                  "swap_free_bytes"
                ],
                "properties": {
                  "total_gb": {
                    "type": "number",
                    "description": "Total RAM in GiB (2^30 bytes), rounded to 2 decimals: MemTotal of `/proc/meminfo` (kB × 1024) / 2^30.",
                    "minimum": 0
                  },
                  "used_gb": {
                    "type": "number",
                    "description": "Used RAM in GiB (2^30 bytes), rounded to 2 decimals: (MemTotal − MemAvailable) × 1024 / 2^30.",
                    "minimum": 0
                  },
                  "available_gb": {
                    "type": "number",
                    "description": "Available RAM in GiB (2^30 bytes), rounded to 2 decimals: MemAvailable × 1024 / 2^30 (estimated when `available_estimated`).",
                    "minimum": 0
                  },
                  "usage_percent": {
                    "type": "number",
                    "description": "Memory usage in percent, 0–100, rounded to 2 decimals: (MemTotal − MemAvailable) / MemTotal.",
                    "minimum": 0,
                    "maximum": 100
                  },
                  "total_bytes": {
                    "type": "integer",
                    "description": "Total RAM in bytes: MemTotal of `/proc/meminfo` (kB) × 1024.",
                    "minimum": 0
                  },
                  "used_bytes": {
                    "type": "integer",
                    "description": "Used RAM in bytes: (MemTotal − MemAvailable) × 1024.",
                    "minimum": 0
                  },
                  "available_bytes": {
                    "type": "integer",
                    "description": "Available RAM in bytes: MemAvailable × 1024, or its estimate when `available_estimated`.",
                    "minimum": 0
                  },
                  "available_estimated": {
                    "type": "boolean",
                    "description": "True when the kernel has no `MemAvailable` (before 3.14) and it was estimated as MemFree + Active(file) + Inactive(file) + SReclaimable (or MemFree + Buffers + Cached)."
                  },
                  "swap_total_bytes": {
                    "type": "integer",
                    "description": "Swap size in bytes: SwapTotal of `/proc/meminfo` × 1024.",
                    "minimum": 0
                  },
                  "swap_free_bytes": {
                    "type": "integer",
                    "description": "Unused swap in bytes: SwapFree of `/proc/meminfo` × 1024.",
                    "minimum": 0
                  }
                }
              },
              "Interface": {
                "type": "object",
                "description": "Counters and rates of one network interface.",
                "additionalProperties": false,
                "required": [
                  "name",
                  "loopback",
                  "receive_bytes",
                  "transmit_bytes",
                  "receive_packets",
                  "transmit_packets",
                  "receive_errors",
                  "transmit_errors",
                  "receive_drops",
                  "transmit_drops",
                  "receive_bytes_per_second",
                  "transmit_bytes_per_second",
                  "receive_packets_per_second",
                  "transmit_packets_per_second"
                ],
                "properties": {
                  "name": {
                    "type": "string",
                    "description": "Interface name as in `/proc/net/dev` (may contain `:`; the name ends at the last one)."
                  },
                  "loopback": {
                    "type": "boolean",
                    "description": "True when `/sys/class/net/<name>/type` is 772 (ARPHRD_LOOPBACK)."
                  },
                  "receive_bytes": {
                    "type": "integer",
                    "description": "Bytes received since the counter started (`/proc/net/dev` receive bytes).",
                    "minimum": 0
                  },
                  "transmit_bytes": {
                    "type": "integer",
                    "description": "Bytes transmitted (`/proc/net/dev` transmit bytes).",
                    "minimum": 0
                  },
                  "receive_packets": {
                    "type": "integer",
                    "description": "Packets received (`/proc/net/dev`).",
                    "minimum": 0
                  },
                  "transmit_packets": {
                    "type": "integer",
                    "description": "Packets transmitted (`/proc/net/dev`).",
                    "minimum": 0
                  },
                  "receive_errors": {
                    "type": "integer",
                    "description": "Receive errors (`/proc/net/dev` errs).",
                    "minimum": 0
                  },
                  "transmit_errors": {
                    "type": "integer",
                    "description": "Transmit errors (`/proc/net/dev` errs).",
                    "minimum": 0
                  },
                  "receive_drops": {
                    "type": "integer",
                    "description": "Received packets dropped (`/proc/net/dev` drop).",
                    "minimum": 0
                  },
                  "transmit_drops": {
                    "type": "integer",
                    "description": "Transmitted packets dropped (`/proc/net/dev` drop).",
                    "minimum": 0
                  },
                  "receive_bytes_per_second": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "Bytes received per second over the last interval (delta of the `/proc/net/dev` counter / elapsed monotonic seconds), rounded to 2 decimals; null on the first sight of the interface and for an interval in which the counter went backwards (reset or wrap: a new baseline is taken, never a spike).",
                    "minimum": 0
                  },
                  "transmit_bytes_per_second": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "Bytes transmitted per second over the last interval (delta of the `/proc/net/dev` counter / elapsed monotonic seconds), rounded to 2 decimals; null on the first sight of the interface and for an interval in which the counter went backwards (reset or wrap: a new baseline is taken, never a spike).",
                    "minimum": 0
                  },
                  "receive_packets_per_second": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "Packets received per second over the last interval (delta of the `/proc/net/dev` counter / elapsed monotonic seconds), rounded to 2 decimals; null on the first sight of the interface and for an interval in which the counter went backwards (reset or wrap: a new baseline is taken, never a spike).",
                    "minimum": 0
                  },
                  "transmit_packets_per_second": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "Packets transmitted per second over the last interval (delta of the `/proc/net/dev` counter / elapsed monotonic seconds), rounded to 2 decimals; null on the first sight of the interface and for an interval in which the counter went backwards (reset or wrap: a new baseline is taken, never a spike).",
                    "minimum": 0
                  }
                }
              },
              "Network": {
                "type": "object",
                "description": "Network interfaces from `/proc/net/dev` (`system_info.network`).",
                "additionalProperties": false,
                "required": [
                  "interfaces",
                  "bytes_sent",
                  "bytes_received",
                  "details"
                ],
                "properties": {
                  "interfaces": {
                    "type": "array",
                    "description": "Names of every reported interface (loopback included), in `/proc/net/dev` order.",
                    "items": {
                      "type": "string"
                    }
                  },
                  "bytes_sent": {
                    "type": "integer",
                    "description": "Total bytes transmitted over all non-loopback interfaces (sum of `/proc/net/dev` transmit bytes).",
                    "minimum": 0
                  },
                  "bytes_received": {
                    "type": "integer",
                    "description": "Total bytes received over all non-loopback interfaces (sum of `/proc/net/dev` receive bytes).",
                    "minimum": 0
                  },
                  "details": {
                    "type": "array",
                    "description": "Per-interface counters and rates, in the order of `interfaces`.",
                    "items": {
                      "$ref": "#/components/schemas/Interface"
                    }
                  }
                }
              },
              "System": {
                "type": "object",
                "description": "Host identity (`system_info.system`). The object is always present; its fields are null until the host and uptime collectors have reported.",
                "additionalProperties": false,
                "required": [
                  "hostname",
                  "os_name",
                  "os_version",
                  "kernel_version",
                  "os_id",
                  "architecture",
                  "machine_id",
                  "boot_time",
                  "uptime_seconds"
                ],
                "properties": {
                  "hostname": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "`/proc/sys/kernel/hostname`, else `uname(2)` on the live host or `etc/hostname` of a replayed tree, else `unknown`; null until the host collector has reported."
                  },
                  "os_name": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "`NAME` of `/etc/os-release` (or `/usr/lib/os-release`) under the root filesystem, e.g. `Debian GNU/Linux`."
                  },
                  "os_version": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "`VERSION` of os-release (e.g. `12 (bookworm)`), else `VERSION_ID`."
                  },
                  "kernel_version": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "`/proc/sys/kernel/osrelease`, e.g. `6.1.0-13-amd64`."
                  },
                  "os_id": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "`ID` of os-release, e.g. `debian`."
                  },
                  "architecture": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "CPU architecture, e.g. `x86_64`, `aarch64`: `/proc/sys/kernel/arch`, else `uname(2)` when the agent reads the live `/proc`; null for a replayed tree without that file."
                  },
                  "machine_id": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "`/etc/machine-id` under the root filesystem."
                  },
                  "boot_time": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "Boot time, from `btime` of `/proc/stat` (whole seconds). RFC 3339 in UTC with nine fractional digits, e.g. `2025-09-03T09:06:55.757303636+00:00`.",
                    "format": "date-time",
                    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}\\+00:00$"
                  },
                  "uptime_seconds": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "System uptime in seconds, rounded to 2 decimals (first field of `/proc/uptime`).",
                    "minimum": 0
                  }
                }
              },
              "Filesystem": {
                "type": "object",
                "description": "One real filesystem (pseudo filesystems such as proc, sysfs, tmpfs, devtmpfs, overlay, autofs and cgroup are excluded by default; one entry per (device, root) so bind mounts are not counted twice).",
                "additionalProperties": false,
                "required": [
                  "device",
                  "mount_point",
                  "fs_type",
                  "total_bytes",
                  "used_bytes",
                  "available_bytes",
                  "usage_percent",
                  "inodes_total",
                  "inodes_free",
                  "read_only",
                  "stale"
                ],
                "properties": {
                  "device": {
                    "type": "string",
                    "description": "Mount source from `/proc/self/mountinfo`, e.g. `/dev/vda1`."
                  },
                  "mount_point": {
                    "type": "string",
                    "description": "Mount point from `/proc/self/mountinfo` (as the host sees it, without the rootfs prefix)."
                  },
                  "fs_type": {
                    "type": "string",
                    "description": "Filesystem type from `/proc/self/mountinfo`, e.g. `ext4`."
                  },
                  "total_bytes": {
                    "type": "integer",
                    "description": "Size in bytes: f_blocks × f_frsize of `statvfs(3)`.",
                    "minimum": 0
                  },
                  "used_bytes": {
                    "type": "integer",
                    "description": "Used bytes: (f_blocks − f_bfree) × f_frsize.",
                    "minimum": 0
                  },
                  "available_bytes": {
                    "type": "integer",
                    "description": "Bytes available to unprivileged users: f_bavail × f_frsize.",
                    "minimum": 0
                  },
                  "usage_percent": {
                    "type": "number",
                    "description": "Usage in percent, 0–100, rounded to 2 decimals, as `df` computes it: used / (used + available), so blocks reserved for root count as used.",
                    "minimum": 0,
                    "maximum": 100
                  },
                  "inodes_total": {
                    "type": "integer",
                    "description": "Inodes: f_files of `statvfs(3)`.",
                    "minimum": 0
                  },
                  "inodes_free": {
                    "type": "integer",
                    "description": "Free inodes: f_ffree of `statvfs(3)`.",
                    "minimum": 0
                  },
                  "read_only": {
                    "type": "boolean",
                    "description": "True when mounted read-only (`ro` mount option)."
                  },
                  "stale": {
                    "type": "boolean",
                    "description": "True when `statvfs` did not answer within the disk collector's `statfs_timeout` (e.g. a dead NFS server); the size fields are then 0 and must not be trusted."
                  }
                }
              },
              "Sensor": {
                "type": "object",
                "description": "One temperature sensor that could be read (a sensor that fails to read is omitted, never reported as 0).",
                "additionalProperties": false,
                "required": [
                  "source",
                  "chip",
                  "label",
                  "celsius",
                  "cpu"
                ],
                "properties": {
                  "source": {
                    "type": "string",
                    "description": "`hwmon` (`/sys/class/hwmon/*/temp*_input`) or `thermal` (`/sys/class/thermal/thermal_zone*/temp`).",
                    "enum": [
                      "hwmon",
                      "thermal"
                    ]
                  },
                  "chip": {
                    "type": "string",
                    "description": "hwmon chip `name` (e.g. `coretemp`, `k10temp`) or thermal zone `type` (e.g. `x86_pkg_temp`)."
                  },
                  "label": {
                    "type": "string",
                    "description": "`temp*_label` (e.g. `Package id 0`), or the file or zone name when there is no label."
                  },
                  "celsius": {
                    "type": "number",
                    "description": "Temperature in °C (the kernel's millidegrees / 1000)."
                  },
                  "cpu": {
                    "type": "boolean",
                    "description": "True for a CPU sensor (hwmon chips coretemp, k10temp, zenpower, cpu_thermal, soc_thermal, k8temp, via_cputemp; thermal zones x86_pkg_temp, soc*, *cpu*)."
                  }
                }
              },
              "SystemInfo": {
                "type": "object",
                "description": "The specification's \"System Information\" (`cpu`, `memory`, `network`, `system`) plus `disks`, `temperatures`, `load` and `pressure`.",
                "additionalProperties": false,
                "required": [
                  "cpu",
                  "memory",
                  "network",
                  "system",
                  "disks",
                  "temperatures",
                  "load",
                  "pressure"
                ],
                "properties": {
                  "cpu": {
                    "anyOf": [
                      {
                        "$ref": "#/components/schemas/CPU"
                      },
                      {
                        "type": "null"
                      }
                    ],
                    "description": "CPU usage and identity; null until the cpu collector has reported."
                  },
                  "memory": {
                    "anyOf": [
                      {
                        "$ref": "#/components/schemas/Memory"
                      },
                      {
                        "type": "null"
                      }
                    ],
                    "description": "Memory; null until the memory collector has reported."
                  },
                  "network": {
                    "anyOf": [
                      {
                        "$ref": "#/components/schemas/Network"
                      },
                      {
                        "type": "null"
                      }
                    ],
                    "description": "Network interfaces; null until the network collector has reported."
                  },
                  "system": {
                    "$ref": "#/components/schemas/System",
                    "description": "Host identity and uptime."
                  },
                  "disks": {
                    "type": [
                      "array",
                      "null"
                    ],
                    "description": "Every real filesystem from `/proc/self/mountinfo` + `statvfs(3)`; null until the disk collector has reported.",
                    "items": {
                      "$ref": "#/components/schemas/Filesystem"
                    }
                  },
                  "temperatures": {
                    "type": [
                      "array",
                      "null"
                    ],
                    "description": "Every readable temperature sensor (empty on hosts without any); null until the temperature collector has reported.",
                    "items": {
                      "$ref": "#/components/schemas/Sensor"
                    }
                  },
                  "load": {
                    "anyOf": [
                      {
                        "$ref": "#/components/schemas/LoadAverage"
                      },
                      {
                        "type": "null"
                      }
                    ],
                    "description": "Load averages from `/proc/loadavg` (the same object as `system_health.load_average`); null until the load collector has reported."
                  },
                  "pressure": {
                    "anyOf": [
                      {
                        "$ref": "#/components/schemas/Pressure"
                      },
                      {
                        "type": "null"
                      }
                    ],
                    "description": "Pressure stall information from `/proc/pressure/{cpu,memory,io}`; null until the pressure collector has reported, and on kernels without PSI (before 4.20, `CONFIG_PSI=n` or booted with `psi=0`)."
                  }
                }
              },
              "Pressure": {
                "type": "object",
                "description": "Pressure stall information (PSI) of the host, one object per `/proc/pressure` file; a resource whose file could not be read is null.",
                "additionalProperties": false,
                "required": [
                  "cpu",
                  "memory",
                  "io"
                ],
                "properties": {
                  "cpu": {
                    "anyOf": [
                      {
                        "$ref": "#/components/schemas/PressureResource"
                      },
                      {
                        "type": "null"
                      }
                    ],
                    "description": "`/proc/pressure/cpu`."
                  },
                  "memory": {
                    "anyOf": [
                      {
                        "$ref": "#/components/schemas/PressureResource"
                      },
                      {
                        "type": "null"
                      }
                    ],
                    "description": "`/proc/pressure/memory`."
                  },
                  "io": {
                    "anyOf": [
                      {
                        "$ref": "#/components/schemas/PressureResource"
                      },
                      {
                        "type": "null"
                      }
                    ],
                    "description": "`/proc/pressure/io`."
                  }
                }
              },
              "PressureResource": {
                "type": "object",
                "description": "The `some` and `full` lines of one `/proc/pressure` file.",
                "additionalProperties": false,
                "required": [
                  "some",
                  "full"
                ],
                "properties": {
                  "some": {
                    "anyOf": [
                      {
                        "$ref": "#/components/schemas/PressureLine"
                      },
                      {
                        "type": "null"
                      }
                    ],
                    "description": "Time at least one task was stalled on the resource; null when the line is missing or malformed."
                  },
                  "full": {
                    "anyOf": [
                      {
                        "$ref": "#/components/schemas/PressureLine"
                      },
                      {
                        "type": "null"
                      }
                    ],
                    "description": "Time all non-idle tasks were stalled on the resource at once; null where the kernel does not report it (`cpu` before Linux 5.13), never 0 in its place."
                  }
                }
              },
              "PressureLine": {
                "type": "object",
                "description": "One PSI line: `some avg10=1.53 avg60=0.87 avg300=0.36 total=1151616499`.",
                "additionalProperties": false,
                "required": [
                  "avg10",
                  "avg60",
                  "avg300",
                  "total_seconds"
                ],
                "properties": {
                  "avg10": {
                    "type": "number",
                    "description": "Share of wall time stalled, in percent, averaged by the kernel over 10 seconds.",
                    "minimum": 0,
                    "maximum": 100
                  },
                  "avg60": {
                    "type": "number",
                    "description": "The same over 60 seconds.",
                    "minimum": 0,
                    "maximum": 100
                  },
                  "avg300": {
                    "type": "number",
                    "description": "The same over 300 seconds.",
                    "minimum": 0,
                    "maximum": 100
                  },
                  "total_seconds": {
                    "type": "number",
                    "description": "Total stall time since boot in seconds (the kernel's `total`, in microseconds, divided by 10^6); a counter.",
                    "minimum": 0
                  }
                }
              },
              "Collector": {
                "type": "object",
                "description": "Supervisor state of one collector or plugin.",
                "additionalProperties": false,
                "required": [
                  "name",
                  "kind",
                  "core",
                  "status",
                  "restarts",
                  "consecutive_failures",
                  "last_error",
                  "last_error_at",
                  "started_at",
                  "next_restart_at",
                  "interval_seconds",
                  "timeout_seconds",
                  "last_collection_at",
                  "last_duration_seconds",
                  "last_success",
                  "collections",
                  "failures",
                  "timeouts"
                ],
                "properties": {
                  "name": {
                    "type": "string",
                    "description": "The collector's id, e.g. `cpu`, `memory`, `disk`, `load`, `uptime`, `network`, `temperature`, `host`."
                  },
                  "kind": {
                    "type": "string",
                    "description": "`collector` or `plugin`.",
                    "enum": [
                      "collector",
                      "plugin"
                    ]
                  },
                  "core": {
                    "type": "boolean",
                    "description": "Core collectors make `/api/v1/health` unhealthy (and `status-simple` critical) when they are `failed`."
                  },
                  "status": {
                    "type": "string",
                    "description": "`starting` (not started yet), `running`, `restarting` (failed, waiting for its backoff), `failed` (crash loop: not restarted until a reload), `disabled` (by configuration), `stopped` (ended with the agent).",
                    "enum": [
                      "starting",
                      "running",
                      "restarting",
                      "failed",
                      "disabled",
                      "stopped"
                    ]
                  },
                  "restarts": {
                    "type": "integer",
                    "description": "Restarts by the supervisor since the agent started.",
                    "minimum": 0
                  },
                  "consecutive_failures": {
                    "type": "integer",
                    "description": "Failures in a row without a stable run in between.",
                    "minimum": 0
                  },
                  "last_error": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "Description of the last error (a collection that threw or timed out, or a crash); null if none."
                  },
                  "last_error_at": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "When the last error happened; null if none. RFC 3339 in UTC with nine fractional digits, e.g. `2025-09-03T09:06:55.757303636+00:00`.",
                    "format": "date-time",
                    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}\\+00:00$"
                  },
                  "started_at": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "When the collector was (re)started last; null before its first start. RFC 3339 in UTC with nine fractional digits, e.g. `2025-09-03T09:06:55.757303636+00:00`.",
                    "format": "date-time",
                    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}\\+00:00$"
                  },
                  "next_restart_at": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "When a `restarting` collector will be started again; null otherwise. RFC 3339 in UTC with nine fractional digits, e.g. `2025-09-03T09:06:55.757303636+00:00`.",
                    "format": "date-time",
                    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}\\+00:00$"
                  },
                  "interval_seconds": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "Collection interval in seconds (`agent.interval`, default 30, or `[collectors.<id>] interval`); null for a child without one.",
                    "minimum": 0
                  },
                  "timeout_seconds": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "Collection deadline in seconds; a collection that exceeds it is abandoned and counted in `timeouts`.",
                    "minimum": 0
                  },
                  "last_collection_at": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "When the last collection (successful or not) was taken; null before the first. RFC 3339 in UTC with nine fractional digits, e.g. `2025-09-03T09:06:55.757303636+00:00`.",
                    "format": "date-time",
                    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}\\+00:00$"
                  },
                  "last_duration_seconds": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "Duration of the last collection in seconds, rounded to 6 decimals.",
                    "minimum": 0
                  },
                  "last_success": {
                    "type": [
                      "boolean",
                      "null"
                    ],
                    "description": "Whether the last collection succeeded; null before the first."
                  },
                  "collections": {
                    "type": "integer",
                    "description": "Collections that succeeded (including those that had no data).",
                    "minimum": 0
                  },
                  "failures": {
                    "type": "integer",
                    "description": "Collections that threw or timed out.",
                    "minimum": 0
                  },
                  "timeouts": {
                    "type": "integer",
                    "description": "Collections abandoned at their deadline (also counted in `failures`).",
                    "minimum": 0
                  }
                }
              },
              "Status": {
                "type": "object",
                "description": "`GET /api/v1/status`: the specification's full status.",
                "additionalProperties": false,
                "required": [
                  "timestamp",
                  "system_health",
                  "services",
                  "containers",
                  "system_info",
                  "collectors",
                  "plugins",
                  "alerts",
                  "storage"
                ],
                "properties": {
                  "timestamp": {
                    "type": "string",
                    "description": "When the data was collected (the latest collection). RFC 3339 in UTC with nine fractional digits, e.g. `2025-09-03T09:06:55.757303636+00:00`.",
                    "format": "date-time",
                    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}\\+00:00$"
                  },
                  "system_health": {
                    "$ref": "#/components/schemas/SystemHealth"
                  },
                  "services": {
                    "type": "array",
                    "description": "Every tracked service (the specification's `name`, `status`, `pid` and the agent's additions), as `GET /api/v1/services` lists them; empty before the first collection of the services collector or when it is disabled.",
                    "items": {
                      "$ref": "#/components/schemas/Service"
                    }
                  },
                  "containers": {
                    "type": "array",
                    "description": "Containers; always an empty array until the containers collector lands (its items will then be documented here).",
                    "items": {},
                    "maxItems": 0
                  },
                  "system_info": {
                    "$ref": "#/components/schemas/SystemInfo"
                  },
                  "collectors": {
                    "type": "array",
                    "description": "Supervisor state of every collector, in start order.",
                    "items": {
                      "$ref": "#/components/schemas/Collector"
                    }
                  },
                  "plugins": {
                    "type": "array",
                    "description": "Every plugin of `plugins.d`, in name order (`GET /api/v1/plugins` has the details).",
                    "items": {
                      "$ref": "#/components/schemas/PluginSummary"
                    }
                  },
                  "alerts": {
                    "$ref": "#/components/schemas/AlertSummary"
                  },
                  "storage": {
                    "$ref": "#/components/schemas/Storage"
                  }
                }
              },
              "Storage": {
                "type": "object",
                "description": "The condition of the agent's databases. A damaged database (not a database, or failing `PRAGMA quick_check`, or reporting corruption) is moved aside as `<file>.corrupt-<time>` with its `-wal` and `-shm` and a new one started, which `reason` says while `status` is `ok`.",
                "additionalProperties": false,
                "required": [
                  "history",
                  "audit"
                ],
                "properties": {
                  "history": {
                    "$ref": "#/components/schemas/StorageCondition"
                  },
                  "audit": {
                    "$ref": "#/components/schemas/StorageCondition"
                  }
                }
              },
              "StorageCondition": {
                "type": "object",
                "description": "One database: `history.db` (samples, rollups, incidents) or `audit.sqlite` (the audit log).",
                "additionalProperties": false,
                "required": [
                  "status",
                  "reason"
                ],
                "properties": {
                  "status": {
                    "type": "string",
                    "description": "`ok`; `degraded` when writes fail (a full disk, an I/O error: history stays buffered, up to a bound; commands are refused); `unavailable` when it cannot be opened (retried; history routes answer 503 `storage_unavailable`, commands are refused); `disabled` when turned off in the configuration.",
                    "enum": [
                      "ok",
                      "degraded",
                      "unavailable",
                      "disabled"
                    ]
                  },
                  "reason": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "Why, when not ok; with `ok`, a damaged file moved aside and where it went. null otherwise."
                  }
                }
              },
              "SimpleStatus": {
                "type": "object",
                "description": "`GET /api/v1/status-simple`: a small object for load balancers and cheap polls.",
                "additionalProperties": false,
                "required": [
                  "status",
                  "timestamp",
                  "cpu_usage_percent",
                  "memory_usage_percent",
                  "disk_usage_percent",
                  "load_percent",
                  "reasons"
                ],
                "properties": {
                  "status": {
                    "type": "string",
                    "description": "The thresholds are the alert rules' (`[alerts.cpu]`, `[alerts.memory]`, `[alerts.disk]`, `[alerts.load]`, per CPU with `per_core`; a rule switched off is not judged); the defaults are shown. `critical` when a figure is at or above its critical threshold (cpu 95, memory 95, disk 95 percent, 1-minute load 5.0) or a core collector failed; `degraded` when a figure is at or above its warning threshold (cpu 80, memory 85, disk 85 percent, 1-minute load 2.0) or a collector is restarting or failed, or a database is degraded or unavailable (`reasons` has `history storage degraded: …`); `starting` before the first collection; else `healthy`.",
                    "enum": [
                      "healthy",
                      "degraded",
                      "critical",
                      "starting"
                    ]
                  },
                  "timestamp": {
                    "type": "string",
                    "description": "When the data was collected (the latest collection). RFC 3339 in UTC with nine fractional digits, e.g. `2025-09-03T09:06:55.757303636+00:00`.",
                    "format": "date-time",
                    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}\\+00:00$"
                  },
                  "cpu_usage_percent": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "Same as `system_health.cpu_usage_percent`.",
                    "minimum": 0,
                    "maximum": 100
                  },
                  "memory_usage_percent": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "Same as `system_health.memory_usage_percent`.",
                    "minimum": 0,
                    "maximum": 100
                  },
                  "disk_usage_percent": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "Same as `system_health.disk_usage_percent` (the root filesystem).",
                    "minimum": 0,
                    "maximum": 100
                  },
                  "load_percent": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "1-minute load average per online CPU in percent (one_minute / cores × 100, rounded to 2 decimals; 100 = every CPU busy on average, can exceed 100); null until load and cpu have reported.",
                    "minimum": 0
                  },
                  "reasons": {
                    "type": "array",
                    "description": "Why the status is not `healthy`, e.g. `cpu_usage_percent 97.2 >= 95.0` or `collector disk failed`; empty when healthy.",
                    "items": {
                      "type": "string"
                    }
                  }
                }
              },
              "Collectors": {
                "type": "object",
                "description": "`GET /api/v1/collectors`.",
                "additionalProperties": false,
                "required": [
                  "collectors"
                ],
                "properties": {
                  "collectors": {
                    "type": "array",
                    "description": "Supervisor state of every collector, in start order.",
                    "items": {
                      "$ref": "#/components/schemas/Collector"
                    }
                  }
                }
              },
              "PluginService": {
                "type": "object",
                "description": "The last report a plugin made about one service (a `service` message).",
                "additionalProperties": false,
                "required": [
                  "name",
                  "state",
                  "message",
                  "reported_at"
                ],
                "properties": {
                  "name": {
                    "type": "string",
                    "description": "The service's name as the plugin reports it."
                  },
                  "state": {
                    "type": "string",
                    "description": "The service's state.",
                    "enum": [
                      "active",
                      "inactive",
                      "failed",
                      "activating",
                      "deactivating",
                      "unknown"
                    ]
                  },
                  "message": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "The plugin's free-text detail; null if none."
                  },
                  "reported_at": {
                    "type": "string",
                    "description": "When the plugin reported it. RFC 3339 in UTC with nine fractional digits, e.g. `2025-09-03T09:06:55.757303636+00:00`.",
                    "format": "date-time",
                    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}\\+00:00$"
                  }
                }
              },
              "Plugin": {
                "type": "object",
                "description": "One plugin of `plugins.d`: its manifest, its supervisor state and what it wrote (docs/plugin-protocol.md).",
                "additionalProperties": false,
                "required": [
                  "name",
                  "status",
                  "disabled_reason",
                  "manifest",
                  "command",
                  "mode",
                  "interval_seconds",
                  "timeout_seconds",
                  "restarts",
                  "consecutive_failures",
                  "last_error",
                  "last_error_at",
                  "started_at",
                  "next_restart_at",
                  "last_exit",
                  "protocol_version",
                  "plugin_version",
                  "pid",
                  "valid_lines",
                  "bad_lines",
                  "rejected_samples",
                  "ignored_fields",
                  "ignored_messages",
                  "log_rate_limited",
                  "samples",
                  "batches",
                  "samples_per_second",
                  "last_sample_at",
                  "last_collection_at",
                  "last_duration_seconds",
                  "collections",
                  "timeouts",
                  "recent_rejections",
                  "services",
                  "series",
                  "max_series"
                ],
                "properties": {
                  "name": {
                    "type": "string",
                    "description": "The plugin's name (`name` in its manifest)."
                  },
                  "status": {
                    "type": "string",
                    "description": "`starting` (not started yet), `running`, `restarting` (ended, waiting for its backoff), `disabled` (see `disabled_reason`), `stopped` (ended with the agent).",
                    "enum": [
                      "starting",
                      "running",
                      "restarting",
                      "disabled",
                      "stopped"
                    ]
                  },
                  "disabled_reason": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "Why it is disabled: `enabled = false` in its manifest, a crash loop (`crash loop: 6 failures in a row; last: …`), a refused protocol version, or its own `disable` message; null when not disabled."
                  },
                  "manifest": {
                    "type": "string",
                    "description": "The manifest file."
                  },
                  "command": {
                    "type": "array",
                    "description": "argv as written in the manifest.",
                    "items": {
                      "type": "string"
                    }
                  },
                  "mode": {
                    "type": "string",
                    "description": "`poll` (the agent sends `collect` each interval) or `stream` (the plugin pushes).",
                    "enum": [
                      "poll",
                      "stream"
                    ]
                  },
                  "interval_seconds": {
                    "type": "number",
                    "description": "Collection interval in seconds.",
                    "minimum": 0
                  },
                  "timeout_seconds": {
                    "type": "number",
                    "description": "Deadline of a poll reply and of the hello, in seconds.",
                    "minimum": 0
                  },
                  "restarts": {
                    "type": "integer",
                    "description": "Restarts since the agent started (or since the plugin was last enabled or changed).",
                    "minimum": 0
                  },
                  "consecutive_failures": {
                    "type": "integer",
                    "description": "Ends in a row without a stable run in between.",
                    "minimum": 0
                  },
                  "last_error": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "Why the last run ended, e.g. `no reply to collect 7 within 10s; stopped`, `exited with status 1 before producing a valid line after 12ms`; null if none."
                  },
                  "last_error_at": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "When the last run ended with an error; null if none. RFC 3339 in UTC with nine fractional digits, e.g. `2025-09-03T09:06:55.757303636+00:00`.",
                    "format": "date-time",
                    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}\\+00:00$"
                  },
                  "started_at": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "When the plugin was (re)started last; null before its first start. RFC 3339 in UTC with nine fractional digits, e.g. `2025-09-03T09:06:55.757303636+00:00`.",
                    "format": "date-time",
                    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}\\+00:00$"
                  },
                  "next_restart_at": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "When a `restarting` plugin will be started again; null otherwise. RFC 3339 in UTC with nine fractional digits, e.g. `2025-09-03T09:06:55.757303636+00:00`.",
                    "format": "date-time",
                    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}\\+00:00$"
                  },
                  "last_exit": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "How the last run ended, with the exit status or signal, e.g. `exited with status 3 before producing a valid line after 5ms; last stderr: …` or `no hello within 10s; stopped (killed by signal 15 (SIGTERM))`; null before the first end."
                  },
                  "protocol_version": {
                    "type": [
                      "integer",
                      "null"
                    ],
                    "description": "Protocol major version from the plugin's last hello; null before the first hello.",
                    "minimum": 0
                  },
                  "plugin_version": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "`version` from the plugin's last hello; null if it sent none."
                  },
                  "pid": {
                    "type": [
                      "integer",
                      "null"
                    ],
                    "description": "Process id of the running plugin; null when not running.",
                    "minimum": 0
                  },
                  "valid_lines": {
                    "type": "integer",
                    "description": "Lines of output that decoded to a message.",
                    "minimum": 0
                  },
                  "bad_lines": {
                    "type": "object",
                    "description": "Rejected lines by reason: `line_too_long`, `invalid_utf8`, `invalid_json`, `not_an_object`, `missing_type`, `invalid_message`, `before_hello`, `duplicate_hello`, `unexpected_id`, `missing_id`, `invalid_timestamp` (a `timestamp_ms` older than the history retention or more than 5 minutes ahead of the agent's clock), `out_of_order` (a `timestamp_ms` older than the plugin's previous one), `rate_limited` (lines beyond the manifest's `max_messages_per_second`, dropped unread).",
                    "additionalProperties": {
                      "type": "integer",
                      "minimum": 0
                    }
                  },
                  "rejected_samples": {
                    "type": "object",
                    "description": "Samples dropped from otherwise valid `metrics` messages, by reason: `invalid_sample`, `invalid_name`, `reserved_name`, `invalid_value`, `non_finite_value`, `invalid_kind`, `negative_counter`, `invalid_label`, `invalid_timestamp`, `series_limit` (a new series beyond the manifest's `max_series`).",
                    "additionalProperties": {
                      "type": "integer",
                      "minimum": 0
                    }
                  },
                  "ignored_fields": {
                    "type": "integer",
                    "description": "Unknown members of known messages (ignored, for forward compatibility).",
                    "minimum": 0
                  },
                  "ignored_messages": {
                    "type": "integer",
                    "description": "Messages of unknown types (ignored, for forward compatibility).",
                    "minimum": 0
                  },
                  "log_rate_limited": {
                    "type": "integer",
                    "description": "`log` messages and stderr lines not logged because of the rate limit (100 per second).",
                    "minimum": 0
                  },
                  "samples": {
                    "type": "integer",
                    "description": "Samples delivered.",
                    "minimum": 0
                  },
                  "batches": {
                    "type": "integer",
                    "description": "`metrics` messages accepted.",
                    "minimum": 0
                  },
                  "samples_per_second": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "Samples per second over the last minute; null before two batches.",
                    "minimum": 0
                  },
                  "last_sample_at": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "When the plugin last delivered samples; null before the first. RFC 3339 in UTC with nine fractional digits, e.g. `2025-09-03T09:06:55.757303636+00:00`.",
                    "format": "date-time",
                    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}\\+00:00$"
                  },
                  "last_collection_at": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "Poll mode: when the last collect was answered or timed out; null before the first. RFC 3339 in UTC with nine fractional digits, e.g. `2025-09-03T09:06:55.757303636+00:00`.",
                    "format": "date-time",
                    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}\\+00:00$"
                  },
                  "last_duration_seconds": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "Poll mode: round trip of the last collect in seconds, rounded to 6 decimals; null before the first.",
                    "minimum": 0
                  },
                  "collections": {
                    "type": "integer",
                    "description": "Poll mode: collects answered in time.",
                    "minimum": 0
                  },
                  "timeouts": {
                    "type": "integer",
                    "description": "Poll mode: collects not answered within the timeout.",
                    "minimum": 0
                  },
                  "recent_rejections": {
                    "type": "array",
                    "description": "The last rejections (at most 10), newest last, e.g. `line 3: invalid_json: expected ':' at byte 12`.",
                    "items": {
                      "type": "string"
                    }
                  },
                  "services": {
                    "type": "array",
                    "description": "The last report of each service the plugin watches, by name.",
                    "items": {
                      "$ref": "#/components/schemas/PluginService"
                    }
                  },
                  "series": {
                    "type": "integer",
                    "description": "Distinct series (name and labels) the plugin reported within `[history] series_idle_timeout`; never more than `max_series`.",
                    "minimum": 0
                  },
                  "max_series": {
                    "type": [
                      "integer",
                      "null"
                    ],
                    "description": "The manifest's `max_series` (default `[plugins] max_series_per_plugin`, 1000): samples of further new series are dropped and counted in `rejected_samples.series_limit`.",
                    "minimum": 1
                  }
                }
              },
                "Service": {
                  "type": "object",
                  "description": "One tracked service. `name`, `status` and `pid` are the specification's; the rest is added.",
                  "additionalProperties": false,
                  "required": [
                    "name",
                    "status",
                    "pid",
                    "unit",
                    "load_state",
                    "active_state",
                    "sub_state",
                    "since",
                    "restarts",
                    "cpu_percent",
                    "memory_bytes",
                    "pss_bytes",
                    "process_count",
                    "probe",
                    "discovered",
                    "critical",
                    "source",
                    "reason"
                  ],
                  "properties": {
                    "name": {
                      "type": "string",
                      "description": "The configured name (`sshd`, `nginx`, `postgres`, …) or, for a discovered server, its well-known name."
                    },
                    "status": {
                      "type": "string",
                      "enum": [
                        "running",
                        "stopped",
                        "error",
                        "unresponsive",
                        "unknown"
                      ],
                      "description": "`running`: active (systemd) or a matching process is alive, and the probe (if any) answers. `stopped`: inactive, not installed (`load_state` `not-found`) or no process. `error`: the unit failed, restarts in a loop (`auto-restart`), or the main process is a zombie. `unresponsive`: running but the probe failed. `unknown`: D-Bus failed and no process was found."
                    },
                    "pid": {
                      "type": [
                        "integer",
                        "null"
                      ],
                      "description": "The main process: systemd `MainPID`, else the oldest matching process whose parent is not a match; null when not running."
                    },
                    "unit": {
                      "type": [
                        "string",
                        "null"
                      ],
                      "description": "The systemd unit that represents the service (`ssh.service`, `postgresql@15-main.service`); null without systemd."
                    },
                    "load_state": {
                      "type": [
                        "string",
                        "null"
                      ],
                      "description": "systemd `LoadState` (`loaded`, `not-found`, `masked`, …)."
                    },
                    "active_state": {
                      "type": [
                        "string",
                        "null"
                      ],
                      "description": "systemd `ActiveState` (`active`, `inactive`, `failed`, `activating`, …)."
                    },
                    "sub_state": {
                      "type": [
                        "string",
                        "null"
                      ],
                      "description": "systemd `SubState` (`running`, `dead`, `exited`, `auto-restart`, …)."
                    },
                    "since": {
                      "type": [
                        "string",
                        "null"
                      ],
                      "description": "When the unit entered its state (`StateChangeTimestamp`), or when the main process started (`starttime` of /proc/PID/stat); RFC 3339 UTC.",
                      "format": "date-time"
                    },
                    "restarts": {
                      "type": [
                        "integer",
                        "null"
                      ],
                      "description": "systemd `NRestarts`: automatic restarts of the unit."
                    },
                    "cpu_percent": {
                      "type": [
                        "number",
                        "null"
                      ],
                      "description": "Percent of one CPU (may exceed 100 on several CPUs) over the last interval: from the cgroup's `cpu.stat` `usage_usec` under systemd (dead children included), else from `utime + stime` deltas of the service's processes. Null on the first collection and when stopped."
                    },
                    "memory_bytes": {
                      "type": [
                        "integer",
                        "null"
                      ],
                      "description": "Resident memory in bytes: cgroup `memory.current` minus page cache (`memory.stat` `file`), else the sum of RSS over the service's processes. Null when stopped."
                    },
                    "pss_bytes": {
                      "type": [
                        "integer",
                        "null"
                      ],
                      "description": "Proportional set size: the sum of `Pss` of /proc/PID/smaps_rollup over the processes, where readable."
                    },
                    "process_count": {
                      "type": "integer",
                      "minimum": 0,
                      "description": "Processes of the service (cgroup members, or the matches and their descendants)."
                    },
                    "probe": {
                      "oneOf": [
                        {
                          "$ref": "#/components/schemas/ServiceProbe"
                        },
                        {
                          "type": "null"
                        }
                      ],
                      "description": "The last probe; null when the service has none or is not running."
                    },
                    "discovered": {
                      "type": "boolean",
                      "description": "Found by auto-discovery rather than configured."
                    },
                    "critical": {
                      "type": "boolean",
                      "description": "A critical service (the specification's `critical_services`)."
                    },
                    "source": {
                      "type": "string",
                      "enum": [
                        "systemd",
                        "proc"
                      ],
                      "description": "Where the state came from."
                    },
                    "reason": {
                      "type": [
                        "string",
                        "null"
                      ],
                      "description": "Why the status is `error`, `unresponsive`, `unknown`, or a `stopped` unit is not installed."
                    }
                  }
                },
                "ServiceProbe": {
                  "type": "object",
                  "description": "One responsiveness probe.",
                  "additionalProperties": false,
                  "required": [
                    "kind",
                    "target",
                    "ok",
                    "duration_seconds",
                    "detail"
                  ],
                  "properties": {
                    "kind": {
                      "type": "string",
                      "enum": [
                        "tcp",
                        "http",
                        "redis",
                        "postgres"
                      ],
                      "description": "TCP connect; HTTP GET (status < 500 answers); Redis `PING` → `+PONG`; PostgreSQL `SSLRequest` → `S` or `N`."
                    },
                    "target": {
                      "type": "string",
                      "description": "`host:port` probed."
                    },
                    "ok": {
                      "type": "boolean",
                      "description": "True when the service answered as expected."
                    },
                    "duration_seconds": {
                      "type": [
                        "number",
                        "null"
                      ],
                      "description": "Seconds from the connect to the verdict."
                    },
                    "detail": {
                      "type": "string",
                      "description": "What was seen (`HTTP 200`, `+PONG`, `connected`) or why it failed (`connection refused`, `no answer within 2.0 s`)."
                    }
                  }
                },
                "Services": {
                  "type": "object",
                  "additionalProperties": false,
                  "required": [
                    "timestamp",
                    "source",
                    "bus_error",
                    "services"
                  ],
                  "properties": {
                    "timestamp": {
                      "type": "string",
                      "format": "date-time",
                      "description": "Time of the newest collection of any collector."
                    },
                    "source": {
                      "type": [
                        "string",
                        "null"
                      ],
                      "description": "`systemd` or `proc`; null before the first collection.",
                      "enum": [
                        "systemd",
                        "proc",
                        null
                      ]
                    },
                    "bus_error": {
                      "type": [
                        "string",
                        "null"
                      ],
                      "description": "Why D-Bus was not used (the call failed or timed out); the states then come from /proc."
                    },
                    "services": {
                      "type": "array",
                      "description": "Configured services in configuration order, then discovered ones.",
                      "items": {
                        "$ref": "#/components/schemas/Service"
                      }
                    }
                  }
                },
                "Process": {
                  "type": "object",
                  "additionalProperties": false,
                  "required": [
                    "pid",
                    "ppid",
                    "name",
                    "command",
                    "state",
                    "uid",
                    "cpu_percent",
                    "memory_bytes",
                    "threads",
                    "started_at"
                  ],
                  "properties": {
                    "pid": {
                      "type": "integer",
                      "description": "Process id."
                    },
                    "ppid": {
                      "type": "integer",
                      "description": "Parent process id."
                    },
                    "name": {
                      "type": "string",
                      "description": "`comm` (at most 15 bytes)."
                    },
                    "command": {
                      "type": "string",
                      "description": "/proc/PID/cmdline, arguments joined by spaces, at most 512 bytes; empty for kernel threads and zombies. Secrets are masked for every role: the value of an argument whose name contains password, passwd, pass, pwd, token, secret, key, credential or auth (`--db-password=***`, `--token ***`, `PASSWORD=***`) and the password of a URL (`postgres://app:***@db/x`) read `***`."
                    },
                    "state": {
                      "type": "string",
                      "description": "State letter of /proc/PID/stat (R, S, D, Z, T, I, …)."
                    },
                    "uid": {
                      "type": [
                        "integer",
                        "null"
                      ],
                      "description": "Real user id."
                    },
                    "cpu_percent": {
                      "type": [
                        "number",
                        "null"
                      ],
                      "description": "Percent of one CPU over the last interval; null for a process seen for the first time."
                    },
                    "memory_bytes": {
                      "type": "integer",
                      "description": "Resident set size in bytes."
                    },
                    "threads": {
                      "type": "integer",
                      "description": "`num_threads`."
                    },
                    "started_at": {
                      "type": [
                        "string",
                        "null"
                      ],
                      "description": "Start time (btime + starttime), RFC 3339 UTC.",
                      "format": "date-time"
                    }
                  }
                },
                "Processes": {
                  "type": "object",
                  "additionalProperties": false,
                  "required": [
                    "timestamp",
                    "total",
                    "threads",
                    "by_state",
                    "top_cpu",
                    "top_memory"
                  ],
                  "properties": {
                    "timestamp": {
                      "type": "string",
                      "format": "date-time",
                      "description": "Time of the processes collection."
                    },
                    "total": {
                      "type": "integer",
                      "description": "Processes listed in /proc."
                    },
                    "threads": {
                      "type": "integer",
                      "description": "Threads of all processes."
                    },
                    "by_state": {
                      "type": "object",
                      "additionalProperties": {
                        "type": "integer"
                      },
                      "description": "Processes by state letter."
                    },
                    "top_cpu": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/Process"
                      },
                      "description": "Highest CPU first (`[collectors.processes] top`, default 10)."
                    },
                    "top_memory": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/Process"
                      },
                      "description": "Largest RSS first."
                    }
                  }
                },
                "ServiceAction": {
                  "type": "object",
                  "description": "A service action's outcome.",
                  "additionalProperties": false,
                  "required": [
                    "service",
                    "unit",
                    "action",
                    "job",
                    "active_state",
                    "sub_state",
                    "pid",
                    "completed",
                    "duration_seconds",
                    "audit_id"
                  ],
                  "properties": {
                    "service": {
                      "type": "string",
                      "description": "The service's name."
                    },
                    "unit": {
                      "type": "string",
                      "description": "Its systemd unit."
                    },
                    "action": {
                      "type": "string",
                      "enum": [
                        "start",
                        "stop",
                        "restart"
                      ],
                      "description": "What was asked."
                    },
                    "job": {
                      "type": "string",
                      "description": "systemd's job object path."
                    },
                    "active_state": {
                      "type": "string",
                      "description": "`ActiveState` after the job."
                    },
                    "sub_state": {
                      "type": "string",
                      "description": "`SubState` after the job."
                    },
                    "pid": {
                      "type": [
                        "integer",
                        "null"
                      ],
                      "description": "`MainPID` after the job."
                    },
                    "completed": {
                      "type": "boolean",
                      "description": "The unit settled in the expected state within 30 s."
                    },
                    "duration_seconds": {
                      "type": "number",
                      "description": "From the request to the settled state."
                    },
                    "audit_id": {
                      "type": [
                        "integer",
                        "null"
                      ],
                      "description": "The `service.start` audit record."
                    }
                  }
                },
                "CommandRequest": {
                  "type": "object",
                  "description": "A command request.",
                  "additionalProperties": false,
                  "required": [
                    "command"
                  ],
                  "properties": {
                    "command": {
                      "type": "string",
                      "description": "The command's id in the allowlist."
                    },
                    "parameters": {
                      "type": "object",
                      "description": "Parameter values (strings, integers or booleans), validated against the command's types.",
                      "additionalProperties": {
                        "type": [
                          "string",
                          "integer",
                          "boolean"
                        ]
                      }
                    },
                    "async": {
                      "type": "boolean",
                      "description": "Answer 202 at once and run in the background."
                    }
                  }
                },
                "CommandRun": {
                  "type": "object",
                  "description": "A command run.",
                  "additionalProperties": false,
                  "required": [
                    "job_id",
                    "command",
                    "status",
                    "argv",
                    "started_at",
                    "exit_code",
                    "signal",
                    "duration_seconds",
                    "stdout",
                    "stderr",
                    "stdout_truncated",
                    "stderr_truncated",
                    "error",
                    "audit_id",
                    "end_audit_id"
                  ],
                  "properties": {
                    "job_id": {
                      "type": "string",
                      "description": "For `GET /api/v1/command/{id}`."
                    },
                    "command": {
                      "type": "string",
                      "description": "The command id."
                    },
                    "status": {
                      "type": "string",
                      "enum": [
                        "running",
                        "completed",
                        "timed_out",
                        "failed"
                      ],
                      "description": "`completed` whatever the exit status; `timed_out`: killed at the timeout; `failed`: could not start."
                    },
                    "argv": {
                      "type": "array",
                      "items": {
                        "type": "string"
                      },
                      "description": "Exactly what ran."
                    },
                    "started_at": {
                      "type": "string",
                      "format": "date-time",
                      "description": "When it was accepted."
                    },
                    "exit_code": {
                      "type": [
                        "integer",
                        "null"
                      ],
                      "description": "Exit status."
                    },
                    "signal": {
                      "type": [
                        "integer",
                        "null"
                      ],
                      "description": "The signal that ended it (9 after a timeout)."
                    },
                    "duration_seconds": {
                      "type": [
                        "number",
                        "null"
                      ],
                      "description": "Run time."
                    },
                    "stdout": {
                      "type": [
                        "string",
                        "null"
                      ],
                      "description": "Captured stdout (non-UTF-8 bytes as \\xNN)."
                    },
                    "stderr": {
                      "type": [
                        "string",
                        "null"
                      ],
                      "description": "Captured stderr."
                    },
                    "stdout_truncated": {
                      "type": [
                        "boolean",
                        "null"
                      ],
                      "description": "More than the cap was written; the rest was dropped."
                    },
                    "stderr_truncated": {
                      "type": [
                        "boolean",
                        "null"
                      ],
                      "description": "Same for stderr."
                    },
                    "error": {
                      "type": [
                        "string",
                        "null"
                      ],
                      "description": "Why it could not start."
                    },
                    "audit_id": {
                      "type": [
                        "integer",
                        "null"
                      ],
                      "description": "The `command.start` audit record."
                    },
                    "end_audit_id": {
                      "type": [
                        "integer",
                        "null"
                      ],
                      "description": "The `command.end` audit record."
                    }
                  }
                },
                "Commands": {
                  "type": "object",
                  "description": "The allowlist.",
                  "additionalProperties": false,
                  "required": [
                    "commands"
                  ],
                  "properties": {
                    "commands": {
                      "type": "array",
                      "description": "Every command.",
                      "items": {
                        "type": "object",
                        "description": "One command.",
                        "additionalProperties": false,
                        "required": [
                          "id",
                          "summary",
                          "executable",
                          "arguments",
                          "parameters",
                          "optional",
                          "timeout_seconds",
                          "max_output_bytes",
                          "user",
                          "group"
                        ],
                        "properties": {
                          "id": {
                            "type": "string",
                            "description": "The id to request."
                          },
                          "summary": {
                            "type": "string",
                            "description": "What it does."
                          },
                          "executable": {
                            "type": "string",
                            "description": "Absolute path."
                          },
                          "arguments": {
                            "type": "array",
                            "items": {
                              "type": "string"
                            },
                            "description": "argv[1…] templates with `{parameter}`."
                          },
                          "parameters": {
                            "type": "object",
                            "additionalProperties": {
                              "type": "string"
                            },
                            "description": "Parameter → its type, in words."
                          },
                          "optional": {
                            "type": "array",
                            "items": {
                              "type": "string"
                            },
                            "description": "Parameters that may be left out."
                          },
                          "timeout_seconds": {
                            "type": "number",
                            "description": "Killed after this."
                          },
                          "max_output_bytes": {
                            "type": "integer",
                            "description": "Cap of stdout and of stderr."
                          },
                          "user": {
                            "type": [
                              "string",
                              "null"
                            ],
                            "description": "Runs as this user."
                          },
                          "group": {
                            "type": [
                              "string",
                              "null"
                            ],
                            "description": "Runs as this group."
                          }
                        }
                      }
                    }
                  }
                },
                "Audit": {
                  "type": "object",
                  "description": "Audit records.",
                  "additionalProperties": false,
                  "required": [
                    "records",
                    "verification"
                  ],
                  "properties": {
                    "records": {
                      "type": "array",
                      "description": "Newest first.",
                      "items": {
                        "$ref": "#/components/schemas/AuditRecord"
                      }
                    },
                    "verification": {
                      "oneOf": [
                        {
                          "type": "null"
                        },
                        {
                          "type": "object",
                          "additionalProperties": false,
                          "required": [
                            "intact",
                            "records",
                            "first_bad_record",
                            "problem"
                          ],
                          "properties": {
                            "intact": {
                              "type": "boolean",
                              "description": "Every record verifies."
                            },
                            "records": {
                              "type": "integer",
                              "description": "Records checked."
                            },
                            "first_bad_record": {
                              "type": [
                                "integer",
                                "null"
                              ],
                              "description": "The first record that does not verify."
                            },
                            "problem": {
                              "type": [
                                "string",
                                "null"
                              ],
                              "description": "Why."
                            }
                          }
                        }
                      ],
                      "description": "With `verify=true`."
                    }
                  }
                },
                "AuditRecord": {
                  "type": "object",
                  "description": "One audit record.",
                  "additionalProperties": false,
                  "required": [
                    "id",
                    "time",
                    "event",
                    "principal",
                    "role",
                    "client_address",
                    "request_id",
                    "action",
                    "argv",
                    "parameters",
                    "outcome",
                    "exit_code",
                    "duration_seconds",
                    "output_sha256",
                    "start_id",
                    "previous_hash",
                    "hash"
                  ],
                  "properties": {
                    "id": {
                      "type": "integer",
                      "description": "1, 2, 3, … in write order."
                    },
                    "time": {
                      "type": "string",
                      "format": "date-time",
                      "description": "When it was written."
                    },
                    "event": {
                      "type": "string",
                      "description": "`command.start`, `command.end`, `service.start`, `service.end`, `recovery.start`, `recovery.end`, `recovery.giveup`, `auth.failure`."
                    },
                    "principal": {
                      "type": [
                        "string",
                        "null"
                      ],
                      "description": "The credential's name."
                    },
                    "role": {
                      "type": [
                        "string",
                        "null"
                      ],
                      "description": "Its role."
                    },
                    "client_address": {
                      "type": [
                        "string",
                        "null"
                      ],
                      "description": "The client's address."
                    },
                    "request_id": {
                      "type": [
                        "string",
                        "null"
                      ],
                      "description": "`X-Request-Id`."
                    },
                    "action": {
                      "type": [
                        "string",
                        "null"
                      ],
                      "description": "Command id or `restart <service>`."
                    },
                    "argv": {
                      "type": [
                        "array",
                        "null"
                      ],
                      "items": {
                        "type": "string"
                      },
                      "description": "The exact argv (start records of commands)."
                    },
                    "parameters": {
                      "type": [
                        "object",
                        "null"
                      ],
                      "additionalProperties": {
                        "type": "string"
                      },
                      "description": "The validated parameters."
                    },
                    "outcome": {
                      "type": [
                        "string",
                        "null"
                      ],
                      "description": "`ok`, `exit N`, `signal N`, `timeout`, `failed: …` (end records)."
                    },
                    "exit_code": {
                      "type": [
                        "integer",
                        "null"
                      ],
                      "description": "Exit status."
                    },
                    "duration_seconds": {
                      "type": [
                        "number",
                        "null"
                      ],
                      "description": "Run time."
                    },
                    "output_sha256": {
                      "type": [
                        "string",
                        "null"
                      ],
                      "description": "SHA-256 of stdout followed by stderr."
                    },
                    "start_id": {
                      "type": [
                        "integer",
                        "null"
                      ],
                      "description": "On an end record: its start record."
                    },
                    "previous_hash": {
                      "type": "string",
                      "description": "SHA-256 of the previous record."
                    },
                    "hash": {
                      "type": "string",
                      "description": "SHA-256 of `previous_hash` and this record's content."
                    }
                  }
                },
                "Logs": {
                  "type": "object",
                  "description": "Journal entries.",
                  "additionalProperties": false,
                  "required": [
                    "units",
                    "entries"
                  ],
                  "properties": {
                    "units": {
                      "type": "array",
                      "items": {
                        "type": "string"
                      },
                      "description": "The units read."
                    },
                    "entries": {
                      "type": "array",
                      "description": "Oldest first.",
                      "items": {
                        "type": "object",
                        "description": "One entry.",
                        "additionalProperties": false,
                        "required": [
                          "time",
                          "unit",
                          "priority",
                          "pid",
                          "identifier",
                          "message",
                          "cursor"
                        ],
                        "properties": {
                          "time": {
                            "type": "string",
                            "format": "date-time",
                            "description": "`__REALTIME_TIMESTAMP`."
                          },
                          "unit": {
                            "type": [
                              "string",
                              "null"
                            ],
                            "description": "`_SYSTEMD_UNIT` or `UNIT`."
                          },
                          "priority": {
                            "type": [
                              "integer",
                              "null"
                            ],
                            "description": "0 (emerg) … 7 (debug)."
                          },
                          "pid": {
                            "type": [
                              "integer",
                              "null"
                            ],
                            "description": "`_PID`."
                          },
                          "identifier": {
                            "type": [
                              "string",
                              "null"
                            ],
                            "description": "`SYSLOG_IDENTIFIER`."
                          },
                          "message": {
                            "type": "string",
                            "description": "`MESSAGE`."
                          },
                          "cursor": {
                            "type": "string",
                            "description": "The entry's journal cursor."
                          }
                        }
                      }
                    }
                  }
                },
              "PluginSummary": {
                "type": "object",
                "description": "One plugin in `/api/v1/status`; `GET /api/v1/plugins/{name}` has the details.",
                "additionalProperties": false,
                "required": [
                  "name",
                  "status",
                  "disabled_reason",
                  "restarts",
                  "last_error",
                  "samples",
                  "bad_lines",
                  "last_sample_at"
                ],
                "properties": {
                  "name": {
                    "type": "string",
                    "description": "The plugin's name."
                  },
                  "status": {
                    "type": "string",
                    "description": "As in `Plugin.status`.",
                    "enum": [
                      "starting",
                      "running",
                      "restarting",
                      "disabled",
                      "stopped"
                    ]
                  },
                  "disabled_reason": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "As in `Plugin.disabled_reason`."
                  },
                  "restarts": {
                    "type": "integer",
                    "description": "Restarts of the plugin.",
                    "minimum": 0
                  },
                  "last_error": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "Why the last run ended; null if none."
                  },
                  "samples": {
                    "type": "integer",
                    "description": "Samples delivered.",
                    "minimum": 0
                  },
                  "bad_lines": {
                    "type": "integer",
                    "description": "Rejected lines, all reasons together.",
                    "minimum": 0
                  },
                  "last_sample_at": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "When the plugin last delivered samples; null before the first. RFC 3339 in UTC with nine fractional digits, e.g. `2025-09-03T09:06:55.757303636+00:00`.",
                    "format": "date-time",
                    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}\\+00:00$"
                  }
                }
              },
              "ManifestError": {
                "type": "object",
                "description": "A manifest that did not load (it is skipped; the other plugins run).",
                "additionalProperties": false,
                "required": [
                  "file",
                  "line",
                  "key",
                  "message"
                ],
                "properties": {
                  "file": {
                    "type": "string",
                    "description": "The manifest file (or the plugins directory)."
                  },
                  "line": {
                    "type": [
                      "integer",
                      "null"
                    ],
                    "description": "1-based line of the problem; null when it has no line.",
                    "minimum": 0
                  },
                  "key": {
                    "type": "string",
                    "description": "The key, e.g. `command` or `restart.max_restarts`; empty for the whole file."
                  },
                  "message": {
                    "type": "string",
                    "description": "What is wrong, e.g. `expected one of poll, stream, got \"pull\"` or `refused: executable … is group- or world-writable`."
                  }
                }
              },
              "Plugins": {
                "type": "object",
                "description": "`GET /api/v1/plugins`.",
                "additionalProperties": false,
                "required": [
                  "plugins",
                  "manifest_errors"
                ],
                "properties": {
                  "plugins": {
                    "type": "array",
                    "description": "Every plugin whose manifest loaded, in name order.",
                    "items": {
                      "$ref": "#/components/schemas/Plugin"
                    }
                  },
                  "manifest_errors": {
                    "type": "array",
                    "description": "Manifests that did not load at the last scan.",
                    "items": {
                      "$ref": "#/components/schemas/ManifestError"
                    }
                  }
                }
              },
              "PluginReload": {
                "type": "object",
                "description": "`POST /api/v1/plugins/reload`: what the rescan of `plugins.d` did.",
                "additionalProperties": false,
                "required": [
                  "added",
                  "removed",
                  "changed",
                  "unchanged",
                  "manifest_errors"
                ],
                "properties": {
                  "added": {
                    "type": "array",
                    "description": "Plugins started because their manifest is new.",
                    "items": {
                      "type": "string"
                    }
                  },
                  "removed": {
                    "type": "array",
                    "description": "Plugins stopped because their manifest is gone (or no longer loads).",
                    "items": {
                      "type": "string"
                    }
                  },
                  "changed": {
                    "type": "array",
                    "description": "Plugins restarted because their manifest or their executable changed.",
                    "items": {
                      "type": "string"
                    }
                  },
                  "unchanged": {
                    "type": "array",
                    "description": "Plugins left running as they were.",
                    "items": {
                      "type": "string"
                    }
                  },
                  "manifest_errors": {
                    "type": "array",
                    "description": "Manifests that did not load.",
                    "items": {
                      "$ref": "#/components/schemas/ManifestError"
                    }
                  }
                }
              },
              "SeriesList": {
                "type": "object",
                "description": "`GET /api/v1/metrics`.",
                "additionalProperties": false,
                "required": [
                  "count",
                  "series"
                ],
                "properties": {
                  "count": {
                    "type": "integer",
                    "description": "Number of series."
                  },
                  "series": {
                    "type": "array",
                    "description": "Every stored series, by key.",
                    "items": {
                      "$ref": "#/components/schemas/SeriesInfo"
                    }
                  }
                }
              },
              "SeriesInfo": {
                "type": "object",
                "description": "One stored series.",
                "additionalProperties": false,
                "required": [
                  "name",
                  "labels",
                  "kind",
                  "key"
                ],
                "properties": {
                  "name": {
                    "type": "string",
                    "description": "Metric name."
                  },
                  "labels": {
                    "type": "object",
                    "description": "The series' labels, name → value (empty for host-wide series).",
                    "additionalProperties": {
                      "type": "string"
                    }
                  },
                  "kind": {
                    "type": "string",
                    "enum": [
                      "gauge",
                      "counter"
                    ],
                    "description": "Gauge or counter."
                  },
                  "key": {
                    "type": "string",
                    "description": "`name{label=\"value\",…}`: unique per series."
                  }
                }
              },
              "MetricHistory": {
                "type": "object",
                "description": "`GET /api/v1/metrics/{name}/history`.",
                "additionalProperties": false,
                "required": [
                  "name",
                  "from",
                  "to",
                  "step",
                  "agg",
                  "tier",
                  "series"
                ],
                "properties": {
                  "name": {
                    "type": "string",
                    "description": "The metric."
                  },
                  "from": {
                    "type": "string",
                    "format": "date-time",
                    "description": "Start of the range."
                  },
                  "to": {
                    "type": "string",
                    "format": "date-time",
                    "description": "End of the range."
                  },
                  "step": {
                    "type": [
                      "integer",
                      "null"
                    ],
                    "description": "Effective bucket width in seconds; null for raw points."
                  },
                  "agg": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "enum": [
                      "avg",
                      "min",
                      "max",
                      "sum",
                      "count",
                      "last",
                      null
                    ],
                    "description": "The aggregate; null for raw points."
                  },
                  "tier": {
                    "type": "string",
                    "enum": [
                      "raw",
                      "minute",
                      "hour"
                    ],
                    "description": "Where the points come from."
                  },
                  "series": {
                    "type": "array",
                    "description": "One entry per matching label set.",
                    "items": {
                      "$ref": "#/components/schemas/SeriesPoints"
                    }
                  }
                }
              },
              "SeriesPoints": {
                "type": "object",
                "description": "The points of one series.",
                "additionalProperties": false,
                "required": [
                  "labels",
                  "points"
                ],
                "properties": {
                  "labels": {
                    "type": "object",
                    "description": "The series' labels, name → value (empty for host-wide series).",
                    "additionalProperties": {
                      "type": "string"
                    }
                  },
                  "points": {
                    "type": "array",
                    "description": "In time order.",
                    "items": {
                      "type": "array",
                      "description": "`[t, value]`: t in Unix seconds (bucket start with a step, else the sample's time, millisecond precision).",
                      "prefixItems": [
                        {
                          "type": "number"
                        },
                        {
                          "type": "number"
                        }
                      ],
                      "minItems": 2,
                      "maxItems": 2
                    }
                  }
                }
              },
              "StatusHistory": {
                "type": "object",
                "description": "`GET /api/v1/history/status`.",
                "additionalProperties": false,
                "required": [
                  "from",
                  "to",
                  "step",
                  "tier",
                  "points"
                ],
                "properties": {
                  "from": {
                    "type": "string",
                    "format": "date-time",
                    "description": "Start of the range."
                  },
                  "to": {
                    "type": "string",
                    "format": "date-time",
                    "description": "End of the range."
                  },
                  "step": {
                    "type": "integer",
                    "description": "Effective bucket width in seconds."
                  },
                  "tier": {
                    "type": "string",
                    "enum": [
                      "raw",
                      "minute",
                      "hour"
                    ],
                    "description": "Where the points come from."
                  },
                  "points": {
                    "type": "array",
                    "description": "One per bucket with data, in time order.",
                    "items": {
                      "$ref": "#/components/schemas/StatusPoint"
                    }
                  }
                }
              },
              "StatusPoint": {
                "type": "object",
                "description": "The `system_health` fields averaged over one bucket (null when not collected then).",
                "additionalProperties": false,
                "required": [
                  "timestamp",
                  "cpu_usage_percent",
                  "memory_usage_percent",
                  "disk_usage_percent",
                  "load_average",
                  "temperature",
                  "uptime_seconds"
                ],
                "properties": {
                  "timestamp": {
                    "type": "string",
                    "format": "date-time",
                    "description": "Bucket start."
                  },
                  "cpu_usage_percent": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "Average CPU usage, 0–100."
                  },
                  "memory_usage_percent": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "Average memory usage, 0–100."
                  },
                  "disk_usage_percent": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "Average root filesystem usage, 0–100."
                  },
                  "load_average": {
                    "$ref": "#/components/schemas/StatusPointLoad"
                  },
                  "temperature": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "Average hottest CPU sensor, °C."
                  },
                  "uptime_seconds": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "Average system uptime in the bucket, seconds."
                  }
                }
              },
              "StatusPointLoad": {
                "type": "object",
                "description": "Average load averages over the bucket.",
                "additionalProperties": false,
                "required": [
                  "one_minute",
                  "five_minutes",
                  "fifteen_minutes"
                ],
                "properties": {
                  "one_minute": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "1-minute load."
                  },
                  "five_minutes": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "5-minute load."
                  },
                  "fifteen_minutes": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "15-minute load."
                  }
                }
              },
              "AlertSummary": {
                "type": "object",
                "description": "Counts of active alerts.",
                "additionalProperties": false,
                "required": [
                  "state",
                  "warning",
                  "critical",
                  "enabled"
                ],
                "properties": {
                  "state": {
                    "type": "string",
                    "enum": [
                      "ok",
                      "warning",
                      "critical"
                    ],
                    "description": "The worst active severity."
                  },
                  "warning": {
                    "type": "integer",
                    "description": "Subjects in warning."
                  },
                  "critical": {
                    "type": "integer",
                    "description": "Subjects in critical."
                  },
                  "enabled": {
                    "type": "boolean",
                    "description": "False when alerting is disabled."
                  }
                }
              },
              "ActiveAlert": {
                "type": "object",
                "description": "A rule subject that is not ok.",
                "additionalProperties": false,
                "required": [
                  "rule",
                  "subject",
                  "severity",
                  "value",
                  "threshold",
                  "since",
                  "incident_id"
                ],
                "properties": {
                  "rule": {
                    "type": "string",
                    "description": "`cpu`, `memory`, `load`, `disk` or `service`."
                  },
                  "subject": {
                    "type": "string",
                    "description": "Mount point or service; empty for host-wide rules."
                  },
                  "severity": {
                    "type": "string",
                    "enum": [
                      "ok",
                      "warning",
                      "critical"
                    ],
                    "description": "`warning` or `critical`."
                  },
                  "value": {
                    "type": "number",
                    "description": "The latest value (for `service`: 1 monitored service down, 2 critical service down)."
                  },
                  "threshold": {
                    "type": "number",
                    "description": "The raise threshold of the current severity."
                  },
                  "since": {
                    "type": "string",
                    "format": "date-time",
                    "description": "When the current severity began."
                  },
                  "incident_id": {
                    "type": [
                      "integer",
                      "null"
                    ],
                    "description": "The open incident."
                  }
                }
              },
              "Alerts": {
                "type": "object",
                "description": "`GET /api/v1/alerts`.",
                "additionalProperties": false,
                "required": [
                  "summary",
                  "alerts"
                ],
                "properties": {
                  "summary": {
                    "$ref": "#/components/schemas/AlertSummary"
                  },
                  "alerts": {
                    "type": "array",
                    "description": "Active alerts by rule then subject.",
                    "items": {
                      "$ref": "#/components/schemas/ActiveAlert"
                    }
                  }
                }
              },
              "Incident": {
                "type": "object",
                "description": "One incident: an episode of a rule subject not being ok.",
                "additionalProperties": false,
                "required": [
                  "id",
                  "rule",
                  "subject",
                  "severity",
                  "started_at",
                  "ended_at",
                  "duration_seconds",
                  "peak_value",
                  "peak_at",
                  "last_value",
                  "threshold",
                  "message"
                ],
                "properties": {
                  "id": {
                    "type": "integer",
                    "description": "Incident id."
                  },
                  "rule": {
                    "type": "string",
                    "description": "`cpu`, `memory`, `load`, `disk` or `service`."
                  },
                  "subject": {
                    "type": "string",
                    "description": "The mount point or service; empty for host-wide rules."
                  },
                  "severity": {
                    "type": "string",
                    "enum": [
                      "ok",
                      "warning",
                      "critical"
                    ],
                    "description": "The highest severity reached."
                  },
                  "started_at": {
                    "type": "string",
                    "format": "date-time",
                    "description": "When the state left ok."
                  },
                  "ended_at": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "format": "date-time",
                    "description": "When it came back to ok; null while open."
                  },
                  "duration_seconds": {
                    "type": "number",
                    "description": "From start to end (to now while open)."
                  },
                  "peak_value": {
                    "type": "number",
                    "description": "The highest value during the incident."
                  },
                  "peak_at": {
                    "type": "string",
                    "format": "date-time",
                    "description": "When the peak was seen."
                  },
                  "last_value": {
                    "type": "number",
                    "description": "The latest value recorded."
                  },
                  "threshold": {
                    "type": "number",
                    "description": "The threshold crossed when it started."
                  },
                  "message": {
                    "type": "string",
                    "description": "Human-readable summary."
                  }
                }
              },
              "Incidents": {
                "type": "object",
                "description": "`GET /api/v1/incidents`.",
                "additionalProperties": false,
                "required": [
                  "from",
                  "to",
                  "count",
                  "incidents"
                ],
                "properties": {
                  "from": {
                    "type": "string",
                    "format": "date-time",
                    "description": "Start of the range."
                  },
                  "to": {
                    "type": "string",
                    "format": "date-time",
                    "description": "End of the range."
                  },
                  "count": {
                    "type": "integer",
                    "description": "Incidents returned."
                  },
                  "incidents": {
                    "type": "array",
                    "description": "Newest first.",
                    "items": {
                      "$ref": "#/components/schemas/Incident"
                    }
                  }
                }
              },
              "MetricSummary": {
                "type": "object",
                "description": "min / avg / p95 / max of one headline metric over the period (nulls without data).",
                "additionalProperties": false,
                "required": [
                  "min",
                  "avg",
                  "p95",
                  "max",
                  "samples"
                ],
                "properties": {
                  "min": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "Smallest sample."
                  },
                  "avg": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "Mean of every sample."
                  },
                  "p95": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "95th percentile of the per-minute averages."
                  },
                  "max": {
                    "type": [
                      "number",
                      "null"
                    ],
                    "description": "Largest sample."
                  },
                  "samples": {
                    "type": "integer",
                    "description": "Samples the figures cover."
                  }
                }
              },
              "ServiceAvailability": {
                "type": "object",
                "description": "Availability of one service over the period.",
                "additionalProperties": false,
                "required": [
                  "name",
                  "availability_percent",
                  "downtime_seconds",
                  "incidents"
                ],
                "properties": {
                  "name": {
                    "type": "string",
                    "description": "The unit."
                  },
                  "availability_percent": {
                    "type": "number",
                    "description": "100 × (1 − downtime / period)."
                  },
                  "downtime_seconds": {
                    "type": "number",
                    "description": "Time covered by its incidents within the period."
                  },
                  "incidents": {
                    "type": "integer",
                    "description": "Its incidents in the period."
                  }
                }
              },
              "ReportMetrics": {
                "type": "object",
                "description": "The headline metrics.",
                "additionalProperties": false,
                "required": [
                  "cpu_usage_percent",
                  "memory_usage_percent",
                  "disk_usage_percent",
                  "load_one_minute"
                ],
                "properties": {
                  "cpu_usage_percent": {
                    "$ref": "#/components/schemas/MetricSummary"
                  },
                  "memory_usage_percent": {
                    "$ref": "#/components/schemas/MetricSummary"
                  },
                  "disk_usage_percent": {
                    "$ref": "#/components/schemas/MetricSummary"
                  },
                  "load_one_minute": {
                    "$ref": "#/components/schemas/MetricSummary"
                  }
                }
              },
              "ReportIncidents": {
                "type": "object",
                "description": "Incidents of the period.",
                "additionalProperties": false,
                "required": [
                  "total",
                  "warning",
                  "critical",
                  "by_rule",
                  "items"
                ],
                "properties": {
                  "total": {
                    "type": "integer",
                    "description": "All incidents."
                  },
                  "warning": {
                    "type": "integer",
                    "description": "Those that peaked at warning."
                  },
                  "critical": {
                    "type": "integer",
                    "description": "Those that reached critical."
                  },
                  "by_rule": {
                    "type": "object",
                    "description": "Incidents per rule.",
                    "additionalProperties": {
                      "type": "integer"
                    }
                  },
                  "items": {
                    "type": "array",
                    "description": "Newest first.",
                    "items": {
                      "$ref": "#/components/schemas/Incident"
                    }
                  }
                }
              },
              "Report": {
                "type": "object",
                "description": "`GET /api/v1/reports/{period}`.",
                "additionalProperties": false,
                "required": [
                  "period",
                  "from",
                  "to",
                  "metrics",
                  "incidents",
                  "services"
                ],
                "properties": {
                  "period": {
                    "type": "string",
                    "enum": [
                      "daily",
                      "weekly",
                      "monthly"
                    ],
                    "description": "The period."
                  },
                  "from": {
                    "type": "string",
                    "format": "date-time",
                    "description": "Start of the period."
                  },
                  "to": {
                    "type": "string",
                    "format": "date-time",
                    "description": "End of the period."
                  },
                  "metrics": {
                    "$ref": "#/components/schemas/ReportMetrics"
                  },
                  "incidents": {
                    "$ref": "#/components/schemas/ReportIncidents"
                  },
                  "services": {
                    "type": "array",
                    "description": "Services that had incidents, by name.",
                    "items": {
                      "$ref": "#/components/schemas/ServiceAvailability"
                    }
                  }
                }
              }
            },
            "parameters": {
              "IfNoneMatch": {
                "name": "If-None-Match",
                "in": "header",
                "required": false,
                "description": "An `ETag` from an earlier response (weak comparison: `W/` is ignored; `*` matches). When it matches the current representation, the answer is 304 with no body.",
                "schema": {
                  "type": "string"
                }
              }
            },
            "responses": {
              "Unauthorized": {
                "description": "401 `unauthorized`: no credential where one is needed, or a credential that is unknown, expired, not yet valid, badly signed or of a refused algorithm. On loopback without any configured credential, reads are anonymous (role viewer) and only the operator and admin operations answer 401.",
                "headers": {
                  "WWW-Authenticate": {
                    "description": "`Bearer realm=\"viworks-agent\"`, with `error=\"invalid_token\"` and a description when a credential was refused.",
                    "schema": {
                      "type": "string"
                    }
                  }
                },
                "content": {
                  "application/json; charset=utf-8": {
                    "schema": {
                      "$ref": "#/components/schemas/Error"
                    }
                  }
                }
              },
              "Forbidden": {
                "description": "403 `forbidden`: the credential's role is below the operation's; or `address_not_allowed`: the client address is not in `[access] allow` (checked before credentials, on every route).",
                "content": {
                  "application/json; charset=utf-8": {
                    "schema": {
                      "$ref": "#/components/schemas/Error"
                    }
                  }
                }
              },
              "TooManyRequests": {
                "description": "429 `rate_limited`: the client (its credential's name, else its address) used up its token bucket (`[rate_limit]`, 100 per minute by default).",
                "headers": {
                  "Retry-After": {
                    "description": "Whole seconds until one more request is allowed.",
                    "schema": {
                      "type": "integer"
                    }
                  },
                  "RateLimit-Limit": {
                    "description": "Requests per minute of this client.",
                    "schema": {
                      "type": "integer"
                    }
                  },
                  "RateLimit-Remaining": {
                    "description": "Requests left now (also sent on successful responses).",
                    "schema": {
                      "type": "integer"
                    }
                  },
                  "RateLimit-Reset": {
                    "description": "Seconds until the bucket is full again.",
                    "schema": {
                      "type": "integer"
                    }
                  },
                  "RateLimit-Policy": {
                    "description": "`<limit>;w=60`.",
                    "schema": {
                      "type": "string"
                    }
                  }
                },
                "content": {
                  "application/json; charset=utf-8": {
                    "schema": {
                      "$ref": "#/components/schemas/Error"
                    }
                  }
                }
              },
              "NotModified": {
                "description": "The representation named in `If-None-Match` is still current; no body.",
                "headers": {
                  "ETag": {
                    "description": "Strong validator of this representation: changes with every collection and every change of the supervisor's state.",
                    "schema": {
                      "type": "string"
                    }
                  },
                  "Cache-Control": {
                    "description": "`no-cache`: revalidate with `If-None-Match`.",
                    "schema": {
                      "type": "string"
                    }
                  }
                }
              },
              "Error": {
                "description": "An error: 404 `not_found` for an unknown path, 405 `method_not_allowed` (with `Allow`) for a method the path does not serve, 400 `bad_request` or `invalid_parameter`, 500 `internal_error`.",
                "headers": {
                  "Allow": {
                    "description": "On 405: the methods the path serves, e.g. `GET, HEAD, OPTIONS`.",
                    "schema": {
                      "type": "string"
                    }
                  }
                },
                "content": {
                  "application/json; charset=utf-8": {
                    "schema": {
                      "$ref": "#/components/schemas/Error"
                    }
                  }
                }
              }
            }
          }
        }
        """#
}
