extension SchemaSources {
    static let schedulingV1 = #"""
package scheduling/v1
type PriorityClass object
  metadata meta/v1.ObjectMeta 1
  value int32 2 required noomit
  globalDefault bool 3
  description string 4
  preemptionPolicy string 5 ptr
"""#
}
