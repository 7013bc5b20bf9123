extension SchemaSources {
    static let admissionregistrationV1 = #"""
package admissionregistration/v1
type ValidatingWebhookConfiguration object
  metadata meta/v1.ObjectMeta 1
  webhooks []ValidatingWebhook 2 merge=name map=name
type MutatingWebhookConfiguration object
  metadata meta/v1.ObjectMeta 1
  webhooks []MutatingWebhook 2 merge=name map=name
type ValidatingWebhook
  name string 1 required
  clientConfig WebhookClientConfig 2 required
  rules []RuleWithOperations 3 atomic
  failurePolicy string 4
  namespaceSelector meta/v1.LabelSelector 5
  sideEffects string 6 required
  timeoutSeconds int32 7
  admissionReviewVersions []string 8 required atomic
  matchPolicy string 9
  objectSelector meta/v1.LabelSelector 10
  matchConditions []MatchCondition 11 merge=name map=name
type MutatingWebhook
  name string 1 required
  clientConfig WebhookClientConfig 2 required
  rules []RuleWithOperations 3 atomic
  failurePolicy string 4
  namespaceSelector meta/v1.LabelSelector 5
  sideEffects string 6 required
  timeoutSeconds int32 7
  admissionReviewVersions []string 8 required atomic
  matchPolicy string 9
  reinvocationPolicy string 10
  objectSelector meta/v1.LabelSelector 11
  matchConditions []MatchCondition 12 merge=name map=name
type RuleWithOperations
  operations []string 1 atomic
  apiGroups []string - atomic  # JSON-inlined from embedded Rule (protobuf: nested message)
  apiVersions []string - atomic  # JSON-inlined from embedded Rule (protobuf: nested message)
  resources []string - atomic  # JSON-inlined from embedded Rule (protobuf: nested message)
  scope string -  # JSON-inlined from embedded Rule (protobuf: nested message)
type WebhookClientConfig
  service ServiceReference 1
  caBundle bytes 2
  url string 3
type ServiceReference
  namespace string 1 required
  name string 2 required
  path string 3
  port int32 4
type MatchCondition
  name string 1 required
  expression string 2 required
"""#
}
