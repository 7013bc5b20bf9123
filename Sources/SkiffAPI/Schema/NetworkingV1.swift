extension SchemaSources {
    static let networkingV1 = #"""
package networking/v1
type NetworkPolicy object
  metadata meta/v1.ObjectMeta 1
  spec NetworkPolicySpec 2
type NetworkPolicySpec
  podSelector meta/v1.LabelSelector 1 noomit
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
  protocol string 1 ptr
  port IntOrString 2
  endPort int32 3 ptr
type IPBlock
  cidr string 1 required noomit
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
  ingressClassName string 4 ptr
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
  port int32 1 required noomit
  protocol string 2 required noomit
  error string 3 ptr
type IngressRule
  host string 1
  ingressRuleValue IngressRuleValue 2 inline
type IngressRuleValue
  http HTTPIngressRuleValue 1
type HTTPIngressRuleValue
  paths []HTTPIngressPath 1 required atomic noomit
type HTTPIngressPath
  path string 1
  backend IngressBackend 2 required noomit
  pathType string 3 required ptr noomit
type IngressBackend
  resource core/v1.TypedLocalObjectReference 3
  service IngressServiceBackend 4
type IngressServiceBackend
  name string 1 required noomit
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
  apiGroup string 1 ptr
  kind string 2 required noomit
  name string 3 required noomit
  scope string 4 ptr noomit
  namespace string 5 ptr
"""#
}
