/// JSON merge patch (RFC 7386, `application/merge-patch+json`) as kube-apiserver applies it
/// through evanphx/json-patch v4.
///
/// Two details differ from the bare RFC and are kept because clients observe them: a value
/// added where the target held no object has its nulls pruned inside nested arrays too (the
/// RFC prunes only object members), and a JSON `null` in the target counts as absent.
/// Objects keep the target's key order; keys new to the target are appended in patch order.
public enum MergePatch {
    /// Applies `patch` to `original`. A patch that is not an object replaces the document,
    /// as the RFC says; `validate(_:)` tells which top-level patches the API server rejects.
    public static func apply(_ patch: JSON, to original: JSON) -> JSON {
        // At the top level upstream prunes an array patch too, whatever the target.
        guard patch.isObject else { return pruningNulls(patch) }
        return merge(patch, into: original)
    }

    /// Rejects the top-level patches kube-apiserver refuses before merging: `null`, strings,
    /// numbers and booleans (400 "Invalid JSON Patch"). Objects and arrays are accepted;
    /// an array then fails to decode as the resource, which is the caller's error to report.
    public static func validate(_ patch: JSON) throws(APIError) {
        switch patch {
        case .object, .array: return
        case .null, .bool, .number, .string: throw APIError.badRequest("Invalid JSON Patch")
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
