/// The schema texts of the built-in API groups, one static per file in this folder.
enum SchemaSources {
    static let all: [String] = [
        metaV1, coreV1Pod, coreV1, authenticationV1, appsV1, autoscalingV1, autoscalingV2, batchV1,
        coordinationV1, discoveryV1, eventsV1, policyV1, rbacV1, schedulingV1, storageV1,
        admissionregistrationV1, networkingV1, apiextensionsV1,
    ]
}

extension APISchema {
    /// The schema of every built-in kind Skiff serves, parsed once.
    public static let builtIn: APISchema = {
        do {
            return try APISchema(sources: SchemaSources.all)
        } catch {
            // The schema is compiled in; a test parses it, so this cannot happen in a release.
            fatalError("built-in API schema is malformed: \(error)")
        }
    }()
}
