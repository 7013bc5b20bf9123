import SkiffAPI
import SkiffCore

/// meta.k8s.io/v1 Table responses: what `kubectl get` prints, with the cells computed
/// by the server and each row carrying the object's metadata (kubectl needs it for -A
/// and --show-labels).
enum Tables {
    static let contentType = "application/json;as=Table;v=v1;g=meta.k8s.io"

    static let nameColumn = TableColumn("Name", format: "name",
                                        description: "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names") { o, _ in
        .string(o.name ?? "")
    }

    static func columns(_ r: ResourceInfo) -> [TableColumn] {
        let extra = r.strategy.columns.isEmpty ? [Columns.age] : r.strategy.columns
        // Events lead with LAST SEEN and carry their name as a wide column.
        return r.kind == "Event" && r.group.isEmpty ? extra : [nameColumn] + extra
    }

    static func table(_ r: ResourceInfo, _ objects: [JSON], listRevision: Int64?, includeObject: String, now: Timestamp) -> JSON {
        let cols = columns(r)
        let definitions: [JSON] = cols.map { c in
            ["name": .string(c.name), "type": .string(c.type), "format": .string(c.format),
             "description": .string(c.description), "priority": .number(JSONNumber(c.priority))]
        }
        let rows: [JSON] = objects.map { o in
            var row: JSON = ["cells": .array(cols.map { $0.cell(o, now) })]
            switch includeObject {
            case "None": break
            case "Object": row["object"] = o
            default:
                row["object"] = ["kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"] ?? [:]]
            }
            return row
        }
        var meta = JSONObject()
        if let listRevision { meta["resourceVersion"] = .string(String(listRevision)) }
        return ["kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": .object(meta),
                "columnDefinitions": .array(definitions), "rows": .array(rows)]
    }
}
