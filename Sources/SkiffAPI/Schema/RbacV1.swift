extension SchemaSources {
    static let rbacV1 = #"""
package rbac/v1
type PolicyRule
  verbs []string 1 required atomic noomit
  apiGroups []string 2 atomic
  resources []string 3 atomic
  resourceNames []string 4 atomic
  nonResourceURLs []string 5 atomic
type Subject atomic
  kind string 1 required noomit
  apiGroup string 2
  name string 3 required noomit
  namespace string 4
type RoleRef atomic
  apiGroup string 1 required noomit
  kind string 2 required noomit
  name string 3 required noomit
type Role object
  metadata meta/v1.ObjectMeta 1
  rules []PolicyRule 2 atomic noomit
type RoleBinding object
  metadata meta/v1.ObjectMeta 1
  subjects []Subject 2 atomic
  roleRef RoleRef 3 required noomit
type ClusterRole object
  metadata meta/v1.ObjectMeta 1
  rules []PolicyRule 2 atomic noomit
  aggregationRule AggregationRule 3
type AggregationRule
  clusterRoleSelectors []meta/v1.LabelSelector 1 atomic
type ClusterRoleBinding object
  metadata meta/v1.ObjectMeta 1
  subjects []Subject 2 atomic
  roleRef RoleRef 3 required noomit
"""#
}
