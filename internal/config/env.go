// Package config reads the functions' settings from their environment and
// fails fast, naming every missing or bad value at once. Each function's
// settings, the variables it reads and its Load function live in the
// function's own file (api.go, janitor.go, fanout.go, delivery.go,
// sweeper.go); env.go names the variables and reader.go reads them.
package config

// Environment variable names the functions read. template.yaml sets the
// same names; a test checks that the two agree.
const (
	EnvTableName    = "TABLE_NAME"
	EnvSecretPrefix = "SECRET_PREFIX"
	EnvKMSKeyID     = "SECRET_KMS_KEY_ID"
	EnvLogLevel     = "LOG_LEVEL"
	EnvMaxWebhooks  = "MAX_WEBHOOKS_PER_ACCOUNT"
	EnvOrphanMinAge = "ORPHAN_MIN_AGE"
	EnvKeyCacheTTL  = "API_KEY_CACHE_TTL"
	EnvNamespace    = "METRICS_NAMESPACE"

	// EnvDeliveryQueueURL is the delivery queue: the fan-out, the API's
	// manual sends (retries, recoveries, tests), the delivery function's
	// parked attempts and the sweeper send to it.
	EnvDeliveryQueueURL = "DELIVERY_QUEUE_URL"
	// EnvRejectedQueueURL is where the fan-out sets aside events it cannot
	// deliver (malformed, of an unknown type, too large).
	EnvRejectedQueueURL = "REJECTED_QUEUE_URL"
	// EnvFanoutQueueURL is the fan-out queue: the fan-out function holds
	// back an event whose fan-out failed by changing its visibility there.
	EnvFanoutQueueURL = "FANOUT_QUEUE_URL"
	// EnvRetrySchedule is the waits before retries (delivery.ParseSchedule).
	EnvRetrySchedule = "DELIVERY_RETRY_SCHEDULE"
	// EnvDeliveryTimeout is the time limit of one delivery attempt.
	EnvDeliveryTimeout = "DELIVERY_TIMEOUT"
	// EnvHorizon is how long after its series began a delivery may still
	// be retried.
	EnvHorizon = "DELIVERY_HORIZON"
	// EnvEndpointConcurrency is how many attempts one endpoint may have
	// in progress at once.
	EnvEndpointConcurrency = "ENDPOINT_CONCURRENCY"
	// EnvDisableAfter is how long an endpoint's attempts must all have
	// failed before it is disabled (delivery.DisableAfterAttempts of them
	// in a row at least).
	EnvDisableAfter = "DISABLE_AFTER"
	// EnvRetentionDays is how many days events and attempt records are kept.
	EnvRetentionDays = "RECORD_RETENTION_DAYS"
	// EnvEventBusName is the stack's event bus: the delivery function
	// publishes its operational notices there, and `make run` creates it
	// under this name.
	EnvEventBusName = "EVENT_BUS_NAME"
	// EnvAllowedCIDRs lists private networks deliveries may reach (local
	// only; see LocalOnly).
	EnvAllowedCIDRs = "ALLOWED_DESTINATION_CIDRS"
	// EnvCAFile is a PEM file of extra roots trusted for deliveries (local
	// only; see LocalOnly).
	EnvCAFile = "DELIVERY_CA_FILE"
)

// Log formats. Lambda's advanced logging controls set AWS_LAMBDA_LOG_FORMAT
// to JSON or Text; JSON is the default.
const (
	LogFormatJSON = "json"
	LogFormatText = "text"
)

// LocalOnly lists variables the functions read that template.yaml never
// sets: they loosen the API's and the delivery function's checks for a
// laptop (ALLOWED_DESTINATION_CIDRS lets a webhook be registered for and
// delivered to a receiver on loopback or a private network;
// DELIVERY_CA_FILE trusts a self-signed receiver's CA) and have no place in
// AWS.
var LocalOnly = []string{EnvAllowedCIDRs, EnvCAFile}

// SDKVariables lists variables the template declares for the AWS SDK
// rather than for this package: AWS_ENDPOINT_URL, empty in AWS, lets
// `sam local invoke` point the function at a local emulator.
var SDKVariables = []string{"AWS_ENDPOINT_URL"}
