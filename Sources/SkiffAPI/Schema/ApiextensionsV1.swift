extension SchemaSources {
    static let apiextensionsV1 = #"""
package apiextensions/v1
type CustomResourceDefinition object
  metadata meta/v1.ObjectMeta 1
  spec CustomResourceDefinitionSpec 2 required noomit
  status CustomResourceDefinitionStatus 3
type CustomResourceDefinitionSpec
  group string 1 required noomit
  names CustomResourceDefinitionNames 3 required noomit
  scope string 4 required noomit
  versions []CustomResourceDefinitionVersion 7 required atomic noomit
  conversion CustomResourceConversion 9
  preserveUnknownFields bool 10
type CustomResourceConversion
  strategy string 1 required noomit
  webhook WebhookConversion 2
type WebhookConversion
  clientConfig WebhookClientConfig 2
  conversionReviewVersions []string 3 required atomic noomit
type WebhookClientConfig
  service ServiceReference 1
  caBundle bytes 2
  url string 3 ptr
type ServiceReference
  namespace string 1 required noomit
  name string 2 required noomit
  path string 3 ptr
  port int32 4 ptr
type CustomResourceDefinitionVersion
  name string 1 required noomit
  served bool 2 required noomit
  storage bool 3 required noomit
  schema CustomResourceValidation 4
  subresources CustomResourceSubresources 5
  additionalPrinterColumns []CustomResourceColumnDefinition 6 atomic
  deprecated bool 7
  deprecationWarning string 8 ptr
  selectableFields []SelectableField 9 atomic
type SelectableField
  jsonPath string 1 required noomit
type CustomResourceColumnDefinition
  name string 1 required noomit
  type string 2 required noomit
  format string 3
  description string 4
  priority int32 5
  jsonPath string 6 required noomit
type CustomResourceDefinitionNames
  plural string 1 required noomit
  singular string 2
  shortNames []string 3 atomic
  kind string 4 required noomit
  listKind string 5
  categories []string 6 atomic
type CustomResourceDefinitionCondition
  type string 1 required noomit
  status string 2 required noomit
  lastTransitionTime Time 3
  reason string 4
  message string 5
  observedGeneration int64 6
type CustomResourceDefinitionStatus
  conditions []CustomResourceDefinitionCondition 1 map=type noomit
  acceptedNames CustomResourceDefinitionNames 2 noomit
  storedVersions []string 3 atomic noomit
  observedGeneration int64 4
type CustomResourceValidation
  openAPIV3Schema JSONSchemaProps 1
type CustomResourceSubresources
  status any 1  # an empty object ({}) upstream; the Python client types it as object
  scale CustomResourceSubresourceScale 2
type CustomResourceSubresourceScale
  specReplicasPath string 1 required noomit
  statusReplicasPath string 2 required noomit
  labelSelectorPath string 3 ptr
type JSONSchemaProps
  id string 1
  $schema string 2
  $ref string 3 ptr
  description string 4
  type string 5
  format string 6
  title string 7
  default any 8
  maximum double 9 ptr
  exclusiveMaximum bool 10
  minimum double 11 ptr
  exclusiveMinimum bool 12
  maxLength int64 13 ptr
  minLength int64 14 ptr
  pattern string 15
  maxItems int64 16 ptr
  minItems int64 17 ptr
  uniqueItems bool 18
  multipleOf double 19 ptr
  enum []any 20 atomic
  maxProperties int64 21 ptr
  minProperties int64 22 ptr
  required []string 23 atomic
  items any 24
  allOf []JSONSchemaProps 25 atomic
  oneOf []JSONSchemaProps 26 atomic
  anyOf []JSONSchemaProps 27 atomic
  not JSONSchemaProps 28
  properties map[string]JSONSchemaProps 29
  additionalProperties any 30
  patternProperties map[string]JSONSchemaProps 31
  dependencies map[string]any 32
  additionalItems any 33
  definitions map[string]JSONSchemaProps 34
  externalDocs ExternalDocumentation 35
  example any 36
  nullable bool 37
  x-kubernetes-preserve-unknown-fields bool 38 ptr
  x-kubernetes-embedded-resource bool 39
  x-kubernetes-int-or-string bool 40
  x-kubernetes-list-map-keys []string 41 atomic
  x-kubernetes-list-type string 42 ptr
  x-kubernetes-map-type string 43 ptr
  x-kubernetes-validations []ValidationRule 44 merge=rule map=rule
type ValidationRule
  rule string 1 required noomit
  message string 2
  messageExpression string 3
  reason string 4 ptr
  fieldPath string 5
  optionalOldSelf bool 6 ptr
type ExternalDocumentation
  description string 1
  url string 2
"""#
}
