extension SchemaSources {
    static let coordinationV1 = #"""
package coordination/v1
type Lease object
  metadata meta/v1.ObjectMeta 1
  spec LeaseSpec 2
type LeaseSpec
  holderIdentity string 1
  leaseDurationSeconds int32 2
  acquireTime MicroTime 3
  renewTime MicroTime 4
  leaseTransitions int32 5
  strategy string 6
  preferredHolder string 7
"""#
}
