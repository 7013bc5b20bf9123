extension SchemaSources {
    static let networkingV1 = #"""
package networking/v1
type NetworkPolicy object
  metadata meta/v1.ObjectMeta 1
  spec NetworkPolicySpec 2
type NetworkPolicySpec
  podSelector meta/v1.LabelSelector 1
  ingress []NetworkPolicyIngressRule 2 atomic
  egress []NetworkPolicyEgressRule 3 atomic
  policyTypes []string 4 atomic
type NetworkPolicyIngressRule
  ports []NetworkPolicyPort 1 atomic
  from []NetworkPolicyPeer 2 atomic
type NetworkPolicyEgressRule
  ports []NetworkPolicyPort 1 atomic
  to []NetworkPolicyPeer 2 atomic
type NetworkPolicyPort
  protocol string 1
  port IntOrString 2
  endPort int32 3
type IPBlock
  cidr string 1 required
  except []string 2 atomic
type NetworkPolicyPeer
  podSelector meta/v1.LabelSelector 1
  namespaceSelector meta/v1.LabelSelector 2
  ipBlock IPBlock 3
type Ingress object
  metadata meta/v1.ObjectMeta 1
  spec IngressSpec 2
  status IngressStatus 3
type IngressSpec
  defaultBackend IngressBackend 1
  tls []IngressTLS 2 atomic
  rules []IngressRule 3 atomic
  ingressClassName string 4
type IngressTLS
  hosts []string 1 atomic
  secretName string 2
type IngressStatus
  loadBalancer IngressLoadBalancerStatus 1
type IngressLoadBalancerStatus
  ingress []IngressLoadBalancerIngress 1 atomic
type IngressLoadBalancerIngress
  ip string 1
  hostname string 2
  ports []IngressPortStatus 4 atomic
type IngressPortStatus
  port int32 1 required
  protocol string 2 required
  error string 3
type IngressRule
  host string 1
  http HTTPIngressRuleValue -  # JSON-inlined from embedded IngressRuleValue (protobuf: nested message)
type HTTPIngressRuleValue
  paths []HTTPIngressPath 1 required atomic
type HTTPIngressPath
  path string 1
  backend IngressBackend 2 required
  pathType string 3 required
type IngressBackend
  resource core/v1.TypedLocalObjectReference 3
  service IngressServiceBackend 4
type IngressServiceBackend
  name string 1 required
  port ServiceBackendPort 2
type ServiceBackendPort atomic
  name string 1
  number int32 2
type IngressClass object
  metadata meta/v1.ObjectMeta 1
  spec IngressClassSpec 2
type IngressClassSpec
  controller string 1
  parameters IngressClassParametersReference 2
type IngressClassParametersReference
  apiGroup string 1
  kind string 2 required
  name string 3 required
  scope string 4
  namespace string 5
"""#
}
