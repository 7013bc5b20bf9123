extension SchemaSources {
    static let coordinationV1 = #"""
package coordination/v1
type Lease object
  metadata meta/v1.ObjectMeta 1
  spec LeaseSpec 2
type LeaseSpec
  holderIdentity string 1 ptr
  leaseDurationSeconds int32 2 ptr
  acquireTime MicroTime 3
  renewTime MicroTime 4
  leaseTransitions int32 5 ptr
  strategy string 6 ptr
  preferredHolder string 7 ptr
"""#
}
