extension SchemaSources {
    static let coreV1Pod = #"""
package core/v1
# Go structs embedded inline are `inline` fields: JSON carries their fields directly,
# protobuf nests them in a message (Probe's ProbeHandler, EphemeralContainerCommon, the
# LocalObjectReference of the key selectors and env sources).
type Pod object
  metadata meta/v1.ObjectMeta 1
  spec PodSpec 2
  status PodStatus 3
type PodTemplate object
  metadata meta/v1.ObjectMeta 1
  template PodTemplateSpec 2
type Binding object
  metadata meta/v1.ObjectMeta 1
  target ObjectReference 2 required noomit
type ReplicationController object
  metadata meta/v1.ObjectMeta 1
  spec ReplicationControllerSpec 2
  status ReplicationControllerStatus 3
type PodSpec
  volumes []Volume 1 retainKeys merge=name map=name
  containers []Container 2 required merge=name map=name noomit
  restartPolicy string 3
  terminationGracePeriodSeconds int64 4 ptr
  activeDeadlineSeconds int64 5 ptr
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
  automountServiceAccountToken bool 21 ptr
  tolerations []Toleration 22 atomic
  hostAliases []HostAlias 23 merge=ip map=ip
  priorityClassName string 24
  priority int32 25 ptr
  dnsConfig PodDNSConfig 26
  shareProcessNamespace bool 27 ptr
  readinessGates []PodReadinessGate 28 atomic
  runtimeClassName string 29 ptr
  enableServiceLinks bool 30 ptr
  preemptionPolicy string 31 ptr
  overhead map[string]Quantity 32
  topologySpreadConstraints []TopologySpreadConstraint 33 merge=topologyKey map=topologyKey,whenUnsatisfiable
  ephemeralContainers []EphemeralContainer 34 merge=name map=name
  setHostnameAsFQDN bool 35 ptr
  os PodOS 36
  hostUsers bool 37 ptr
  schedulingGates []PodSchedulingGate 38 merge=name map=name
  resourceClaims []PodResourceClaim 39 retainKeys merge=name map=name
  resources ResourceRequirements 40
  hostnameOverride string 41 ptr
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
  replicas int32 1 ptr
  selector map[string]string 2
  template PodTemplateSpec 3
  minReadySeconds int32 4
type ReplicationControllerStatus
  replicas int32 1 required noomit
  fullyLabeledReplicas int32 2
  observedGeneration int64 3
  readyReplicas int32 4
  availableReplicas int32 5
  conditions []ReplicationControllerCondition 6 merge=type map=type
type Container
  name string 1 required noomit
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
  restartPolicy string 24 ptr
  restartPolicyRules []ContainerRestartRule 25 atomic
type EphemeralContainer
  ephemeralContainerCommon EphemeralContainerCommon 1 inline
  targetContainerName string 2
type EphemeralContainerCommon   # Container's fields, tags and strategies
  name string 1 required noomit
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
  restartPolicy string 24 ptr
  restartPolicyRules []ContainerRestartRule 25 atomic
type PodSecurityContext
  seLinuxOptions SELinuxOptions 1
  runAsUser int64 2 ptr
  runAsNonRoot bool 3 ptr
  supplementalGroups []int64 4 atomic
  fsGroup int64 5 ptr
  runAsGroup int64 6 ptr
  sysctls []Sysctl 7 atomic
  windowsOptions WindowsSecurityContextOptions 8
  fsGroupChangePolicy string 9 ptr
  seccompProfile SeccompProfile 10
  appArmorProfile AppArmorProfile 11
  supplementalGroupsPolicy string 12 ptr
  seLinuxChangePolicy string 13 ptr
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
  tolerationSeconds int64 5 ptr
type HostAlias
  ip string 1 required noomit
  hostnames []string 2 atomic
type PodDNSConfig
  nameservers []string 1 atomic
  searches []string 2 atomic
  options []PodDNSConfigOption 3 atomic
type PodReadinessGate
  conditionType string 1 required noomit
type TopologySpreadConstraint
  maxSkew int32 1 required noomit
  topologyKey string 2 required noomit
  whenUnsatisfiable string 3 required noomit
  labelSelector meta/v1.LabelSelector 4
  minDomains int32 5 ptr
  nodeAffinityPolicy string 6 ptr
  nodeTaintsPolicy string 7 ptr
  matchLabelKeys []string 8 atomic
type PodOS
  name string 1 required noomit
type PodSchedulingGate
  name string 1 required noomit
type PodResourceClaim
  name string 1 required noomit
  resourceClaimName string 3 ptr
  resourceClaimTemplateName string 4 ptr
type ResourceRequirements
  limits map[string]Quantity 1
  requests map[string]Quantity 2
  claims []ResourceClaim 3 map=name
type PodSchedulingGroup
  podGroupName string 1 ptr
type EvictionResponder atomic
  name string 1 required noomit
  priority int32 2 required ptr noomit
type PodCondition
  type string 1 required noomit
  status string 2 required noomit
  lastProbeTime Time 3
  lastTransitionTime Time 4
  reason string 5
  message string 6
  observedGeneration int64 7
type HostIP
  ip string 1 required noomit
type PodIP
  ip string 1 required noomit
type ContainerStatus
  name string 1 required noomit
  state ContainerState 2
  lastState ContainerState 3
  ready bool 4 required noomit
  restartCount int32 5 required noomit
  image string 6 required noomit
  imageID string 7 required noomit
  containerID string 8
  started bool 9 ptr
  allocatedResources map[string]Quantity 10
  resources ResourceRequirements 11
  volumeMounts []VolumeMountStatus 12 merge=mountPath map=mountPath
  user ContainerUser 13
  allocatedResourcesStatus []ResourceStatus 14 merge=name map=name
  stopSignal string 15 ptr
type PodResourceClaimStatus
  name string 1 required noomit
  resourceClaimName string 2 ptr
type PodExtendedResourceClaimStatus
  requestMappings []ContainerExtendedResourceRequest 1 required atomic noomit
  resourceClaimName string 2 required noomit
type NodeAllocatableResourceClaimStatus
  resourceClaimName string 1 required noomit
  containers []string 2 set
  mapping []NodeAllocatableMappedResources 4 merge=name map=name
  overhead []NodeAllocatableOverheadResources 5 merge=name map=name
type PodVolumeHealth
  name string 1 required noomit
  healthConditions []VolumeHealthCondition 2 merge=status map=status,reason
  lastTransitionTime Time 3
type ReplicationControllerCondition
  type string 1 required noomit
  status string 2 required noomit
  lastTransitionTime Time 3
  reason string 4
  message string 5
type ContainerPort
  name string 1
  hostPort int32 2
  containerPort int32 3 required noomit
  protocol string 4
  hostIP string 5
type EnvFromSource
  prefix string 1
  configMapRef ConfigMapEnvSource 2
  secretRef SecretEnvSource 3
type EnvVar
  name string 1 required noomit
  value string 2
  valueFrom EnvVarSource 3
type ContainerResizePolicy
  resourceName string 1 required noomit
  restartPolicy string 2 required noomit
type ContainerRestartRule
  action string 1 required
  exitCodes ContainerRestartRuleOnExitCodes 2
type VolumeMount
  name string 1 required noomit
  readOnly bool 2
  mountPath string 3 required noomit
  subPath string 4
  mountPropagation string 5 ptr
  subPathExpr string 6
  recursiveReadOnly string 7 ptr
  bindMountOptions []string 8 set
type VolumeDevice
  name string 1 required noomit
  devicePath string 2 required noomit
type Probe
  handler ProbeHandler 1 inline
  initialDelaySeconds int32 2
  timeoutSeconds int32 3
  periodSeconds int32 4
  successThreshold int32 5
  failureThreshold int32 6
  terminationGracePeriodSeconds int64 7 ptr
type ProbeHandler
  exec ExecAction 1
  httpGet HTTPGetAction 2
  tcpSocket TCPSocketAction 3
  grpc GRPCAction 4
type Lifecycle
  postStart LifecycleHandler 1
  preStop LifecycleHandler 2
  stopSignal string 3 ptr
type SecurityContext
  capabilities Capabilities 1
  privileged bool 2 ptr
  seLinuxOptions SELinuxOptions 3
  runAsUser int64 4 ptr
  runAsNonRoot bool 5 ptr
  readOnlyRootFilesystem bool 6 ptr
  allowPrivilegeEscalation bool 7 ptr
  runAsGroup int64 8 ptr
  procMount string 9 ptr
  windowsOptions WindowsSecurityContextOptions 10
  seccompProfile SeccompProfile 11
  appArmorProfile AppArmorProfile 12
type SELinuxOptions
  user string 1
  role string 2
  type string 3
  level string 4
type WindowsSecurityContextOptions
  gmsaCredentialSpecName string 1 ptr
  gmsaCredentialSpec string 2 ptr
  runAsUserName string 3 ptr
  hostProcess bool 4 ptr
type Sysctl
  name string 1 required noomit
  value string 2 required noomit
type SeccompProfile
  type string 1 required noomit
  localhostProfile string 2 ptr
type AppArmorProfile
  type string 1 required noomit
  localhostProfile string 2 ptr
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
  value string 2 ptr
type ResourceClaim
  name string 1 required noomit
  request string 2
type ContainerState
  waiting ContainerStateWaiting 1
  running ContainerStateRunning 2
  terminated ContainerStateTerminated 3
type VolumeMountStatus
  name string 1 required noomit
  mountPath string 2 required noomit
  readOnly bool 3
  recursiveReadOnly string 4 ptr
  volumeStatus VolumeStatus 5
type ContainerUser
  linux LinuxContainerUser 1
type ResourceStatus
  name string 1 required noomit
  resources []ResourceHealth 2 map=resourceID
type ContainerExtendedResourceRequest
  containerName string 1 required noomit
  resourceName string 2 required noomit
  requestName string 3 required noomit
type NodeAllocatableMappedResources
  name string 1 required noomit
  quantity Quantity 2 required ptr noomit
type NodeAllocatableOverheadResources
  name string 1 required noomit
  perPod Quantity 2
  perContainer Quantity 3
type VolumeHealthCondition
  status string 1 required noomit
  reason string 2 required noomit
  message string 3
type ConfigMapEnvSource
  localObjectReference LocalObjectReference 1 inline
  optional bool 2 ptr
type SecretEnvSource
  localObjectReference LocalObjectReference 1 inline
  optional bool 2 ptr
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
  port IntOrString 2 required noomit
  host string 3
  scheme string 4
  httpHeaders []HTTPHeader 5 atomic
  protocol string 6 ptr
type TCPSocketAction
  port IntOrString 1 required noomit
  host string 2
type GRPCAction
  port int32 1 required noomit
  service string 2 ptr noomit
  mode string 3 ptr
type LifecycleHandler
  exec ExecAction 1
  httpGet HTTPGetAction 2
  tcpSocket TCPSocketAction 3
  sleep SleepAction 4
type Capabilities
  add []string 1 atomic
  drop []string 2 atomic
type NodeSelector atomic
  nodeSelectorTerms []NodeSelectorTerm 1 required atomic noomit
type PreferredSchedulingTerm
  weight int32 1 required noomit
  preference NodeSelectorTerm 2 required noomit
type PodAffinityTerm
  labelSelector meta/v1.LabelSelector 1
  namespaces []string 2 atomic
  topologyKey string 3 required noomit
  namespaceSelector meta/v1.LabelSelector 4
  matchLabelKeys []string 5 atomic
  mismatchLabelKeys []string 6 atomic
type WeightedPodAffinityTerm
  weight int32 1 required noomit
  podAffinityTerm PodAffinityTerm 2 required noomit
type ContainerStateWaiting
  reason string 1
  message string 2
type ContainerStateRunning
  startedAt Time 1
type ContainerStateTerminated
  exitCode int32 1 required noomit
  signal int32 2
  reason string 3
  message string 4
  startedAt Time 5
  finishedAt Time 6
  containerID string 7
type VolumeStatus
  image ImageVolumeStatus 1
type LinuxContainerUser
  uid int64 1 required noomit
  gid int64 2 required noomit
  supplementalGroups []int64 3 atomic
type ResourceHealth
  resourceID string 1 required noomit
  health string 2
  message string 6 ptr
type ObjectFieldSelector atomic
  apiVersion string 1
  fieldPath string 2 required noomit
type ResourceFieldSelector atomic
  containerName string 1
  resource string 2 required noomit
  divisor Quantity 3
type ConfigMapKeySelector atomic
  localObjectReference LocalObjectReference 1 inline
  key string 2 required noomit
  optional bool 3 ptr
type SecretKeySelector atomic
  localObjectReference LocalObjectReference 1 inline
  key string 2 required noomit
  optional bool 3 ptr
type FileKeySelector atomic
  volumeName string 1 required noomit
  path string 2 required noomit
  key string 3 required noomit
  optional bool 4 ptr
type HTTPHeader
  name string 1 required noomit
  value string 2 required noomit
type SleepAction
  seconds int64 1 required noomit
type NodeSelectorTerm atomic
  matchExpressions []NodeSelectorRequirement 1 atomic
  matchFields []NodeSelectorRequirement 2 atomic
type ImageVolumeStatus
  imageRef string 1 required
type NodeSelectorRequirement
  key string 1 required noomit
  operator string 2 required noomit
  values []string 3 atomic
"""#
}
