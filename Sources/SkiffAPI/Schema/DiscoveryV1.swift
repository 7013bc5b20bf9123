extension SchemaSources {
    static let discoveryV1 = #"""
package discovery/v1
type EndpointSlice object
  metadata meta/v1.ObjectMeta 1
  endpoints []Endpoint 2 atomic noomit
  ports []EndpointPort 3 atomic noomit
  addressType string 4 required noomit
type Endpoint
  addresses []string 1 required set noomit
  conditions EndpointConditions 2
  hostname string 3 ptr
  targetRef core/v1.ObjectReference 4
  deprecatedTopology map[string]string 5
  nodeName string 6 ptr
  zone string 7 ptr
  hints EndpointHints 8
type EndpointConditions
  ready bool 1 ptr
  serving bool 2 ptr
  terminating bool 3 ptr
type EndpointHints
  forZones []ForZone 1 atomic
  forNodes []ForNode 2 atomic
type ForZone
  name string 1 required noomit
type ForNode
  name string 1 required noomit
type EndpointPort atomic
  name string 1 ptr
  protocol string 2 ptr
  port int32 3 ptr
  appProtocol string 4 ptr
"""#
}
