extension SchemaSources {
    static let storageV1 = #"""
package storage/v1
type StorageClass object
  metadata meta/v1.ObjectMeta 1
  provisioner string 2 required
  parameters map[string]string 3
  reclaimPolicy string 4
  mountOptions []string 5 atomic
  allowVolumeExpansion bool 6
  volumeBindingMode string 7
  allowedTopologies []core/v1.TopologySelectorTerm 8 atomic
type VolumeAttachment object
  metadata meta/v1.ObjectMeta 1
  spec VolumeAttachmentSpec 2 required
  status VolumeAttachmentStatus 3
type VolumeAttachmentSpec
  attacher string 1 required
  source VolumeAttachmentSource 2 required
  nodeName string 3 required
type VolumeAttachmentSource
  persistentVolumeName string 1
  inlineVolumeSpec core/v1.PersistentVolumeSpec 2
type VolumeAttachmentStatus
  attached bool 1 required
  attachmentMetadata map[string]string 2
  attachError VolumeError 3
  detachError VolumeError 4
type VolumeError
  time Time 1
  message string 2
  errorCode int32 3
type CSIDriver object
  metadata meta/v1.ObjectMeta 1
  spec CSIDriverSpec 2 required
type CSIDriverSpec
  attachRequired bool 1
  podInfoOnMount bool 2
  volumeLifecycleModes []string 3 set
  storageCapacity bool 4
  fsGroupPolicy string 5
  tokenRequests []TokenRequest 6 atomic
  requiresRepublish bool 7
  seLinuxMount bool 8
  nodeAllocatableUpdatePeriodSeconds int64 9
  serviceAccountTokenInSecrets bool 10
type TokenRequest
  audience string 1 required
  expirationSeconds int64 2
type CSINode object
  metadata meta/v1.ObjectMeta 1
  spec CSINodeSpec 2 required
type CSINodeSpec
  drivers []CSINodeDriver 1 required merge=name map=name
type CSINodeDriver
  name string 1 required
  nodeID string 2 required
  topologyKeys []string 3 atomic
  allocatable VolumeNodeResources 4
type VolumeNodeResources
  count int32 1
"""#
}
