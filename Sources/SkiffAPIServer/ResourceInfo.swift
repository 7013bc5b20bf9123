import SkiffAPI
import SkiffCore

/// A subresource as discovery lists it (status, scale, log, binding...).
public struct SubresourceInfo: Sendable {
    public var name: String
    public var kind: String
    public var group: String
    public var version: String
    public var verbs: [String]
}

/// How the replicas of a scalable kind are found, for its scale subresource.
public struct ScaleInfo: Sendable {
    public var specReplicas: [String] = ["spec", "replicas"]
    public var statusReplicas: [String] = ["status", "replicas"]
    /// Where the label selector lives: a metav1.LabelSelector, or a plain map (ReplicationController).
    public var selector: [String] = ["spec", "selector"]
    public var selectorIsMap = false
    /// Custom resources keep the selector as an already serialized string.
    public var selectorIsString = false
}

/// Everything the server knows about one resource: names for discovery, scope, storage
/// location and the kind-specific rules (defaults, validation, table columns, field
/// selectors). Adding a built-in kind is adding one of these.
public struct ResourceInfo: Sendable {
    public var group: String
    public var version: String
    public var kind: String
    /// The plural resource name used in paths ("deployments").
    public var resource: String
    public var singular: String
    public var shortNames: [String] = []
    public var categories: [String] = []
    public var namespaced: Bool
    public var verbs: [String] = ResourceInfo.allVerbs
    public var subresources: [SubresourceInfo] = []
    /// The schema type ("apps/v1.Deployment"); nil for custom resources.
    public var schemaType: String?
    /// Objects live under this key prefix in the store: `<prefix><namespace>/<name>`.
    public var storagePrefix: String
    public var scale: ScaleInfo?
    public var strategy: ResourceStrategy
    /// Set for a version that is a converted view of another version's stored objects.
    public var conversion: StorageConversion?

    public static let allVerbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    public var hasStatus: Bool { subresources.contains { $0.name == "status" } }
    /// "deployments.apps", as error messages name resources.
    public var groupResource: String { group.isEmpty ? resource : "\(resource).\(group)" }

    public func key(namespace: String?, name: String) -> String {
        namespaced ? "\(storagePrefix)\(namespace ?? "")/\(name)" : "\(storagePrefix)\(name)"
    }

    public func prefix(namespace: String?) -> String {
        if namespaced, let namespace, !namespace.isEmpty { return "\(storagePrefix)\(namespace)/" }
        return storagePrefix
    }

    public func notFound(_ name: String) -> APIError {
        .notFound(resource, name, group: group)
    }

    public func alreadyExists(_ name: String) -> APIError {
        .alreadyExists(resource, name, group: group)
    }

    public func conflict(_ name: String) -> APIError {
        .conflict(resource, name, group: group, "the object has been modified; please apply your changes to the latest version and try again")
    }

    public func invalid(_ name: String, _ causes: [APIError.Cause]) -> APIError {
        .invalid(kind: kind, name: name, group: group, causes: causes)
    }
}

/// A table column, as metav1.TableColumnDefinition.
public struct TableColumn: Sendable {
    public var name: String
    public var type: String = "string"
    public var format: String = ""
    public var description: String = ""
    /// 0: shown always; 1: shown with `-o wide`.
    public var priority: Int = 0
    /// The cell for an object; `now` is the server's time, for ages.
    public var cell: @Sendable (_ object: JSON, _ now: Timestamp) -> JSON

    public init(_ name: String, type: String = "string", format: String = "", priority: Int = 0, description: String = "",
                cell: @escaping @Sendable (_ object: JSON, _ now: Timestamp) -> JSON) {
        self.name = name
        self.type = type
        self.format = format
        self.priority = priority
        self.description = description
        self.cell = cell
    }
}

/// The kind-specific behaviour of a resource, upstream's RESTCreateStrategy and friends.
public struct ResourceStrategy: Sendable {
    /// Fills in defaults, as upstream's defaulting functions do (on create and update).
    public var applyDefaults: @Sendable (inout JSON) -> Void = { _ in }
    /// The rule for metadata.name (most kinds: a DNS subdomain).
    public var nameRule: Validation.NameValidator = Validation.nameIsDNSSubdomain
    /// Kind-specific validation beyond what the schema checks; returns field causes.
    public var validate: @Sendable (_ object: JSON, _ old: JSON?) -> [APIError.Cause] = { _, _ in [] }
    /// Adjusts a new object before it is stored (pods start Pending...).
    public var prepareForCreate: @Sendable (inout JSON) -> Void = { _ in }
    /// Extra columns after NAME (AGE is added by the kind when it wants it).
    public var columns: [TableColumn] = []
    /// Fields usable in field selectors beyond metadata.name and metadata.namespace.
    public var selectableFields: [String: @Sendable (JSON) -> String] = [:]
    /// Whether `spec` changes bump metadata.generation.
    public var tracksGeneration = true
    /// Runs after defaults on every write (the CRD's Established status).
    public var afterDefaults: @Sendable (inout JSON) -> Void = { _ in }
    /// Drops fields the kind does not declare (custom resources' structural pruning).
    public var prune: @Sendable (inout JSON) -> Void = { _ in }
    /// Fields the kind does not declare, for fieldValidation, when there is no built-in schema.
    public var unknownFields: (@Sendable (JSON) -> [String])?

    public init() {}
}
