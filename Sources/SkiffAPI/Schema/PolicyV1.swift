extension SchemaSources {
    static let policyV1 = #"""
package policy/v1
type PodDisruptionBudgetSpec
  minAvailable IntOrString 1
  selector meta/v1.LabelSelector 2 replace
  maxUnavailable IntOrString 3
  unhealthyPodEvictionPolicy string 4 ptr
type PodDisruptionBudgetStatus
  observedGeneration int64 1
  disruptedPods map[string]Time 2
  disruptionsAllowed int32 3 noomit
  currentHealthy int32 4 noomit
  desiredHealthy int32 5 noomit
  expectedPods int32 6 noomit
  conditions []meta/v1.Condition 7 merge=type map=type
type PodDisruptionBudget object
  metadata meta/v1.ObjectMeta 1
  spec PodDisruptionBudgetSpec 2
  status PodDisruptionBudgetStatus 3
type Eviction object
  metadata meta/v1.ObjectMeta 1
  deleteOptions meta/v1.DeleteOptions 2
"""#
}
