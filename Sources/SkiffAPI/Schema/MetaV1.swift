extension SchemaSources {
    static let metaV1 = #"""
package meta/v1
# Status and DeleteOptions carry apiVersion/kind (TypeMeta) but are not served kinds,
# so those two fields are written out (with no protobuf tag) instead of `object`.
type ObjectMeta
  name string 1
  generateName string 2
  namespace string 3
  selfLink string 4
  uid string 5
  resourceVersion string 6
  generation int64 7
  creationTimestamp Time 8
  deletionTimestamp Time 9
  deletionGracePeriodSeconds int64 10 ptr
  labels map[string]string 11
  annotations map[string]string 12
  ownerReferences []OwnerReference 13 merge=uid map=uid
  finalizers []string 14 merge set
  managedFields []ManagedFieldsEntry 17 atomic
type ListMeta
  selfLink string 1
  resourceVersion string 2
  continue string 3
  remainingItemCount int64 4 ptr
  shardInfo ShardInfo 5
type LabelSelector atomic
  matchLabels map[string]string 1
  matchExpressions []LabelSelectorRequirement 2 atomic
type Condition
  type string 1 required noomit
  status string 2 required noomit
  observedGeneration int64 3
  lastTransitionTime Time 4 required noomit
  reason string 5 required noomit
  message string 6 required noomit
type Status
  apiVersion string -
  kind string -
  metadata ListMeta 1
  status string 2
  message string 3
  reason string 4
  details StatusDetails 5
  code int32 6
type DeleteOptions
  apiVersion string -
  kind string -
  gracePeriodSeconds int64 1 ptr
  preconditions Preconditions 2
  orphanDependents bool 3 ptr
  propagationPolicy string 4 ptr
  dryRun []string 5 atomic
  ignoreStoreReadErrorWithClusterBreakingPotential bool 6 ptr
type OwnerReference atomic
  kind string 1 required noomit
  name string 3 required noomit
  uid string 4 required noomit
  apiVersion string 5 required noomit
  controller bool 6 ptr
  blockOwnerDeletion bool 7 ptr
type ManagedFieldsEntry
  manager string 1
  operation string 2
  apiVersion string 3
  time Time 4
  fieldsType string 6
  fieldsV1 any 7
  subresource string 8
type ShardInfo
  selector string 1 required noomit
type LabelSelectorRequirement
  key string 1 required noomit
  operator string 2 required noomit
  values []string 3 atomic
type StatusDetails
  name string 1
  group string 2
  kind string 3
  causes []StatusCause 4 atomic
  retryAfterSeconds int32 5
  uid string 6
type Preconditions
  uid string 1 ptr
  resourceVersion string 2 ptr
type StatusCause
  reason string 1
  message string 2
  field string 3
"""#
}
