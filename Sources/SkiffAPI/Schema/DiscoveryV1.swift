extension SchemaSources {
    static let discoveryV1 = #"""
package discovery/v1
type EndpointSlice object
  metadata meta/v1.ObjectMeta 1
  endpoints []Endpoint 2 atomic
  ports []EndpointPort 3 atomic
  addressType string 4 required
type Endpoint
  addresses []string 1 required set
  conditions EndpointConditions 2
  hostname string 3
  targetRef core/v1.ObjectReference 4
  deprecatedTopology map[string]string 5
  nodeName string 6
  zone string 7
  hints EndpointHints 8
type EndpointConditions
  ready bool 1
  serving bool 2
  terminating bool 3
type EndpointHints
  forZones []ForZone 1 atomic
  forNodes []ForNode 2 atomic
type ForZone
  name string 1 required
type ForNode
  name string 1 required
type EndpointPort atomic
  name string 1
  protocol string 2
  port int32 3
  appProtocol string 4
"""#
}
