extension SchemaSources {
    static let apiextensionsV1 = #"""
package apiextensions/v1
type CustomResourceDefinition object
  metadata meta/v1.ObjectMeta 1
  spec CustomResourceDefinitionSpec 2 required
  status CustomResourceDefinitionStatus 3
type CustomResourceDefinitionSpec
  group string 1 required
  names CustomResourceDefinitionNames 3 required
  scope string 4 required
  versions []CustomResourceDefinitionVersion 7 required atomic
  conversion CustomResourceConversion 9
  preserveUnknownFields bool 10
type CustomResourceConversion
  strategy string 1 required
  webhook WebhookConversion 2
type WebhookConversion
  clientConfig WebhookClientConfig 2
  conversionReviewVersions []string 3 required atomic
type WebhookClientConfig
  service ServiceReference 1
  caBundle bytes 2
  url string 3
type ServiceReference
  namespace string 1 required
  name string 2 required
  path string 3
  port int32 4
type CustomResourceDefinitionVersion
  name string 1 required
  served bool 2 required
  storage bool 3 required
  schema CustomResourceValidation 4
  subresources CustomResourceSubresources 5
  additionalPrinterColumns []CustomResourceColumnDefinition 6 atomic
  deprecated bool 7
  deprecationWarning string 8
  selectableFields []SelectableField 9 atomic
type SelectableField
  jsonPath string 1 required
type CustomResourceColumnDefinition
  name string 1 required
  type string 2 required
  format string 3
  description string 4
  priority int32 5
  jsonPath string 6 required
type CustomResourceDefinitionNames
  plural string 1 required
  singular string 2
  shortNames []string 3 atomic
  kind string 4 required
  listKind string 5
  categories []string 6 atomic
type CustomResourceDefinitionCondition
  type string 1 required
  status string 2 required
  lastTransitionTime Time 3
  reason string 4
  message string 5
  observedGeneration int64 6
type CustomResourceDefinitionStatus
  conditions []CustomResourceDefinitionCondition 1 map=type
  acceptedNames CustomResourceDefinitionNames 2
  storedVersions []string 3 atomic
  observedGeneration int64 4
type CustomResourceValidation
  openAPIV3Schema JSONSchemaProps 1
type CustomResourceSubresources
  status any 1  # an empty object ({}) upstream; the Python client types it as object
  scale CustomResourceSubresourceScale 2
type CustomResourceSubresourceScale
  specReplicasPath string 1 required
  statusReplicasPath string 2 required
  labelSelectorPath string 3
type JSONSchemaProps
  id string 1
  $schema string 2
  $ref string 3
  description string 4
  type string 5
  format string 6
  title string 7
  default any 8
  maximum double 9
  exclusiveMaximum bool 10
  minimum double 11
  exclusiveMinimum bool 12
  maxLength int64 13
  minLength int64 14
  pattern string 15
  maxItems int64 16
  minItems int64 17
  uniqueItems bool 18
  multipleOf double 19
  enum []any 20 atomic
  maxProperties int64 21
  minProperties int64 22
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
  x-kubernetes-preserve-unknown-fields bool 38
  x-kubernetes-embedded-resource bool 39
  x-kubernetes-int-or-string bool 40
  x-kubernetes-list-map-keys []string 41 atomic
  x-kubernetes-list-type string 42
  x-kubernetes-map-type string 43
  x-kubernetes-validations []ValidationRule 44 merge=rule map=rule
type ValidationRule
  rule string 1 required
  message string 2
  messageExpression string 3
  reason string 4
  fieldPath string 5
  optionalOldSelf bool 6
type ExternalDocumentation
  description string 1
  url string 2
"""#
}
