extension SchemaSources {
    static let autoscalingV1 = #"""
package autoscaling/v1
type CrossVersionObjectReference atomic
  kind string 1 required noomit
  name string 2 required noomit
  apiVersion string 3
type HorizontalPodAutoscalerSpec
  scaleTargetRef CrossVersionObjectReference 1 required noomit
  minReplicas int32 2 ptr
  maxReplicas int32 3 required noomit
  targetCPUUtilizationPercentage int32 4 ptr
type HorizontalPodAutoscalerStatus
  observedGeneration int64 1 ptr
  lastScaleTime Time 2
  currentReplicas int32 3 required noomit
  desiredReplicas int32 4 required noomit
  currentCPUUtilizationPercentage int32 5 ptr
type HorizontalPodAutoscaler object
  metadata meta/v1.ObjectMeta 1
  spec HorizontalPodAutoscalerSpec 2 required
  status HorizontalPodAutoscalerStatus 3
type Scale object
  metadata meta/v1.ObjectMeta 1
  spec ScaleSpec 2
  status ScaleStatus 3
type ScaleSpec
  replicas int32 1
type ScaleStatus
  replicas int32 1 required noomit
  selector string 2
"""#
}
