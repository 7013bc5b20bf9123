extension SchemaSources {
    static let appsV1 = #"""
package apps/v1
type StatefulSet object
  metadata meta/v1.ObjectMeta 1
  spec StatefulSetSpec 2 required
  status StatefulSetStatus 3
type StatefulSetUpdateStrategy
  type string 1
  rollingUpdate RollingUpdateStatefulSetStrategy 2
type RollingUpdateStatefulSetStrategy
  partition int32 1
  maxUnavailable IntOrString 2
type StatefulSetPersistentVolumeClaimRetentionPolicy
  whenDeleted string 1
  whenScaled string 2
type StatefulSetOrdinals
  start int32 1
type StatefulSetSpec
  replicas int32 1
  selector meta/v1.LabelSelector 2 required
  template core/v1.PodTemplateSpec 3 required
  volumeClaimTemplates []core/v1.PersistentVolumeClaim 4 atomic
  serviceName string 5
  podManagementPolicy string 6
  updateStrategy StatefulSetUpdateStrategy 7
  revisionHistoryLimit int32 8
  minReadySeconds int32 9
  persistentVolumeClaimRetentionPolicy StatefulSetPersistentVolumeClaimRetentionPolicy 10
  ordinals StatefulSetOrdinals 11
type StatefulSetStatus
  observedGeneration int64 1
  replicas int32 2 required
  readyReplicas int32 3
  currentReplicas int32 4
  updatedReplicas int32 5
  currentRevision string 6
  updateRevision string 7
  collisionCount int32 9
  conditions []StatefulSetCondition 10 merge=type map=type
  availableReplicas int32 11
type StatefulSetCondition
  type string 1
  status string 2
  lastTransitionTime Time 3
  reason string 4
  message string 5
type Deployment object
  metadata meta/v1.ObjectMeta 1
  spec DeploymentSpec 2 required
  status DeploymentStatus 3
type DeploymentSpec
  replicas int32 1
  selector meta/v1.LabelSelector 2 required
  template core/v1.PodTemplateSpec 3 required
  strategy DeploymentStrategy 4 retainKeys
  minReadySeconds int32 5
  revisionHistoryLimit int32 6
  paused bool 7
  progressDeadlineSeconds int32 9
type DeploymentStrategy
  type string 1
  rollingUpdate RollingUpdateDeployment 2
type RollingUpdateDeployment
  maxUnavailable IntOrString 1
  maxSurge IntOrString 2
type DeploymentStatus
  observedGeneration int64 1
  replicas int32 2
  updatedReplicas int32 3
  availableReplicas int32 4
  unavailableReplicas int32 5
  conditions []DeploymentCondition 6 merge=type map=type
  readyReplicas int32 7
  collisionCount int32 8
  terminatingReplicas int32 9
type DeploymentCondition
  type string 1
  status string 2
  reason string 4
  message string 5
  lastUpdateTime Time 6
  lastTransitionTime Time 7
type DaemonSetUpdateStrategy
  type string 1
  rollingUpdate RollingUpdateDaemonSet 2
type RollingUpdateDaemonSet
  maxUnavailable IntOrString 1
  maxSurge IntOrString 2
type DaemonSetSpec
  selector meta/v1.LabelSelector 1 required
  template core/v1.PodTemplateSpec 2 required
  updateStrategy DaemonSetUpdateStrategy 3
  minReadySeconds int32 4
  revisionHistoryLimit int32 6
type DaemonSetStatus
  currentNumberScheduled int32 1 required
  numberMisscheduled int32 2 required
  desiredNumberScheduled int32 3 required
  numberReady int32 4 required
  observedGeneration int64 5
  updatedNumberScheduled int32 6
  numberAvailable int32 7
  numberUnavailable int32 8
  collisionCount int32 9
  conditions []DaemonSetCondition 10 merge=type map=type
type DaemonSetCondition
  type string 1
  status string 2
  lastTransitionTime Time 3
  reason string 4
  message string 5
type DaemonSet object
  metadata meta/v1.ObjectMeta 1
  spec DaemonSetSpec 2 required
  status DaemonSetStatus 3
type ReplicaSet object
  metadata meta/v1.ObjectMeta 1
  spec ReplicaSetSpec 2 required
  status ReplicaSetStatus 3
type ReplicaSetSpec
  replicas int32 1
  selector meta/v1.LabelSelector 2 required
  template core/v1.PodTemplateSpec 3
  minReadySeconds int32 4
type ReplicaSetStatus
  replicas int32 1 required
  fullyLabeledReplicas int32 2
  observedGeneration int64 3
  readyReplicas int32 4
  availableReplicas int32 5
  conditions []ReplicaSetCondition 6 merge=type map=type
  terminatingReplicas int32 7
type ReplicaSetCondition
  type string 1
  status string 2
  lastTransitionTime Time 3
  reason string 4
  message string 5
type ControllerRevision object
  metadata meta/v1.ObjectMeta 1
  data any 2 required
  revision int64 3
"""#
}
