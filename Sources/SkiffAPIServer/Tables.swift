import SkiffAPI
import SkiffCore

/// meta.k8s.io/v1 Table responses: what `kubectl get` prints, with the cells computed
/// by the server and each row carrying the object's metadata (kubectl needs it for -A
/// and --show-labels). Tables are written as bytes row by row, so a list of thousands of
/// objects streams out without building one large value.
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

    /// The Table up to its first row: `{"kind":"Table",...,"rows":[`. Watch events after
    /// the first carry no column definitions (null, as upstream).
    static func head(_ r: ResourceInfo, metadata: JSONObject = JSONObject(), definitions: Bool = true) -> [UInt8] {
        var out = Array(#"{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":"#.utf8)
        JSON.object(metadata).write(to: &out)
        out += Array(#","columnDefinitions":"#.utf8)
        if definitions {
            let defs: [JSON] = columns(r).map { c in
                ["name": .string(c.name), "type": .string(c.type), "format": .string(c.format),
                 "description": .string(c.description), "priority": .number(JSONNumber(c.priority))]
            }
            JSON.array(defs).write(to: &out)
        } else {
            out += Array("null".utf8)
        }
        out += Array(#","rows":["#.utf8)
        return out
    }

    static let tail = Array("]}".utf8)

    /// One row for a stored object. Cells are computed from the object parsed without its
    /// managedFields (the bulk of most objects); the row's object is the stored bytes, or
    /// their metadata, copied as they are.
    static func row(_ r: ResourceInfo, stored: [UInt8], includeObject: String, now: Timestamp, to out: inout [UInt8]) {
        let cols = columns(r)
        let object: JSON
        var objectBytes: [UInt8]?
        if let conversion = r.conversion {
            object = conversion.fromStorage((try? JSON.parse(stored)) ?? [:])
        } else {
            object = (try? JSON.parse(stored, omitting: ["metadata", "managedFields"])) ?? [:]
            objectBytes = stored
        }
        out += Array(#"{"cells":"#.utf8)
        JSON.array(cols.map { $0.cell(object, now) }).write(to: &out)
        switch includeObject {
        case "None": break
        case "Object":
            out += Array(#","object":"#.utf8)
            if let objectBytes { out += objectBytes } else { object.write(to: &out) }
        default:
            out += Array(#","object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":"#.utf8)
            if let objectBytes, let range = JSON.rangeOfMember("metadata", in: objectBytes) {
                out += objectBytes[range]
            } else if let objectBytes {
                ((try? JSON.parse(objectBytes))?["metadata"] ?? [:]).write(to: &out)
            } else {
                (object["metadata"] ?? [:]).write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "}"))
    }

    /// A whole Table of one object (get, watch events).
    static func single(_ r: ResourceInfo, stored: [UInt8], includeObject: String, definitions: Bool = true) -> [UInt8] {
        var out = head(r, definitions: definitions)
        row(r, stored: stored, includeObject: includeObject, now: Timestamp.now(), to: &out)
        return out + tail
    }
}
