extension SchemaSources {
    static let coreV1 = #"""
package core/v1
# Go structs embedded with `json:",inline"` are `inline` fields: JSON carries their fields
# directly, protobuf nests them in a message (Volume's VolumeSource, PersistentVolumeSpec's
# PersistentVolumeSource, the LocalObjectReference of projections and volume sources).
type AWSElasticBlockStoreVolumeSource
  volumeID string 1 required noomit
  fsType string 2
  partition int32 3
  readOnly bool 4
type AttachedVolume
  name string 1 required noomit
  devicePath string 2 required noomit
type AzureDiskVolumeSource
  diskName string 1 required noomit
  diskURI string 2 required noomit
  cachingMode string 3 ptr
  fsType string 4 ptr
  readOnly bool 5 ptr
  kind string 6 ptr
type AzureFilePersistentVolumeSource
  secretName string 1 required noomit
  shareName string 2 required noomit
  readOnly bool 3
  secretNamespace string 4 ptr noomit
type AzureFileVolumeSource
  secretName string 1 required noomit
  shareName string 2 required noomit
  readOnly bool 3
type CSIPersistentVolumeSource
  driver string 1 required noomit
  volumeHandle string 2 required noomit
  readOnly bool 3
  fsType string 4
  volumeAttributes map[string]string 5
  controllerPublishSecretRef SecretReference 6
  nodeStageSecretRef SecretReference 7
  nodePublishSecretRef SecretReference 8
  controllerExpandSecretRef SecretReference 9
  nodeExpandSecretRef SecretReference 10
type CSIVolumeSource
  driver string 1 required noomit
  readOnly bool 2 ptr
  fsType string 3 ptr
  volumeAttributes map[string]string 4
  nodePublishSecretRef LocalObjectReference 5
type CephFSPersistentVolumeSource
  monitors []string 1 required atomic noomit
  path string 2
  user string 3
  secretFile string 4
  secretRef SecretReference 5
  readOnly bool 6
type CephFSVolumeSource
  monitors []string 1 required atomic noomit
  path string 2
  user string 3
  secretFile string 4
  secretRef LocalObjectReference 5
  readOnly bool 6
type CinderPersistentVolumeSource
  volumeID string 1 required noomit
  fsType string 2
  readOnly bool 3
  secretRef SecretReference 4
type CinderVolumeSource
  volumeID string 1 required noomit
  fsType string 2
  readOnly bool 3
  secretRef LocalObjectReference 4
type ClientIPConfig
  timeoutSeconds int32 1 ptr
type ClusterTrustBundleProjection
  name string 1 ptr
  signerName string 2 ptr
  labelSelector meta/v1.LabelSelector 3
  path string 4 required noomit
  optional bool 5 ptr
  user int64 6 ptr
type ConfigMap object
  metadata meta/v1.ObjectMeta 1
  data map[string]string 2
  binaryData map[string]bytes 3
  immutable bool 4 ptr
type ConfigMapNodeConfigSource
  namespace string 1 required noomit
  name string 2 required noomit
  uid string 3
  resourceVersion string 4
  kubeletConfigKey string 5 required noomit
type ConfigMapProjection
  localObjectReference LocalObjectReference 1 inline
  items []KeyToPath 2 atomic
  optional bool 4 ptr
type ConfigMapVolumeSource
  localObjectReference LocalObjectReference 1 inline
  items []KeyToPath 2 atomic
  defaultMode int32 3 ptr
  optional bool 4 ptr
  defaultUser int64 5 ptr
type ContainerImage
  names []string 1 atomic noomit
  sizeBytes int64 2
type DaemonEndpoint
  Port int32 1 required noomit
type DownwardAPIProjection
  items []DownwardAPIVolumeFile 1 atomic
type DownwardAPIVolumeFile
  path string 1 required noomit
  fieldRef ObjectFieldSelector 2
  resourceFieldRef ResourceFieldSelector 3
  mode int32 4 ptr
  user int64 5 ptr
type DownwardAPIVolumeSource
  items []DownwardAPIVolumeFile 1 atomic
  defaultMode int32 2 ptr
  defaultUser int64 3 ptr
type EmptyDirVolumeSource
  medium string 1
  sizeLimit Quantity 2
  mode int32 3 ptr
type EndpointAddress atomic
  ip string 1 required noomit
  targetRef ObjectReference 2
  hostname string 3
  nodeName string 4 ptr
type EndpointPort atomic
  name string 1
  port int32 2 required noomit
  protocol string 3
  appProtocol string 4 ptr
type EndpointSubset
  addresses []EndpointAddress 1 atomic
  notReadyAddresses []EndpointAddress 2 atomic
  ports []EndpointPort 3 atomic
type Endpoints object
  metadata meta/v1.ObjectMeta 1
  subsets []EndpointSubset 2 atomic
type EphemeralVolumeSource
  volumeClaimTemplate PersistentVolumeClaimTemplate 1
type Event object
  metadata meta/v1.ObjectMeta 1 required noomit
  involvedObject ObjectReference 2 required noomit
  reason string 3
  message string 4
  source EventSource 5
  firstTimestamp Time 6
  lastTimestamp Time 7
  count int32 8
  type string 9
  eventTime MicroTime 10
  series EventSeries 11
  action string 12
  related ObjectReference 13
  reportingComponent string 14 noomit
  reportingInstance string 15 noomit
type EventSeries
  count int32 1
  lastObservedTime MicroTime 2
type EventSource
  component string 1
  host string 2
type FCVolumeSource
  targetWWNs []string 1 atomic
  lun int32 2 ptr
  fsType string 3
  readOnly bool 4
  wwids []string 5 atomic
type FlexPersistentVolumeSource
  driver string 1 required noomit
  fsType string 2
  secretRef SecretReference 3
  readOnly bool 4
  options map[string]string 5
type FlexVolumeSource
  driver string 1 required noomit
  fsType string 2
  secretRef LocalObjectReference 3
  readOnly bool 4
  options map[string]string 5
type FlockerVolumeSource
  datasetName string 1
  datasetUUID string 2
type GCEPersistentDiskVolumeSource
  pdName string 1 required noomit
  fsType string 2
  partition int32 3
  readOnly bool 4
type GitRepoVolumeSource
  repository string 1 required noomit
  revision string 2
  directory string 3
type GlusterfsPersistentVolumeSource
  endpoints string 1 required noomit
  path string 2 required noomit
  readOnly bool 3
  endpointsNamespace string 4 ptr
type GlusterfsVolumeSource
  endpoints string 1 required noomit
  path string 2 required noomit
  readOnly bool 3
type HostPathVolumeSource
  path string 1 required noomit
  type string 2 ptr
type ISCSIPersistentVolumeSource
  targetPortal string 1 required noomit
  iqn string 2 required noomit
  lun int32 3 required noomit
  iscsiInterface string 4
  fsType string 5
  readOnly bool 6
  portals []string 7 atomic
  chapAuthDiscovery bool 8
  secretRef SecretReference 10
  chapAuthSession bool 11
  initiatorName string 12 ptr
type ISCSIVolumeSource
  targetPortal string 1 required noomit
  iqn string 2 required noomit
  lun int32 3 required noomit
  iscsiInterface string 4
  fsType string 5
  readOnly bool 6
  portals []string 7 atomic
  chapAuthDiscovery bool 8
  secretRef LocalObjectReference 10
  chapAuthSession bool 11
  initiatorName string 12 ptr
type ImageVolumeSource
  reference string 1
  pullPolicy string 2
type KeyToPath
  key string 1 required noomit
  path string 2 required noomit
  mode int32 3 ptr
  user int64 4 ptr
type LimitRange object
  metadata meta/v1.ObjectMeta 1
  spec LimitRangeSpec 2
type LimitRangeItem
  type string 1 required noomit
  max map[string]Quantity 2
  min map[string]Quantity 3
  default map[string]Quantity 4
  defaultRequest map[string]Quantity 5
  maxLimitRequestRatio map[string]Quantity 6
type LimitRangeSpec
  limits []LimitRangeItem 1 required atomic noomit
type LoadBalancerIngress
  ip string 1
  hostname string 2
  ipMode string 3 ptr
  ports []PortStatus 4 atomic
type LoadBalancerStatus
  ingress []LoadBalancerIngress 1 atomic
type LocalVolumeSource
  path string 1 required noomit
  fsType string 2 ptr
type ModifyVolumeStatus
  targetVolumeAttributesClassName string 1
  status string 2 required noomit
type NFSVolumeSource
  server string 1 required noomit
  path string 2 required noomit
  readOnly bool 3
type Namespace object
  metadata meta/v1.ObjectMeta 1
  spec NamespaceSpec 2
  status NamespaceStatus 3
type NamespaceCondition
  type string 1 required noomit
  status string 2 required noomit
  lastTransitionTime Time 4
  reason string 5
  message string 6
type NamespaceSpec
  finalizers []string 1 atomic
type NamespaceStatus
  phase string 1
  conditions []NamespaceCondition 2 merge=type map=type
type Node object
  metadata meta/v1.ObjectMeta 1
  spec NodeSpec 2
  status NodeStatus 3
type NodeAddress
  type string 1 required noomit
  address string 2 required noomit
type NodeCondition
  type string 1 required noomit
  status string 2 required noomit
  lastHeartbeatTime Time 3
  lastTransitionTime Time 4
  reason string 5
  message string 6
type NodeConfigSource
  configMap ConfigMapNodeConfigSource 2
type NodeConfigStatus
  assigned NodeConfigSource 1
  active NodeConfigSource 2
  lastKnownGood NodeConfigSource 3
  error string 4
type NodeDaemonEndpoints
  kubeletEndpoint DaemonEndpoint 1
type NodeFeatures
  supplementalGroupsPolicy bool 1 ptr
type NodePodPreemptionPolicy
  disableResizePreemption []string 1 set
type NodeRuntimeHandler
  name string 1 noomit
  features NodeRuntimeHandlerFeatures 2
type NodeRuntimeHandlerFeatures
  recursiveReadOnlyMounts bool 1 ptr
  userNamespaces bool 2 ptr
type NodeSpec
  podCIDR string 1
  externalID string 2
  providerID string 3
  unschedulable bool 4
  taints []Taint 5 atomic
  configSource NodeConfigSource 6
  podCIDRs []string 7 merge set
  podPreemptionPolicy NodePodPreemptionPolicy 8
type NodeStatus
  capacity map[string]Quantity 1
  allocatable map[string]Quantity 2
  phase string 3
  conditions []NodeCondition 4 merge=type map=type
  addresses []NodeAddress 5 merge=type map=type
  daemonEndpoints NodeDaemonEndpoints 6
  nodeInfo NodeSystemInfo 7
  images []ContainerImage 8 atomic
  volumesInUse []string 9 atomic
  volumesAttached []AttachedVolume 10 atomic
  config NodeConfigStatus 11
  runtimeHandlers []NodeRuntimeHandler 12 atomic
  features NodeFeatures 13
  declaredFeatures []string 14 atomic
type NodeSwapStatus
  capacity int64 1 ptr
type NodeSystemInfo
  machineID string 1 required noomit
  systemUUID string 2 required noomit
  bootID string 3 required noomit
  kernelVersion string 4 required noomit
  osImage string 5 required noomit
  containerRuntimeVersion string 6 required noomit
  kubeletVersion string 7 required noomit
  kubeProxyVersion string 8 required noomit
  operatingSystem string 9 required noomit
  architecture string 10 required noomit
  swap NodeSwapStatus 11
  runningInUserNamespace bool 12
type PersistentVolume object
  metadata meta/v1.ObjectMeta 1
  spec PersistentVolumeSpec 2
  status PersistentVolumeStatus 3
type PersistentVolumeClaim object
  metadata meta/v1.ObjectMeta 1
  spec PersistentVolumeClaimSpec 2
  status PersistentVolumeClaimStatus 3
type PersistentVolumeClaimCondition
  type string 1 required noomit
  status string 2 required noomit
  lastProbeTime Time 3
  lastTransitionTime Time 4
  reason string 5
  message string 6
type PersistentVolumeClaimSpec
  accessModes []string 1 atomic
  resources VolumeResourceRequirements 2
  volumeName string 3
  selector meta/v1.LabelSelector 4
  storageClassName string 5 ptr
  volumeMode string 6 ptr
  dataSource TypedLocalObjectReference 7
  dataSourceRef TypedObjectReference 8
  volumeAttributesClassName string 9 ptr
type PersistentVolumeClaimStatus
  phase string 1
  accessModes []string 2 atomic
  capacity map[string]Quantity 3
  conditions []PersistentVolumeClaimCondition 4 merge=type map=type
  allocatedResources map[string]Quantity 5
  allocatedResourceStatuses map[string]string 7
  currentVolumeAttributesClassName string 8 ptr
  modifyVolumeStatus ModifyVolumeStatus 9
  healthStatus VolumeHealthStatus 10
type PersistentVolumeClaimTemplate
  metadata meta/v1.ObjectMeta 1
  spec PersistentVolumeClaimSpec 2 required noomit
type PersistentVolumeClaimVolumeSource
  claimName string 1 required noomit
  readOnly bool 2
type PersistentVolumeSource
  gcePersistentDisk GCEPersistentDiskVolumeSource 1
  awsElasticBlockStore AWSElasticBlockStoreVolumeSource 2
  hostPath HostPathVolumeSource 3
  glusterfs GlusterfsPersistentVolumeSource 4
  nfs NFSVolumeSource 5
  rbd RBDPersistentVolumeSource 6
  iscsi ISCSIPersistentVolumeSource 7
  cinder CinderPersistentVolumeSource 8
  cephfs CephFSPersistentVolumeSource 9
  fc FCVolumeSource 10
  flocker FlockerVolumeSource 11
  flexVolume FlexPersistentVolumeSource 12
  azureFile AzureFilePersistentVolumeSource 13
  vsphereVolume VsphereVirtualDiskVolumeSource 14
  quobyte QuobyteVolumeSource 15
  azureDisk AzureDiskVolumeSource 16
  photonPersistentDisk PhotonPersistentDiskVolumeSource 17
  portworxVolume PortworxVolumeSource 18
  scaleIO ScaleIOPersistentVolumeSource 19
  local LocalVolumeSource 20
  storageos StorageOSPersistentVolumeSource 21
  csi CSIPersistentVolumeSource 22
type PersistentVolumeSpec
  capacity map[string]Quantity 1
  persistentVolumeSource PersistentVolumeSource 2 inline
  accessModes []string 3 atomic
  claimRef ObjectReference 4
  persistentVolumeReclaimPolicy string 5
  storageClassName string 6
  mountOptions []string 7 atomic
  volumeMode string 8 ptr
  nodeAffinity VolumeNodeAffinity 9
  volumeAttributesClassName string 10 ptr
type PersistentVolumeStatus
  phase string 1
  message string 2
  reason string 3
  lastPhaseTransitionTime Time 4
type PhotonPersistentDiskVolumeSource
  pdID string 1 required noomit
  fsType string 2
type PodCertificateProjection
  signerName string 1 required
  keyType string 2 required
  maxExpirationSeconds int32 3 ptr
  credentialBundlePath string 4
  keyPath string 5
  certificateChainPath string 6
  userAnnotations map[string]string 7
  user int64 8 ptr
type PortStatus
  port int32 1 required noomit
  protocol string 2 required noomit
  error string 3 ptr
type PortworxVolumeSource
  volumeID string 1 required noomit
  fsType string 2
  readOnly bool 3
type ProjectedVolumeSource
  sources []VolumeProjection 1 atomic noomit
  defaultMode int32 2 ptr
  defaultUser int64 3 ptr
type QuobyteVolumeSource
  registry string 1 required noomit
  volume string 2 required noomit
  readOnly bool 3
  user string 4
  group string 5
  tenant string 6
type RBDPersistentVolumeSource
  monitors []string 1 required atomic noomit
  image string 2 required noomit
  fsType string 3
  pool string 4
  user string 5
  keyring string 6
  secretRef SecretReference 7
  readOnly bool 8
type RBDVolumeSource
  monitors []string 1 required atomic noomit
  image string 2 required noomit
  fsType string 3
  pool string 4
  user string 5
  keyring string 6
  secretRef LocalObjectReference 7
  readOnly bool 8
type ResourceQuota object
  metadata meta/v1.ObjectMeta 1
  spec ResourceQuotaSpec 2
  status ResourceQuotaStatus 3
type ResourceQuotaSpec
  hard map[string]Quantity 1
  scopes []string 2 atomic
  scopeSelector ScopeSelector 3
type ResourceQuotaStatus
  hard map[string]Quantity 1
  used map[string]Quantity 2
type ScaleIOPersistentVolumeSource
  gateway string 1 required noomit
  system string 2 required noomit
  secretRef SecretReference 3 required ptr noomit
  sslEnabled bool 4
  protectionDomain string 5
  storagePool string 6
  storageMode string 7
  volumeName string 8
  fsType string 9
  readOnly bool 10
type ScaleIOVolumeSource
  gateway string 1 required noomit
  system string 2 required noomit
  secretRef LocalObjectReference 3 required ptr noomit
  sslEnabled bool 4
  protectionDomain string 5
  storagePool string 6
  storageMode string 7
  volumeName string 8
  fsType string 9
  readOnly bool 10
type ScopeSelector atomic
  matchExpressions []ScopedResourceSelectorRequirement 1 atomic
type ScopedResourceSelectorRequirement
  scopeName string 1 required noomit
  operator string 2 required noomit
  values []string 3 atomic
type Secret object
  metadata meta/v1.ObjectMeta 1
  data map[string]bytes 2
  type string 3
  stringData map[string]string 4
  immutable bool 5 ptr
type SecretProjection
  localObjectReference LocalObjectReference 1 inline
  items []KeyToPath 2 atomic
  optional bool 4 ptr
type SecretReference atomic
  name string 1
  namespace string 2
type SecretVolumeSource
  secretName string 1
  items []KeyToPath 2 atomic
  defaultMode int32 3 ptr
  optional bool 4 ptr
  defaultUser int64 5 ptr
type Service object
  metadata meta/v1.ObjectMeta 1
  spec ServiceSpec 2
  status ServiceStatus 3
type ServiceAccount object
  metadata meta/v1.ObjectMeta 1
  secrets []ObjectReference 2 merge=name map=name
  imagePullSecrets []LocalObjectReference 3 atomic
  automountServiceAccountToken bool 4 ptr
type ServiceAccountTokenProjection
  audience string 1
  expirationSeconds int64 2 ptr
  path string 3 required noomit
  user int64 4 ptr
type ServicePort
  name string 1
  protocol string 2
  port int32 3 required noomit
  targetPort IntOrString 4
  nodePort int32 5
  appProtocol string 6 ptr
type ServiceSpec
  ports []ServicePort 1 merge=port map=port,protocol
  selector map[string]string 2
  clusterIP string 3
  type string 4
  externalIPs []string 5 atomic
  sessionAffinity string 7
  loadBalancerIP string 8
  loadBalancerSourceRanges []string 9 atomic
  externalName string 10
  externalTrafficPolicy string 11
  healthCheckNodePort int32 12
  publishNotReadyAddresses bool 13
  sessionAffinityConfig SessionAffinityConfig 14
  ipFamilyPolicy string 17 ptr
  clusterIPs []string 18 atomic
  ipFamilies []string 19 atomic
  allocateLoadBalancerNodePorts bool 20 ptr
  loadBalancerClass string 21 ptr
  internalTrafficPolicy string 22 ptr
  trafficDistribution string 23 ptr
type ServiceStatus
  loadBalancer LoadBalancerStatus 1
  conditions []meta/v1.Condition 2 merge=type map=type
type SessionAffinityConfig
  clientIP ClientIPConfig 1
type StorageOSPersistentVolumeSource
  volumeName string 1
  volumeNamespace string 2
  fsType string 3
  readOnly bool 4
  secretRef ObjectReference 5
type StorageOSVolumeSource
  volumeName string 1
  volumeNamespace string 2
  fsType string 3
  readOnly bool 4
  secretRef LocalObjectReference 5
type Taint
  key string 1 required noomit
  value string 2
  effect string 3 required noomit
  timeAdded Time 4
type TypedLocalObjectReference atomic
  apiGroup string 1 ptr noomit
  kind string 2 required noomit
  name string 3 required noomit
type TypedObjectReference
  apiGroup string 1 ptr noomit
  kind string 2 required noomit
  name string 3 required noomit
  namespace string 4 ptr
type Volume
  name string 1 required noomit
  volumeSource VolumeSource 2 inline
type VolumeHealthStatus
  healthConditions []VolumeHealthCondition 1 merge=status map=status,reason
  lastTransitionTime Time 2
type VolumeNodeAffinity
  required NodeSelector 1
type VolumeProjection
  secret SecretProjection 1
  downwardAPI DownwardAPIProjection 2
  configMap ConfigMapProjection 3
  serviceAccountToken ServiceAccountTokenProjection 4
  clusterTrustBundle ClusterTrustBundleProjection 5
  podCertificate PodCertificateProjection 6
type VolumeResourceRequirements
  limits map[string]Quantity 1
  requests map[string]Quantity 2
type VolumeSource
  hostPath HostPathVolumeSource 1
  emptyDir EmptyDirVolumeSource 2
  gcePersistentDisk GCEPersistentDiskVolumeSource 3
  awsElasticBlockStore AWSElasticBlockStoreVolumeSource 4
  gitRepo GitRepoVolumeSource 5
  secret SecretVolumeSource 6
  nfs NFSVolumeSource 7
  iscsi ISCSIVolumeSource 8
  glusterfs GlusterfsVolumeSource 9
  persistentVolumeClaim PersistentVolumeClaimVolumeSource 10
  rbd RBDVolumeSource 11
  flexVolume FlexVolumeSource 12
  cinder CinderVolumeSource 13
  cephfs CephFSVolumeSource 14
  flocker FlockerVolumeSource 15
  downwardAPI DownwardAPIVolumeSource 16
  fc FCVolumeSource 17
  azureFile AzureFileVolumeSource 18
  configMap ConfigMapVolumeSource 19
  vsphereVolume VsphereVirtualDiskVolumeSource 20
  quobyte QuobyteVolumeSource 21
  azureDisk AzureDiskVolumeSource 22
  photonPersistentDisk PhotonPersistentDiskVolumeSource 23
  portworxVolume PortworxVolumeSource 24
  scaleIO ScaleIOVolumeSource 25
  projected ProjectedVolumeSource 26
  storageos StorageOSVolumeSource 27
  csi CSIVolumeSource 28
  ephemeral EphemeralVolumeSource 29
  image ImageVolumeSource 30
type VsphereVirtualDiskVolumeSource
  volumePath string 1 required noomit
  fsType string 2
  storagePolicyName string 3
  storagePolicyID string 4
type TopologySelectorTerm atomic
  matchLabelExpressions []TopologySelectorLabelRequirement 1 atomic
type TopologySelectorLabelRequirement
  key string 1 required noomit
  values []string 2 required atomic noomit
"""#
}
