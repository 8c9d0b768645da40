package worker

// Metric names of the steps that fail before an attempt is made, such as
// a read or write of DynamoDB: the message comes back, and nothing reaches
// an endpoint meanwhile. template.yaml alarms on each within 5 minutes.
const (
	// MetricDeliveryStepErrors counts the delivery messages whose step
	// failed on a dependency (DynamoDB, Secrets Manager, SQS, EventBridge)
	// and that come back.
	MetricDeliveryStepErrors = "DeliveryStepErrors"
	// MetricFanoutErrors counts the events whose fan-out failed (or whose
	// setting aside did) and that come back.
	MetricFanoutErrors = "FanoutErrors"
)
