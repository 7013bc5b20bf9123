/// JSON merge patch (RFC 7386, `application/merge-patch+json`) as kube-apiserver applies it
/// through evanphx/json-patch v4.
///
/// Two details differ from the bare RFC and are kept because clients observe them: a value
/// added where the target held no object has its nulls pruned inside nested arrays too (the
/// RFC prunes only object members), and a JSON `null` in the target counts as absent.
/// Objects keep the target's key order; keys new to the target are appended in patch order.
public enum MergePatch {
    /// Applies `patch` to `original`. A patch that is not an object replaces the document,
    /// as the RFC says; `validate(_:fieldValidation:)` tells which ones the API server rejects.
    public static func apply(_ patch: JSON, to original: JSON) -> JSON {
        // At the top level upstream prunes an array patch too, whatever the target.
        guard patch.isObject else { return pruningNulls(patch) }
        return merge(patch, into: original)
    }

    /// Rejects the top-level patches kube-apiserver refuses before merging, all with 400.
    /// Unless fieldValidation is "Ignore", the patch is first decoded as an object, so lists
    /// and scalars fail that decoding; `null` passes it and then fails as "Invalid JSON Patch".
    /// With "Ignore" a list is merged, and the caller then fails to decode the result.
    public static func validate(_ patch: JSON, fieldValidation: String = "Warn") throws(APIError) {
        switch patch {
        case .object:
            return
        case .null:
            throw APIError.badRequest("Invalid JSON Patch")
        case .array where fieldValidation == "Ignore":
            return
        case .bool, .number, .string, .array:
            guard fieldValidation != "Ignore" else { throw APIError.badRequest("Invalid JSON Patch") }
            throw APIError.badRequest("error decoding patch: json: cannot unmarshal \(patch.goKindName) into Go value of type map[string]interface {}")
        }
    }

    static func merge(_ patch: JSON, into target: JSON) -> JSON {
        guard case .object(var targetObject) = target else { return pruningNulls(patch) }
        guard case .object(let patchObject) = patch else { return patch }
        for (key, value) in patchObject {
            if value.isNull {
                targetObject.removeValue(forKey: key)
            } else if let current = targetObject[key], !current.isNull {
                targetObject[key] = merge(value, into: current)
            } else {
                targetObject[key] = pruningNulls(value)
            }
        }
        return .object(targetObject)
    }

    /// Drops null members of objects at any depth, looking through arrays (whose own null
    /// elements stay), as a value that lands on nothing is pruned upstream.
    static func pruningNulls(_ value: JSON) -> JSON {
        switch value {
        case .object(let object):
            var pruned = JSONObject()
            for (key, member) in object where !member.isNull { pruned[key] = pruningNulls(member) }
            return .object(pruned)
        case .array(let elements):
            return .array(elements.map(pruningNulls))
        default:
            return value
        }
    }
}
