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
  name string 1 required noomit
  clientConfig WebhookClientConfig 2 required noomit
  rules []RuleWithOperations 3 atomic
  failurePolicy string 4 ptr
  namespaceSelector meta/v1.LabelSelector 5
  sideEffects string 6 required ptr noomit
  timeoutSeconds int32 7 ptr
  admissionReviewVersions []string 8 required atomic noomit
  matchPolicy string 9 ptr
  objectSelector meta/v1.LabelSelector 10
  matchConditions []MatchCondition 11 merge=name map=name
type MutatingWebhook
  name string 1 required noomit
  clientConfig WebhookClientConfig 2 required noomit
  rules []RuleWithOperations 3 atomic
  failurePolicy string 4 ptr
  namespaceSelector meta/v1.LabelSelector 5
  sideEffects string 6 required ptr noomit
  timeoutSeconds int32 7 ptr
  admissionReviewVersions []string 8 required atomic noomit
  matchPolicy string 9 ptr
  reinvocationPolicy string 10 ptr
  objectSelector meta/v1.LabelSelector 11
  matchConditions []MatchCondition 12 merge=name map=name
type RuleWithOperations
  operations []string 1 atomic
  rule Rule 2 inline
type Rule
  apiGroups []string 1 atomic
  apiVersions []string 2 atomic
  resources []string 3 atomic
  scope string 4 ptr
type WebhookClientConfig
  service ServiceReference 1
  caBundle bytes 2
  url string 3 ptr
type ServiceReference
  namespace string 1 required noomit
  name string 2 required noomit
  path string 3 ptr
  port int32 4 ptr
type MatchCondition
  name string 1 required noomit
  expression string 2 required noomit
"""#
}
