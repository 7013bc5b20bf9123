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
  partition int32 1 ptr
  maxUnavailable IntOrString 2
type StatefulSetPersistentVolumeClaimRetentionPolicy
  whenDeleted string 1
  whenScaled string 2
type StatefulSetOrdinals
  start int32 1 noomit
type StatefulSetSpec
  replicas int32 1 ptr
  selector meta/v1.LabelSelector 2 required ptr noomit
  template core/v1.PodTemplateSpec 3 required noomit
  volumeClaimTemplates []core/v1.PersistentVolumeClaim 4 atomic
  serviceName string 5 noomit
  podManagementPolicy string 6
  updateStrategy StatefulSetUpdateStrategy 7
  revisionHistoryLimit int32 8 ptr
  minReadySeconds int32 9
  persistentVolumeClaimRetentionPolicy StatefulSetPersistentVolumeClaimRetentionPolicy 10
  ordinals StatefulSetOrdinals 11
type StatefulSetStatus
  observedGeneration int64 1
  replicas int32 2 required noomit
  readyReplicas int32 3
  currentReplicas int32 4
  updatedReplicas int32 5
  currentRevision string 6
  updateRevision string 7
  collisionCount int32 9 ptr
  conditions []StatefulSetCondition 10 merge=type map=type
  availableReplicas int32 11 noomit
type StatefulSetCondition
  type string 1 noomit
  status string 2 noomit
  lastTransitionTime Time 3
  reason string 4
  message string 5
type Deployment object
  metadata meta/v1.ObjectMeta 1
  spec DeploymentSpec 2 required
  status DeploymentStatus 3
type DeploymentSpec
  replicas int32 1 ptr
  selector meta/v1.LabelSelector 2 required ptr noomit
  template core/v1.PodTemplateSpec 3 required noomit
  strategy DeploymentStrategy 4 retainKeys
  minReadySeconds int32 5
  revisionHistoryLimit int32 6 ptr
  paused bool 7
  progressDeadlineSeconds int32 9 ptr
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
  collisionCount int32 8 ptr
  terminatingReplicas int32 9 ptr
type DeploymentCondition
  type string 1 noomit
  status string 2 noomit
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
  selector meta/v1.LabelSelector 1 required ptr noomit
  template core/v1.PodTemplateSpec 2 required noomit
  updateStrategy DaemonSetUpdateStrategy 3
  minReadySeconds int32 4
  revisionHistoryLimit int32 6 ptr
type DaemonSetStatus
  currentNumberScheduled int32 1 required noomit
  numberMisscheduled int32 2 required noomit
  desiredNumberScheduled int32 3 required noomit
  numberReady int32 4 required noomit
  observedGeneration int64 5
  updatedNumberScheduled int32 6
  numberAvailable int32 7
  numberUnavailable int32 8
  collisionCount int32 9 ptr
  conditions []DaemonSetCondition 10 merge=type map=type
type DaemonSetCondition
  type string 1 noomit
  status string 2 noomit
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
  replicas int32 1 ptr
  selector meta/v1.LabelSelector 2 required ptr noomit
  template core/v1.PodTemplateSpec 3
  minReadySeconds int32 4
type ReplicaSetStatus
  replicas int32 1 required noomit
  fullyLabeledReplicas int32 2
  observedGeneration int64 3
  readyReplicas int32 4
  availableReplicas int32 5
  conditions []ReplicaSetCondition 6 merge=type map=type
  terminatingReplicas int32 7 ptr
type ReplicaSetCondition
  type string 1 noomit
  status string 2 noomit
  lastTransitionTime Time 3
  reason string 4
  message string 5
type ControllerRevision object
  metadata meta/v1.ObjectMeta 1
  data any 2 required noomit
  revision int64 3 noomit
"""#
}
