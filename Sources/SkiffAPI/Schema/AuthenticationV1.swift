extension SchemaSources {
    static let authenticationV1 = #"""
package authentication/v1
type TokenRequest object
  metadata meta/v1.ObjectMeta 1
  spec TokenRequestSpec 2 noomit
  status TokenRequestStatus 3
type TokenRequestSpec
  audiences []string 1 atomic noomit
  boundObjectRef BoundObjectReference 3 ptr noomit
  expirationSeconds int64 4 ptr noomit
  attestations map[string][]string 5   # protobuf: map<string, AttestationValue{repeated string items = 1}>
type TokenRequestStatus
  token string 1 noomit
  expirationTimestamp Time 2 noomit
type BoundObjectReference
  kind string 1
  apiVersion string 2
  name string 3
  uid string 4   # protobuf field name uID
"""#
}
