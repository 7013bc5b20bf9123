extension SchemaSources {
    static let batchV1 = #"""
package batch/v1
type Job object
  metadata meta/v1.ObjectMeta 1
  spec JobSpec 2
  status JobStatus 3
type PodFailurePolicyOnExitCodesRequirement
  containerName string 1 ptr
  operator string 2 required noomit
  values []int32 3 required set noomit
type PodFailurePolicyOnPodConditionsPattern
  type string 1 required noomit
  status string 2 noomit
type PodFailurePolicyRule
  action string 1 required noomit
  onExitCodes PodFailurePolicyOnExitCodesRequirement 2
  onPodConditions []PodFailurePolicyOnPodConditionsPattern 3 atomic
type PodFailurePolicy
  rules []PodFailurePolicyRule 1 required atomic noomit
type SuccessPolicy
  rules []SuccessPolicyRule 1 required atomic noomit
type SuccessPolicyRule
  succeededIndexes string 1 ptr
  succeededCount int32 2 ptr
type JobSpec
  parallelism int32 1 ptr
  completions int32 2 ptr
  activeDeadlineSeconds int64 3 ptr
  selector meta/v1.LabelSelector 4
  manualSelector bool 5 ptr
  template core/v1.PodTemplateSpec 6 required noomit
  backoffLimit int32 7 ptr
  ttlSecondsAfterFinished int32 8 ptr
  completionMode string 9 ptr
  suspend bool 10 ptr
  podFailurePolicy PodFailurePolicy 11
  backoffLimitPerIndex int32 12 ptr
  maxFailedIndexes int32 13 ptr
  podReplacementPolicy string 14 ptr
  managedBy string 15 ptr
  successPolicy SuccessPolicy 16
  scheduling JobSchedulingConfiguration 17  # new in Kubernetes 1.37 (the Python client has it)
type JobSchedulingConfiguration
  schedulingPolicy scheduling/v1alpha3.WorkloadPodGroupSchedulingPolicy 1  # new in Kubernetes 1.37 (the Python client has it)
  schedulingConstraints scheduling/v1alpha3.WorkloadPodGroupSchedulingConstraints 2  # new in Kubernetes 1.37 (the Python client has it)
  disruptionMode scheduling/v1alpha3.WorkloadPodGroupDisruptionMode 3  # new in Kubernetes 1.37 (the Python client has it)
  resourceClaims []scheduling/v1alpha3.WorkloadPodGroupResourceClaim 4 merge=name map=name  # new in Kubernetes 1.37 (the Python client has it)
type JobStatus
  conditions []JobCondition 1 merge=type atomic
  startTime Time 2
  completionTime Time 3
  active int32 4
  succeeded int32 5
  failed int32 6
  completedIndexes string 7
  uncountedTerminatedPods UncountedTerminatedPods 8
  ready int32 9 ptr
  failedIndexes string 10 ptr
  terminating int32 11 ptr
type UncountedTerminatedPods
  succeeded []string 1 set
  failed []string 2 set
type JobCondition
  type string 1 required noomit
  status string 2 required noomit
  lastProbeTime Time 3
  lastTransitionTime Time 4
  reason string 5
  message string 6
type JobTemplateSpec
  metadata meta/v1.ObjectMeta 1
  spec JobSpec 2
type CronJob object
  metadata meta/v1.ObjectMeta 1
  spec CronJobSpec 2 required
  status CronJobStatus 3
type CronJobSpec
  schedule string 1 required noomit
  startingDeadlineSeconds int64 2 ptr
  concurrencyPolicy string 3
  suspend bool 4 ptr
  jobTemplate JobTemplateSpec 5 required noomit
  successfulJobsHistoryLimit int32 6 ptr
  failedJobsHistoryLimit int32 7 ptr
  timeZone string 8 ptr
type CronJobStatus
  active []core/v1.ObjectReference 1 atomic
  lastScheduleTime Time 4
  lastSuccessfulTime Time 5

# JobSpec.scheduling (alpha, Kubernetes 1.37, feature gate WorkloadWithJob) refers to these
# scheduling/v1alpha3 types; nothing else served uses that package, so they live here.
package scheduling/v1alpha3
type WorkloadPodGroupSchedulingPolicy
  basic any 1  # an empty struct upstream
  gang WorkloadPodGroupGangSchedulingPolicy 2
type WorkloadPodGroupGangSchedulingPolicy
  minCount int32 1 ptr
type WorkloadPodGroupSchedulingConstraints
  topology []TopologyConstraint 1 atomic
type TopologyConstraint
  key string 1 required noomit
type WorkloadPodGroupResourceClaim
  name string 1 required noomit
  resourceClaimName string 2 ptr
  resourceClaimTemplateName string 3 ptr
type WorkloadPodGroupDisruptionMode
  single any 1  # an empty struct upstream
  all any 2  # an empty struct upstream
"""#
}
