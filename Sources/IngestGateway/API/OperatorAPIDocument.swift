/// The OpenAPI 3.1 document of the operator API (`/api/v1`), served at
/// `GET /api/v1/openapi.json` (an admin's token, as every operator route). It is the contract
/// the tests hold the console to: schemathesis runs it against a live console in CI (no 5xx,
/// every answer as documented), and docs/operator-api.md explains the same routes in prose.
enum OperatorAPIDocument {
    static let json = #"""
{
  "openapi": "3.1.0",
  "info": {
    "title": "ThreatMapper console operator API",
    "version": "1",
    "description": "Nodes, scans, findings, SBOMs and the cluster of a ThreatMapper console's ingest tier. Every route needs the access token of an admin API key (POST /deepfence/auth/token with the admin key); a sensor key's token gets 403."
  },
  "servers": [{"url": "/"}],
  "security": [{"adminToken": []}],
  "paths": {
    "/api/v1/nodes": {
      "get": {
        "operationId": "listNodes",
        "summary": "A page of nodes in node ID order.",
        "parameters": [
          {"name": "kind", "in": "query", "schema": {"type": "string", "enum": ["host", "kubernetes_cluster"]}},
          {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["online", "offline", "all"]}},
          {"$ref": "#/components/parameters/limit"},
          {"name": "prefix", "in": "query", "description": "Only nodes whose ID starts with this text (byte for byte), and Kubernetes clusters whose name does.", "schema": {"type": "string"}},
          {"name": "after", "in": "query", "description": "The last node ID of the page before.", "schema": {"type": "string"}},
          {"name": "content", "in": "query", "description": "Add each node's content digest (costly: the loss check's).", "schema": {"type": "string", "enum": ["true", "false"]}}
        ],
        "responses": {
          "200": {"description": "The page.", "content": {"application/json": {"schema": {
            "type": "object", "required": ["nodes", "next"],
            "properties": {
              "nodes": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
              "next": {"type": ["string", "null"]}
            }}}}},
          "4XX": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/nodes/{id}": {
      "get": {
        "operationId": "nodeDetail",
        "summary": "Everything stored about a node.",
        "parameters": [
          {"$ref": "#/components/parameters/nodeID"},
          {"name": "kinds", "in": "query", "description": "Comma-separated entity kinds to list (host, process, container, container_image, pod, service, namespace, kubernetes_cluster, cloud_provider, cloud_region, endpoint, connection).", "schema": {"type": "string", "pattern": "^(host|process|container|container_image|pod|service|namespace|kubernetes_cluster|cloud_provider|cloud_region|endpoint|connection)(,(host|process|container|container_image|pod|service|namespace|kubernetes_cluster|cloud_provider|cloud_region|endpoint|connection))*$"}}
        ],
        "responses": {
          "200": {"description": "The node.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NodeDetail"}}}},
          "4XX": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/nodes/{id}/changes": {
      "get": {
        "operationId": "nodeChanges",
        "summary": "What appeared, changed or vanished on the node, newest first (from the change log, kept for --change-log-retention).",
        "parameters": [
          {"$ref": "#/components/parameters/nodeID"},
          {"name": "kind", "in": "query", "schema": {"type": "string", "enum": ["node", "host", "process", "container", "container_image", "pod", "service", "namespace", "kubernetes_cluster", "cloud_provider", "cloud_region", "endpoint", "connection"]}},
          {"name": "change", "in": "query", "schema": {"type": "string", "enum": ["appeared", "changed", "vanished"]}},
          {"name": "since", "in": "query", "description": "Only changes at or after this RFC 3339 time.", "schema": {"type": "string", "format": "date-time"}},
          {"name": "until", "in": "query", "description": "Only changes before this RFC 3339 time.", "schema": {"type": "string", "format": "date-time"}},
          {"$ref": "#/components/parameters/limit"},
          {"name": "after", "in": "query", "description": "The next cursor of the page before.", "schema": {"type": "string"}}
        ],
        "responses": {
          "200": {"description": "The page.", "content": {"application/json": {"schema": {
            "type": "object", "required": ["changes", "next"],
            "properties": {
              "changes": {"type": "array", "items": {
                "type": "object", "required": ["at", "kind", "entity_id", "change"],
                "properties": {"at": {"type": "string"}, "kind": {"type": "string"}, "entity_id": {"type": "string"},
                               "change": {"type": "string", "enum": ["appeared", "changed", "vanished"]}}}},
              "next": {"type": ["string", "null"]}
            }}}}},
          "4XX": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/nodes/{id}/commands": {
      "post": {
        "operationId": "queueCommand",
        "summary": "Queue a ThreatMapper action for the node's next control poll.",
        "parameters": [{"$ref": "#/components/parameters/nodeID"}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
          "type": "object",
          "properties": {
            "action": {"type": "string", "enum": ["StartVulnerabilityScan", "StartSecretScan", "StartComplianceScan", "StartMalwareScan", "StartAgentUpgrade", "SendAgentDiagnosticLogs", "StartAgentPlugin", "StopAgentPlugin", "UpgradeAgentPlugin", "StopSecretScan", "StopMalwareScan", "StopVulnerabilityScan", "StopComplianceScan", "UpdateAgentThreatIntel"]},
            "action_id": {"type": "integer", "minimum": 0, "maximum": 13},
            "request_payload": {"type": "object", "description": "The payload the sensor gets (a string holding a JSON object is taken too); default {\"node_id\": <id>, \"node_type\": 2, \"bin_args\": {}}."}
          }}}}},
        "responses": {
          "201": {"description": "Queued (a start-scan action also creates its scan).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Command"}}}},
          "4XX": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/nodes/{id}/scans": {
      "post": {
        "operationId": "queueScan",
        "summary": "Create a scan as QUEUED with its start command.",
        "parameters": [{"$ref": "#/components/parameters/nodeID"}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
          "type": "object", "required": ["kind"],
          "properties": {
            "kind": {"type": "string", "enum": ["vulnerability", "secret", "malware", "compliance"]},
            "request_payload": {"type": "object", "description": "The payload the sensor gets (a string holding a JSON object is taken too); default {\"node_id\": <id>, \"node_type\": 2, \"bin_args\": {}}."}
          }}}}},
        "responses": {
          "201": {"description": "The scan and its command.", "content": {"application/json": {"schema": {
            "allOf": [{"$ref": "#/components/schemas/Command"}],
            "type": "object", "required": ["scan_id", "kind", "status"],
            "properties": {"scan_id": {"type": "string"}, "kind": {"type": "string"}, "status": {"type": "string", "const": "QUEUED"}}}}}},
          "4XX": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/nodes/{id}/findings": {
      "get": {
        "operationId": "nodeFindings",
        "summary": "A page of a node's findings of one kind, over all its scans.",
        "parameters": [
          {"$ref": "#/components/parameters/nodeID"},
          {"name": "kind", "in": "query", "required": true, "schema": {"$ref": "#/components/schemas/FindingKind"}},
          {"$ref": "#/components/parameters/severity"},
          {"$ref": "#/components/parameters/limit"},
          {"$ref": "#/components/parameters/findingsAfter"},
          {"$ref": "#/components/parameters/format"}
        ],
        "responses": {
          "200": {"$ref": "#/components/responses/FindingsPage"},
          "4XX": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/nodes/{id}/findings/export": {
      "get": {
        "operationId": "exportNodeFindings",
        "summary": "Every finding of a node of one kind, streamed in one answer.",
        "parameters": [
          {"$ref": "#/components/parameters/nodeID"},
          {"name": "kind", "in": "query", "required": true, "schema": {"$ref": "#/components/schemas/FindingKind"}},
          {"$ref": "#/components/parameters/severity"},
          {"$ref": "#/components/parameters/findingsAfter"},
          {"$ref": "#/components/parameters/format"}
        ],
        "responses": {
          "200": {"$ref": "#/components/responses/FindingsExport"},
          "4XX": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/nodes/{id}/findings/counts": {
      "get": {
        "operationId": "nodeFindingCounts",
        "summary": "The node's latest scan of each kind with its counts per grade.",
        "parameters": [{"$ref": "#/components/parameters/nodeID"}],
        "responses": {
          "200": {"description": "Latest scans by kind.", "content": {"application/json": {"schema": {
            "type": "object", "required": ["node_id", "latest"],
            "properties": {
              "node_id": {"type": "string"},
              "latest": {"type": "object", "additionalProperties": {
                "type": "object", "required": ["scan_id", "status", "findings", "counts", "created_at"],
                "properties": {
                  "scan_id": {"type": "string"}, "status": {"$ref": "#/components/schemas/ScanStatus"},
                  "findings": {"type": "integer"}, "counts": {"$ref": "#/components/schemas/Counts"}, "created_at": {"type": "string"}
                }}}
            }}}}},
          "4XX": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/scans": {
      "get": {
        "operationId": "listScans",
        "summary": "A page of scans in scan ID order, over every placement.",
        "parameters": [
          {"name": "node", "in": "query", "schema": {"type": "string"}},
          {"name": "kind", "in": "query", "schema": {"type": "string", "enum": ["vulnerability", "secret", "malware", "compliance", "cloud_compliance"]}},
          {"name": "status", "in": "query", "schema": {"$ref": "#/components/schemas/ScanStatus"}},
          {"$ref": "#/components/parameters/limit"},
          {"name": "after", "in": "query", "description": "The last scan ID of the page before.", "schema": {"type": "string"}}
        ],
        "responses": {
          "200": {"description": "The page.", "content": {"application/json": {"schema": {
            "type": "object", "required": ["scans", "next"],
            "properties": {
              "scans": {"type": "array", "items": {"$ref": "#/components/schemas/Scan"}},
              "next": {"type": ["string", "null"]}
            }}}}},
          "4XX": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/scans/{id}": {
      "get": {
        "operationId": "scanDetail",
        "summary": "One scan.",
        "parameters": [{"$ref": "#/components/parameters/scanID"}],
        "responses": {
          "200": {"description": "The scan.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Scan"}}}},
          "4XX": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/scans/{id}/findings": {
      "get": {
        "operationId": "scanFindings",
        "summary": "A page of a scan's findings.",
        "parameters": [
          {"$ref": "#/components/parameters/scanID"},
          {"$ref": "#/components/parameters/severity"},
          {"$ref": "#/components/parameters/limit"},
          {"$ref": "#/components/parameters/findingsAfter"},
          {"$ref": "#/components/parameters/format"}
        ],
        "responses": {
          "200": {"$ref": "#/components/responses/FindingsPage"},
          "4XX": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/scans/{id}/findings/export": {
      "get": {
        "operationId": "exportScanFindings",
        "summary": "Every finding of a scan, streamed in one answer.",
        "parameters": [
          {"$ref": "#/components/parameters/scanID"},
          {"$ref": "#/components/parameters/severity"},
          {"$ref": "#/components/parameters/findingsAfter"},
          {"$ref": "#/components/parameters/format"}
        ],
        "responses": {
          "200": {"$ref": "#/components/responses/FindingsExport"},
          "4XX": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/scans/{id}/sbom": {
      "get": {
        "operationId": "scanSBOM",
        "summary": "The scan's SBOM: its size, hash and parts.",
        "parameters": [{"$ref": "#/components/parameters/scanID"}],
        "responses": {
          "200": {"description": "The SBOM's record.", "content": {"application/json": {"schema": {
            "type": "object", "required": ["scan_id", "node_id", "bytes", "inflated_bytes", "sha256", "parts", "stored_at"],
            "properties": {
              "scan_id": {"type": "string"}, "node_id": {"type": "string"}, "bytes": {"type": "integer"},
              "inflated_bytes": {"type": "integer"}, "sha256": {"type": "string"}, "parts": {"type": "integer"},
              "fields": {}, "stored_at": {"type": "string"}
            }}}}},
          "4XX": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/scans/{id}/sbom/parts/{n}": {
      "get": {
        "operationId": "scanSBOMPart",
        "summary": "Part n of the gzipped SBOM, at most 1 MiB.",
        "parameters": [
          {"$ref": "#/components/parameters/scanID"},
          {"name": "n", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 0, "maximum": 2147483647}}
        ],
        "responses": {
          "200": {"description": "The part.", "content": {"application/octet-stream": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}},
          "4XX": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/cluster": {
      "get": {
        "operationId": "cluster",
        "summary": "The shard map, its members, node counts and each worker's counters.",
        "responses": {
          "200": {"description": "The cluster.", "content": {"application/json": {"schema": {
            "type": "object", "required": ["map_version", "shard_count", "unassigned_shards", "leader", "members", "nodes", "workers"],
            "properties": {
              "map_version": {"type": "integer"}, "shard_count": {"type": "integer"}, "unassigned_shards": {"type": "integer"},
              "leader": {"type": ["string", "null"]},
              "members": {"type": "array", "items": {
                "type": "object", "required": ["id", "role", "state", "address", "incarnation", "heartbeat_age_ms", "shards"],
                "properties": {
                  "id": {"type": "string"}, "role": {"type": "string"}, "state": {"type": "string"}, "address": {"type": "string"},
                  "incarnation": {"type": "integer"}, "heartbeat_age_ms": {"type": "integer"}, "shards": {"type": "integer"}
                }}},
              "nodes": {"type": "array", "items": {
                "type": "object", "required": ["kind", "online", "count"],
                "properties": {"kind": {"type": "string"}, "online": {"type": "boolean"}, "count": {"type": "integer"}}}},
              "workers": {"type": "array", "items": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}}
            }}}}},
          "4XX": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/keys": {
      "get": {
        "operationId": "listKeys",
        "summary": "Every API key, revoked ones included (never the key itself).",
        "responses": {
          "200": {"description": "The keys.", "content": {"application/json": {"schema": {
            "type": "object", "required": ["keys"],
            "properties": {"keys": {"type": "array", "items": {"$ref": "#/components/schemas/APIKey"}}}}}}},
          "4XX": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      },
      "post": {
        "operationId": "createKey",
        "summary": "Create an API key; the answer holds the key, shown this once.",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
          "type": "object", "required": ["role"],
          "properties": {"role": {"type": "string", "enum": ["sensor", "admin"]}, "label": {"type": "string", "maxLength": 200}}}}}},
        "responses": {
          "201": {"description": "The key.", "content": {"application/json": {"schema": {
            "type": "object", "required": ["id", "role", "label", "key"],
            "properties": {"id": {"type": "integer"}, "role": {"type": "string"}, "label": {"type": "string"}, "key": {"type": "string"}}}}}},
          "4XX": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/keys/{id}": {
      "delete": {
        "operationId": "revokeKey",
        "summary": "Revoke a key: its logins and tokens stop working on every gateway. The key of the caller's own token is refused (400).",
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}}],
        "responses": {
          "204": {"description": "Revoked."},
          "4XX": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/openapi.json": {
      "get": {
        "operationId": "openAPIDocument",
        "summary": "This document.",
        "responses": {
          "200": {"description": "The document.", "content": {"application/json": {"schema": {"type": "object", "required": ["openapi", "paths"]}}}},
          "4XX": {"$ref": "#/components/responses/Error"}
        }
      }
    }
  },
  "components": {
    "securitySchemes": {
      "adminToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "The access token of an admin API key."}
    },
    "parameters": {
      "nodeID": {"name": "id", "in": "path", "required": true, "schema": {"type": "string", "minLength": 1}},
      "scanID": {"name": "id", "in": "path", "required": true, "schema": {"type": "string", "minLength": 1}},
      "limit": {"name": "limit", "in": "query", "description": "1 to --max-page-size (1000 unless set); default 100.", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
      "severity": {"name": "severity", "in": "query", "description": "A grade in lower case: critical, high, medium, low; compliance: alarm, ok, info, skip, …", "schema": {"type": "string"}},
      "findingsAfter": {"name": "after", "in": "query", "description": "The cursor of the last finding received: base64url (no padding) of its scan_id, a zero byte and its key.", "schema": {"type": "string", "minLength": 2, "pattern": "^[A-Za-z0-9_-]+$"}},
      "format": {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "csv"]}}
    },
    "responses": {
      "Error": {"description": "An error, with its stable code.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "FindingsPage": {"description": "A page of findings (CSV: the next cursor in x-next-cursor).", "content": {
        "application/json": {"schema": {
          "type": "object", "required": ["kind", "findings", "next"],
          "properties": {
            "kind": {"type": "string"},
            "findings": {"type": "array", "items": {"$ref": "#/components/schemas/Finding"}},
            "next": {"type": ["string", "null"]}
          }}},
        "text/csv": {"schema": {"type": "string"}}}},
      "FindingsExport": {"description": "Every finding, streamed; a cut export does not parse.", "content": {
        "application/json": {"schema": {
          "type": "object", "required": ["kind", "findings", "count"],
          "properties": {
            "kind": {"type": "string"},
            "findings": {"type": "array", "items": {"$ref": "#/components/schemas/Finding"}},
            "count": {"type": "integer"}
          }}},
        "text/csv": {"schema": {"type": "string"}}}}
    },
    "schemas": {
      "Error": {
        "type": "object", "required": ["success", "message", "code"],
        "properties": {
          "success": {"type": "boolean", "const": false},
          "message": {"type": "string"},
          "code": {"type": "string"},
          "setting": {"type": "string"},
          "error_fields": {"type": "null"}
        }
      },
      "Node": {
        "type": "object",
        "required": ["id", "kind", "online", "shard", "first_seen", "last_seen", "offline_since", "last_report_id", "last_report_at", "beat_rate"],
        "properties": {
          "id": {"type": "string"},
          "kind": {"type": "string", "enum": ["host", "kubernetes_cluster"]},
          "online": {"type": "boolean"},
          "shard": {"type": "integer"},
          "first_seen": {"type": "string"},
          "last_seen": {"type": "string"},
          "offline_since": {"type": ["string", "null"]},
          "last_report_id": {"type": ["string", "null"]},
          "last_report_at": {"type": ["string", "null"]},
          "beat_rate": {"type": "integer"},
          "content": {"type": "string", "description": "With content=true: counts per kind and one digest over every entity."}
        }
      },
      "NodeDetail": {
        "type": "object", "required": ["node", "counts", "latest_metrics", "commands"],
        "properties": {
          "node": {"$ref": "#/components/schemas/Node"},
          "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
          "latest_metrics": {"oneOf": [{"type": "null"}, {"type": "object", "required": ["sampled_at", "metrics"], "properties": {"sampled_at": {"type": "string"}, "metrics": {}}}]},
          "commands": {"type": "array", "items": {
            "type": "object", "required": ["id", "action_id", "request_payload", "created_at", "delivered_at"],
            "properties": {
              "id": {"type": "integer"}, "action_id": {"type": "integer"}, "request_payload": {},
              "created_at": {"type": "string"}, "delivered_at": {"type": ["string", "null"]}
            }}},
          "hosts": {"$ref": "#/components/schemas/Entities"}, "processes": {"$ref": "#/components/schemas/Entities"},
          "containers": {"$ref": "#/components/schemas/Entities"}, "container_images": {"$ref": "#/components/schemas/Entities"},
          "pods": {"$ref": "#/components/schemas/Entities"}, "services": {"$ref": "#/components/schemas/Entities"},
          "namespaces": {"$ref": "#/components/schemas/Entities"}, "kubernetes_clusters": {"$ref": "#/components/schemas/Entities"},
          "cloud_providers": {"$ref": "#/components/schemas/Entities"}, "cloud_regions": {"$ref": "#/components/schemas/Entities"},
          "endpoints": {"$ref": "#/components/schemas/Entities"},
          "connections": {"type": "array", "items": {
            "type": "object", "required": ["source", "destination", "first_seen"],
            "properties": {"source": {"type": "string"}, "destination": {"type": "string"}, "first_seen": {"type": "string"}}}}
        }
      },
      "Entities": {
        "type": "array",
        "items": {
          "type": "object", "required": ["id", "first_seen", "changed_at"],
          "description": "An entity: its id, when first seen and last changed, its kind's query columns, and its metadata and parents as the sensor sent them.",
          "properties": {"id": {"type": "string"}, "first_seen": {"type": "string"}, "changed_at": {"type": "string"}, "metadata": {}, "parents": {}}
        }
      },
      "APIKey": {
        "type": "object", "required": ["id", "role", "namespace", "label", "created_at", "revoked_at"],
        "properties": {
          "id": {"type": "integer"}, "role": {"type": "string", "enum": ["sensor", "admin"]}, "namespace": {"type": "string"},
          "label": {"type": "string"}, "created_at": {"type": "string"}, "revoked_at": {"type": ["string", "null"]}
        }
      },
      "Command": {
        "type": "object", "required": ["id", "node_id", "action_id", "action", "request_payload"],
        "properties": {
          "id": {"type": "integer"}, "node_id": {"type": "string"}, "action_id": {"type": "integer"},
          "action": {"type": "string"}, "request_payload": {"type": "string", "description": "The payload the sensor gets, as JSON text."}
        }
      },
      "ScanStatus": {"type": "string", "enum": ["QUEUED", "STARTING", "IN_PROGRESS", "CANCEL_PENDING", "CANCELLING", "COMPLETE", "ERROR", "CANCELLED"]},
      "FindingKind": {"type": "string", "enum": ["vulnerability", "secret", "malware", "compliance", "cloud_compliance"]},
      "Counts": {"type": "object", "additionalProperties": {"type": "integer"}},
      "Scan": {
        "type": "object",
        "required": ["id", "node_id", "kind", "status", "message", "progress", "findings", "counts", "command_id", "created_at", "started_at", "updated_at", "finished_at"],
        "properties": {
          "id": {"type": "string"}, "node_id": {"type": "string"}, "kind": {"type": "string"},
          "status": {"$ref": "#/components/schemas/ScanStatus"}, "message": {"type": ["string", "null"]},
          "progress": {"type": ["integer", "number", "null"]}, "findings": {"type": "integer"},
          "counts": {"$ref": "#/components/schemas/Counts"}, "command_id": {"type": ["integer", "null"]},
          "created_at": {"type": "string"}, "started_at": {"type": ["string", "null"]},
          "updated_at": {"type": ["string", "null"]}, "finished_at": {"type": ["string", "null"]}
        }
      },
      "Finding": {
        "type": "object", "required": ["scan_id", "node_id", "key", "severity", "received_at", "finding"],
        "properties": {
          "scan_id": {"type": "string"}, "node_id": {"type": "string"}, "key": {"type": "string"},
          "severity": {"type": ["string", "null"]}, "received_at": {"type": "string"}, "finding": {"type": "object"}
        }
      }
    }
  }
}
"""#
}
