extension SchemaSources {
    static let autoscalingV1 = #"""
package autoscaling/v1
type CrossVersionObjectReference atomic
  kind string 1 required
  name string 2 required
  apiVersion string 3
type HorizontalPodAutoscalerSpec
  scaleTargetRef CrossVersionObjectReference 1 required
  minReplicas int32 2
  maxReplicas int32 3 required
  targetCPUUtilizationPercentage int32 4
type HorizontalPodAutoscalerStatus
  observedGeneration int64 1
  lastScaleTime Time 2
  currentReplicas int32 3 required
  desiredReplicas int32 4 required
  currentCPUUtilizationPercentage int32 5
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
  replicas int32 1 required
  selector string 2
"""#
}
