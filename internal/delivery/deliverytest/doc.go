// Package deliverytest provides an in-memory fake of the delivery
// package's store ports and the conformance suite that those ports'
// implementations must pass.
//
// Store stands for the DynamoDB table as the delivery package uses it: the
// webhooks with their health, the deliveries and their attempts, the
// endpoints' gates, the parked deliveries, the events and the manual-send
// counts. It implements delivery.Store, delivery.Gates, delivery.Parking,
// delivery.History, delivery.Resends, delivery.Limiter, delivery.EventLog
// and delivery.Subscribers, so a Deliverer and a Manager can share one, as
// they share the table.
//
// RunConformanceTests checks an implementation of those ports against
// the contracts their doc comments state. It runs against Store and
// against the DynamoDB adapter on the emulators (internal/dynamo), which
// is what keeps the fake's semantics the adapter's.
package deliverytest
