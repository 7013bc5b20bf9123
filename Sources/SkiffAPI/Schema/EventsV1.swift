extension SchemaSources {
    static let eventsV1 = #"""
package events/v1
type Event object
  metadata meta/v1.ObjectMeta 1 noomit
  eventTime MicroTime 2 required noomit
  series EventSeries 3
  reportingController string 4
  reportingInstance string 5
  action string 6
  reason string 7
  regarding core/v1.ObjectReference 8
  related core/v1.ObjectReference 9
  note string 10
  type string 11
  deprecatedSource core/v1.EventSource 12
  deprecatedFirstTimestamp Time 13
  deprecatedLastTimestamp Time 14
  deprecatedCount int32 15
type EventSeries
  count int32 1 required noomit
  lastObservedTime MicroTime 2 required noomit
"""#
}
