extension SchemaSources {
    static let coreV1Pod = #"""
package core/v1
# Go structs embedded inline are flattened: their fields appear in the outer type with
# tag `-`, since on the wire they sit in a nested message (Probe: ProbeHandler is field 1;
# EphemeralContainer: EphemeralContainerCommon is field 1; ConfigMapKeySelector,
# SecretKeySelector, ConfigMapEnvSource, SecretEnvSource: LocalObjectReference is field 1).
type Pod object
  metadata meta/v1.ObjectMeta 1
  spec PodSpec 2
  status PodStatus 3
type PodTemplate object
  metadata meta/v1.ObjectMeta 1
  template PodTemplateSpec 2
type Binding object
  metadata meta/v1.ObjectMeta 1
  target ObjectReference 2 required
type ReplicationController object
  metadata meta/v1.ObjectMeta 1
  spec ReplicationControllerSpec 2
  status ReplicationControllerStatus 3
type PodSpec
  volumes []Volume 1 retainKeys merge=name map=name
  containers []Container 2 required merge=name map=name
  restartPolicy string 3
  terminationGracePeriodSeconds int64 4
  activeDeadlineSeconds int64 5
  dnsPolicy string 6
  nodeSelector map[string]string 7
  serviceAccountName string 8
  serviceAccount string 9
  nodeName string 10
  hostNetwork bool 11
  hostPID bool 12
  hostIPC bool 13
  securityContext PodSecurityContext 14
  imagePullSecrets []LocalObjectReference 15 merge=name map=name
  hostname string 16
  subdomain string 17
  affinity Affinity 18
  schedulerName string 19
  initContainers []Container 20 merge=name map=name
  automountServiceAccountToken bool 21
  tolerations []Toleration 22 atomic
  hostAliases []HostAlias 23 merge=ip map=ip
  priorityClassName string 24
  priority int32 25
  dnsConfig PodDNSConfig 26
  shareProcessNamespace bool 27
  readinessGates []PodReadinessGate 28 atomic
  runtimeClassName string 29
  enableServiceLinks bool 30
  preemptionPolicy string 31
  overhead map[string]Quantity 32
  topologySpreadConstraints []TopologySpreadConstraint 33 merge=topologyKey map=topologyKey,whenUnsatisfiable
  ephemeralContainers []EphemeralContainer 34 merge=name map=name
  setHostnameAsFQDN bool 35
  os PodOS 36
  hostUsers bool 37
  schedulingGates []PodSchedulingGate 38 merge=name map=name
  resourceClaims []PodResourceClaim 39 retainKeys merge=name map=name
  resources ResourceRequirements 40
  hostnameOverride string 41
  schedulingGroup PodSchedulingGroup 43
  evictionResponders []EvictionResponder 44 merge=name map=name
type PodStatus
  phase string 1
  conditions []PodCondition 2 merge=type map=type
  message string 3
  reason string 4
  hostIP string 5
  podIP string 6
  startTime Time 7
  containerStatuses []ContainerStatus 8 atomic
  qosClass string 9
  initContainerStatuses []ContainerStatus 10 atomic
  nominatedNodeName string 11
  podIPs []PodIP 12 merge=ip map=ip
  ephemeralContainerStatuses []ContainerStatus 13 atomic
  resize string 14
  resourceClaimStatuses []PodResourceClaimStatus 15 retainKeys merge=name map=name
  hostIPs []HostIP 16 merge=ip atomic
  observedGeneration int64 17
  extendedResourceClaimStatus PodExtendedResourceClaimStatus 18
  allocatedResources map[string]Quantity 19
  resources ResourceRequirements 20
  nodeAllocatableResourceClaimStatuses []NodeAllocatableResourceClaimStatus 21 merge=resourceClaimName map=resourceClaimName
  volumeHealth []PodVolumeHealth 22 map=name
type PodTemplateSpec
  metadata meta/v1.ObjectMeta 1
  spec PodSpec 2
type ObjectReference atomic
  kind string 1
  namespace string 2
  name string 3
  uid string 4
  apiVersion string 5
  resourceVersion string 6
  fieldPath string 7
type ReplicationControllerSpec
  replicas int32 1
  selector map[string]string 2
  template PodTemplateSpec 3
  minReadySeconds int32 4
type ReplicationControllerStatus
  replicas int32 1 required
  fullyLabeledReplicas int32 2
  observedGeneration int64 3
  readyReplicas int32 4
  availableReplicas int32 5
  conditions []ReplicationControllerCondition 6 merge=type map=type
type Container
  name string 1 required
  image string 2
  command []string 3 atomic
  args []string 4 atomic
  workingDir string 5
  ports []ContainerPort 6 merge=containerPort map=containerPort,protocol
  env []EnvVar 7 merge=name map=name
  resources ResourceRequirements 8
  volumeMounts []VolumeMount 9 merge=mountPath map=mountPath
  livenessProbe Probe 10
  readinessProbe Probe 11
  lifecycle Lifecycle 12
  terminationMessagePath string 13
  imagePullPolicy string 14
  securityContext SecurityContext 15
  stdin bool 16
  stdinOnce bool 17
  tty bool 18
  envFrom []EnvFromSource 19 atomic
  terminationMessagePolicy string 20
  volumeDevices []VolumeDevice 21 merge=devicePath map=devicePath
  startupProbe Probe 22
  resizePolicy []ContainerResizePolicy 23 atomic
  restartPolicy string 24
  restartPolicyRules []ContainerRestartRule 25 atomic
type EphemeralContainer
  name string - required
  image string -
  command []string - atomic
  args []string - atomic
  workingDir string -
  ports []ContainerPort - merge=containerPort map=containerPort,protocol
  env []EnvVar - merge=name map=name
  resources ResourceRequirements -
  volumeMounts []VolumeMount - merge=mountPath map=mountPath
  livenessProbe Probe -
  readinessProbe Probe -
  lifecycle Lifecycle -
  terminationMessagePath string -
  imagePullPolicy string -
  securityContext SecurityContext -
  stdin bool -
  stdinOnce bool -
  tty bool -
  envFrom []EnvFromSource - atomic
  terminationMessagePolicy string -
  volumeDevices []VolumeDevice - merge=devicePath map=devicePath
  startupProbe Probe -
  resizePolicy []ContainerResizePolicy - atomic
  restartPolicy string -
  restartPolicyRules []ContainerRestartRule - atomic
  targetContainerName string 2
type PodSecurityContext
  seLinuxOptions SELinuxOptions 1
  runAsUser int64 2
  runAsNonRoot bool 3
  supplementalGroups []int64 4 atomic
  fsGroup int64 5
  runAsGroup int64 6
  sysctls []Sysctl 7 atomic
  windowsOptions WindowsSecurityContextOptions 8
  fsGroupChangePolicy string 9
  seccompProfile SeccompProfile 10
  appArmorProfile AppArmorProfile 11
  supplementalGroupsPolicy string 12
  seLinuxChangePolicy string 13
type LocalObjectReference atomic
  name string 1
type Affinity
  nodeAffinity NodeAffinity 1
  podAffinity PodAffinity 2
  podAntiAffinity PodAntiAffinity 3
type Toleration
  key string 1
  operator string 2
  value string 3
  effect string 4
  tolerationSeconds int64 5
type HostAlias
  ip string 1 required
  hostnames []string 2 atomic
type PodDNSConfig
  nameservers []string 1 atomic
  searches []string 2 atomic
  options []PodDNSConfigOption 3 atomic
type PodReadinessGate
  conditionType string 1 required
type TopologySpreadConstraint
  maxSkew int32 1 required
  topologyKey string 2 required
  whenUnsatisfiable string 3 required
  labelSelector meta/v1.LabelSelector 4
  minDomains int32 5
  nodeAffinityPolicy string 6
  nodeTaintsPolicy string 7
  matchLabelKeys []string 8 atomic
type PodOS
  name string 1 required
type PodSchedulingGate
  name string 1 required
type PodResourceClaim
  name string 1 required
  resourceClaimName string 3
  resourceClaimTemplateName string 4
type ResourceRequirements
  limits map[string]Quantity 1
  requests map[string]Quantity 2
  claims []ResourceClaim 3 map=name
type PodSchedulingGroup
  podGroupName string 1
type EvictionResponder atomic
  name string 1 required
  priority int32 2 required
type PodCondition
  type string 1 required
  status string 2 required
  lastProbeTime Time 3
  lastTransitionTime Time 4
  reason string 5
  message string 6
  observedGeneration int64 7
type HostIP
  ip string 1 required
type PodIP
  ip string 1 required
type ContainerStatus
  name string 1 required
  state ContainerState 2
  lastState ContainerState 3
  ready bool 4 required
  restartCount int32 5 required
  image string 6 required
  imageID string 7 required
  containerID string 8
  started bool 9
  allocatedResources map[string]Quantity 10
  resources ResourceRequirements 11
  volumeMounts []VolumeMountStatus 12 merge=mountPath map=mountPath
  user ContainerUser 13
  allocatedResourcesStatus []ResourceStatus 14 merge=name map=name
  stopSignal string 15
type PodResourceClaimStatus
  name string 1 required
  resourceClaimName string 2
type PodExtendedResourceClaimStatus
  requestMappings []ContainerExtendedResourceRequest 1 required atomic
  resourceClaimName string 2 required
type NodeAllocatableResourceClaimStatus
  resourceClaimName string 1 required
  containers []string 2 set
  mapping []NodeAllocatableMappedResources 4 merge=name map=name
  overhead []NodeAllocatableOverheadResources 5 merge=name map=name
type PodVolumeHealth
  name string 1 required
  healthConditions []VolumeHealthCondition 2 merge=status map=status,reason
  lastTransitionTime Time 3
type ReplicationControllerCondition
  type string 1 required
  status string 2 required
  lastTransitionTime Time 3
  reason string 4
  message string 5
type ContainerPort
  name string 1
  hostPort int32 2
  containerPort int32 3 required
  protocol string 4
  hostIP string 5
type EnvFromSource
  prefix string 1
  configMapRef ConfigMapEnvSource 2
  secretRef SecretEnvSource 3
type EnvVar
  name string 1 required
  value string 2
  valueFrom EnvVarSource 3
type ContainerResizePolicy
  resourceName string 1 required
  restartPolicy string 2 required
type ContainerRestartRule
  action string 1 required
  exitCodes ContainerRestartRuleOnExitCodes 2
type VolumeMount
  name string 1 required
  readOnly bool 2
  mountPath string 3 required
  subPath string 4
  mountPropagation string 5
  subPathExpr string 6
  recursiveReadOnly string 7
  bindMountOptions []string 8 set
type VolumeDevice
  name string 1 required
  devicePath string 2 required
type Probe
  exec ExecAction -
  httpGet HTTPGetAction -
  tcpSocket TCPSocketAction -
  grpc GRPCAction -
  initialDelaySeconds int32 2
  timeoutSeconds int32 3
  periodSeconds int32 4
  successThreshold int32 5
  failureThreshold int32 6
  terminationGracePeriodSeconds int64 7
type Lifecycle
  postStart LifecycleHandler 1
  preStop LifecycleHandler 2
  stopSignal string 3
type SecurityContext
  capabilities Capabilities 1
  privileged bool 2
  seLinuxOptions SELinuxOptions 3
  runAsUser int64 4
  runAsNonRoot bool 5
  readOnlyRootFilesystem bool 6
  allowPrivilegeEscalation bool 7
  runAsGroup int64 8
  procMount string 9
  windowsOptions WindowsSecurityContextOptions 10
  seccompProfile SeccompProfile 11
  appArmorProfile AppArmorProfile 12
type SELinuxOptions
  user string 1
  role string 2
  type string 3
  level string 4
type WindowsSecurityContextOptions
  gmsaCredentialSpecName string 1
  gmsaCredentialSpec string 2
  runAsUserName string 3
  hostProcess bool 4
type Sysctl
  name string 1 required
  value string 2 required
type SeccompProfile
  type string 1 required
  localhostProfile string 2
type AppArmorProfile
  type string 1 required
  localhostProfile string 2
type NodeAffinity
  requiredDuringSchedulingIgnoredDuringExecution NodeSelector 1
  preferredDuringSchedulingIgnoredDuringExecution []PreferredSchedulingTerm 2 atomic
type PodAffinity
  requiredDuringSchedulingIgnoredDuringExecution []PodAffinityTerm 1 atomic
  preferredDuringSchedulingIgnoredDuringExecution []WeightedPodAffinityTerm 2 atomic
type PodAntiAffinity
  requiredDuringSchedulingIgnoredDuringExecution []PodAffinityTerm 1 atomic
  preferredDuringSchedulingIgnoredDuringExecution []WeightedPodAffinityTerm 2 atomic
type PodDNSConfigOption
  name string 1
  value string 2
type ResourceClaim
  name string 1 required
  request string 2
type ContainerState
  waiting ContainerStateWaiting 1
  running ContainerStateRunning 2
  terminated ContainerStateTerminated 3
type VolumeMountStatus
  name string 1 required
  mountPath string 2 required
  readOnly bool 3
  recursiveReadOnly string 4
  volumeStatus VolumeStatus 5
type ContainerUser
  linux LinuxContainerUser 1
type ResourceStatus
  name string 1 required
  resources []ResourceHealth 2 map=resourceID
type ContainerExtendedResourceRequest
  containerName string 1 required
  resourceName string 2 required
  requestName string 3 required
type NodeAllocatableMappedResources
  name string 1 required
  quantity Quantity 2 required
type NodeAllocatableOverheadResources
  name string 1 required
  perPod Quantity 2
  perContainer Quantity 3
type VolumeHealthCondition
  status string 1 required
  reason string 2 required
  message string 3
type ConfigMapEnvSource
  name string -
  optional bool 2
type SecretEnvSource
  name string -
  optional bool 2
type EnvVarSource
  fieldRef ObjectFieldSelector 1
  resourceFieldRef ResourceFieldSelector 2
  configMapKeyRef ConfigMapKeySelector 3
  secretKeyRef SecretKeySelector 4
  fileKeyRef FileKeySelector 5
type ContainerRestartRuleOnExitCodes
  operator string 1 required
  values []int32 2 set
type ExecAction
  command []string 1 atomic
type HTTPGetAction
  path string 1
  port IntOrString 2 required
  host string 3
  scheme string 4
  httpHeaders []HTTPHeader 5 atomic
  protocol string 6
type TCPSocketAction
  port IntOrString 1 required
  host string 2
type GRPCAction
  port int32 1 required
  service string 2
  mode string 3
type LifecycleHandler
  exec ExecAction 1
  httpGet HTTPGetAction 2
  tcpSocket TCPSocketAction 3
  sleep SleepAction 4
type Capabilities
  add []string 1 atomic
  drop []string 2 atomic
type NodeSelector atomic
  nodeSelectorTerms []NodeSelectorTerm 1 required atomic
type PreferredSchedulingTerm
  weight int32 1 required
  preference NodeSelectorTerm 2 required
type PodAffinityTerm
  labelSelector meta/v1.LabelSelector 1
  namespaces []string 2 atomic
  topologyKey string 3 required
  namespaceSelector meta/v1.LabelSelector 4
  matchLabelKeys []string 5 atomic
  mismatchLabelKeys []string 6 atomic
type WeightedPodAffinityTerm
  weight int32 1 required
  podAffinityTerm PodAffinityTerm 2 required
type ContainerStateWaiting
  reason string 1
  message string 2
type ContainerStateRunning
  startedAt Time 1
type ContainerStateTerminated
  exitCode int32 1 required
  signal int32 2
  reason string 3
  message string 4
  startedAt Time 5
  finishedAt Time 6
  containerID string 7
type VolumeStatus
  image ImageVolumeStatus 1
type LinuxContainerUser
  uid int64 1 required
  gid int64 2 required
  supplementalGroups []int64 3 atomic
type ResourceHealth
  resourceID string 1 required
  health string 2
  message string 6
type ObjectFieldSelector atomic
  apiVersion string 1
  fieldPath string 2 required
type ResourceFieldSelector atomic
  containerName string 1
  resource string 2 required
  divisor Quantity 3
type ConfigMapKeySelector atomic
  name string -
  key string 2 required
  optional bool 3
type SecretKeySelector atomic
  name string -
  key string 2 required
  optional bool 3
type FileKeySelector atomic
  volumeName string 1 required
  path string 2 required
  key string 3 required
  optional bool 4
type HTTPHeader
  name string 1 required
  value string 2 required
type SleepAction
  seconds int64 1 required
type NodeSelectorTerm atomic
  matchExpressions []NodeSelectorRequirement 1 atomic
  matchFields []NodeSelectorRequirement 2 atomic
type ImageVolumeStatus
  imageRef string 1 required
type NodeSelectorRequirement
  key string 1 required
  operator string 2 required
  values []string 3 atomic
"""#
}
