extension SchemaSources {
    static let autoscalingV2 = #"""
package autoscaling/v2
type HorizontalPodAutoscaler object
  metadata meta/v1.ObjectMeta 1
  spec HorizontalPodAutoscalerSpec 2 required
  status HorizontalPodAutoscalerStatus 3
type HorizontalPodAutoscalerSpec
  scaleTargetRef CrossVersionObjectReference 1 required noomit
  minReplicas int32 2 ptr
  maxReplicas int32 3 required noomit
  metrics []MetricSpec 4 atomic
  behavior HorizontalPodAutoscalerBehavior 5
type CrossVersionObjectReference
  kind string 1 required noomit
  name string 2 required noomit
  apiVersion string 3
type MetricSpec
  type string 1 required noomit
  object ObjectMetricSource 2
  pods PodsMetricSource 3
  resource ResourceMetricSource 4
  external ExternalMetricSource 5
  containerResource ContainerResourceMetricSource 7
type HorizontalPodAutoscalerBehavior
  scaleUp HPAScalingRules 1
  scaleDown HPAScalingRules 2
type HPAScalingRules
  selectPolicy string 1 ptr
  policies []HPAScalingPolicy 2 atomic
  stabilizationWindowSeconds int32 3 ptr
  tolerance Quantity 4
type HPAScalingPolicy
  type string 1 required noomit
  value int32 2 required noomit
  periodSeconds int32 3 required noomit
type ObjectMetricSource
  describedObject CrossVersionObjectReference 1 required noomit
  target MetricTarget 2 required noomit
  metric MetricIdentifier 3 required noomit
type PodsMetricSource
  metric MetricIdentifier 1 required noomit
  target MetricTarget 2 required noomit
type ResourceMetricSource
  name string 1 required noomit
  target MetricTarget 2 required noomit
type ContainerResourceMetricSource
  name string 1 required noomit
  target MetricTarget 2 required noomit
  container string 3 required noomit
type ExternalMetricSource
  metric MetricIdentifier 1 required noomit
  target MetricTarget 2 required noomit
type MetricIdentifier
  name string 1 required noomit
  selector meta/v1.LabelSelector 2
type MetricTarget
  type string 1 required noomit
  value Quantity 2
  averageValue Quantity 3
  averageUtilization int32 4 ptr
type HorizontalPodAutoscalerStatus
  observedGeneration int64 1 ptr
  lastScaleTime Time 2
  currentReplicas int32 3
  desiredReplicas int32 4 required noomit
  currentMetrics []MetricStatus 5 atomic noomit
  conditions []HorizontalPodAutoscalerCondition 6 merge=type map=type
type HorizontalPodAutoscalerCondition
  type string 1 required noomit
  status string 2 required noomit
  lastTransitionTime Time 3
  reason string 4
  message string 5
  observedGeneration int64 6 ptr  # new in Kubernetes 1.37 (the Python client has it)
type MetricStatus
  type string 1 required noomit
  object ObjectMetricStatus 2
  pods PodsMetricStatus 3
  resource ResourceMetricStatus 4
  external ExternalMetricStatus 5
  containerResource ContainerResourceMetricStatus 7
type ObjectMetricStatus
  metric MetricIdentifier 1 required noomit
  current MetricValueStatus 2 required noomit
  describedObject CrossVersionObjectReference 3 required noomit
type PodsMetricStatus
  metric MetricIdentifier 1 required noomit
  current MetricValueStatus 2 required noomit
type ResourceMetricStatus
  name string 1 required noomit
  current MetricValueStatus 2 required noomit
type ContainerResourceMetricStatus
  name string 1 required noomit
  current MetricValueStatus 2 required noomit
  container string 3 required noomit
type ExternalMetricStatus
  metric MetricIdentifier 1 required noomit
  current MetricValueStatus 2 required noomit
type MetricValueStatus
  value Quantity 1
  averageValue Quantity 2
  averageUtilization int32 3 ptr
"""#
}
