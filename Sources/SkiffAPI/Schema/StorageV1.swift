extension SchemaSources {
    static let storageV1 = #"""
package storage/v1
type StorageClass object
  metadata meta/v1.ObjectMeta 1
  provisioner string 2 required noomit
  parameters map[string]string 3
  reclaimPolicy string 4 ptr
  mountOptions []string 5 atomic
  allowVolumeExpansion bool 6 ptr
  volumeBindingMode string 7 ptr
  allowedTopologies []core/v1.TopologySelectorTerm 8 atomic
type VolumeAttachment object
  metadata meta/v1.ObjectMeta 1
  spec VolumeAttachmentSpec 2 required noomit
  status VolumeAttachmentStatus 3
type VolumeAttachmentSpec
  attacher string 1 required noomit
  source VolumeAttachmentSource 2 required noomit
  nodeName string 3 required noomit
type VolumeAttachmentSource
  persistentVolumeName string 1 ptr
  inlineVolumeSpec core/v1.PersistentVolumeSpec 2
type VolumeAttachmentStatus
  attached bool 1 required noomit
  attachmentMetadata map[string]string 2
  attachError VolumeError 3
  detachError VolumeError 4
type VolumeError
  time Time 1
  message string 2
  errorCode int32 3 ptr
type CSIDriver object
  metadata meta/v1.ObjectMeta 1
  spec CSIDriverSpec 2 required noomit
type CSIDriverSpec
  attachRequired bool 1 ptr
  podInfoOnMount bool 2 ptr
  volumeLifecycleModes []string 3 set
  storageCapacity bool 4 ptr
  fsGroupPolicy string 5 ptr
  tokenRequests []TokenRequest 6 atomic
  requiresRepublish bool 7 ptr
  seLinuxMount bool 8 ptr
  nodeAllocatableUpdatePeriodSeconds int64 9 ptr
  serviceAccountTokenInSecrets bool 10 ptr
type TokenRequest
  audience string 1 required noomit
  expirationSeconds int64 2 ptr
type CSINode object
  metadata meta/v1.ObjectMeta 1
  spec CSINodeSpec 2 required noomit
type CSINodeSpec
  drivers []CSINodeDriver 1 required merge=name map=name noomit
type CSINodeDriver
  name string 1 required noomit
  nodeID string 2 required noomit
  topologyKeys []string 3 atomic noomit
  allocatable VolumeNodeResources 4
type VolumeNodeResources
  count int32 1 ptr
"""#
}
