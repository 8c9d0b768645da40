package sim

// Calls counts the AWS calls a run makes, with DynamoDB's request units
// and Lambda's billed time. The fan-out is not simulated: its sends to
// the delivery queue are counted (one SendMessageBatch per 10 messages),
// its own calls are not.
type Calls struct {
	SQS struct {
		// SendMessageBatch: the fan-out's sends.
		SendMessageBatch int
		// SendMessage: a parked attempt or a held delivery (SendLater).
		SendMessage int
		// ReceiveMessage: one per batch the pollers receive (empty long
		// polls of an idle queue are not modelled).
		ReceiveMessage int
		// DeleteMessageBatch: one per batch with a message handled.
		DeleteMessageBatch int
		// ChangeMessageVisibility: one per failed step.
		ChangeMessageVisibility int
		// OverLimit counts the receives refused at MaxInFlight (not
		// billed apart: they are ReceiveMessage calls).
		OverLimit int
	}
	DynamoDB struct {
		BatchGetItem, GetItem, UpdateItem, TransactWriteItems, Query int
		// RRU and WRU are the read and write request units.
		RRU, WRU float64
	}
	SecretsManager struct {
		GetSecretValue int
	}
	Lambda struct {
		// Invocations and GBSeconds are the delivery function's, at
		// MemorySize 256 MB, each invocation's time rounded up to the
		// millisecond.
		Invocations int
		GBSeconds   float64
		// Sweeps are the sweeper's invocations, one a minute, billed at
		// sweeperGB × sweepSeconds each.
		Sweeps int
	}
}

// SQSRequests is the billed SQS requests (every message here is under
// 64 KB, so a call is one request).
func (c *Calls) SQSRequests() int {
	s := c.SQS
	return s.SendMessageBatch + s.SendMessage + s.ReceiveMessage + s.DeleteMessageBatch + s.ChangeMessageVisibility
}

// DynamoDBCalls is the DynamoDB calls of every kind.
func (c *Calls) DynamoDBCalls() int {
	d := c.DynamoDB
	return d.BatchGetItem + d.GetItem + d.UpdateItem + d.TransactWriteItems + d.Query
}

// Memory sizes of the functions (template.yaml).
const (
	deliveryGB = 0.25
	sweeperGB  = 0.125
	// sweepSeconds is the billed time of a sweep that finds nothing due
	// (16 Queries, 4 at a time): assumed, not measured.
	sweepSeconds = 0.1
)

// Prices are the unit prices a run is billed at, in US dollars.
type Prices struct {
	SQSPerMillion          float64
	DynamoDBWRUPerMillion  float64
	DynamoDBRRUPerMillion  float64
	LambdaPerMillion       float64
	LambdaGBSecond         float64
	SecretsManagerPer10000 float64
}

// USEast1 are the us-east-1 prices, from the pages named in
// docs/performance.md ("Scale simulation"), checked on 2026-12-06 in
// stored copies of those and other public pages: SQS standard requests
// (the first 100 billion a month), DynamoDB on-demand standard table
// class (the November 2024 prices), Lambda arm64 (the first 7.5 billion
// GB-s a month), Secrets Manager API calls.
var USEast1 = Prices{
	SQSPerMillion:          0.40,
	DynamoDBWRUPerMillion:  0.625,
	DynamoDBRRUPerMillion:  0.125,
	LambdaPerMillion:       0.20,
	LambdaGBSecond:         0.0000133334,
	SecretsManagerPer10000: 0.05,
}

// Bill is what a run's calls cost, by service, in US dollars.
type Bill struct {
	SQS, DynamoDB, Lambda, SecretsManager float64
}

// Total is the whole bill.
func (b Bill) Total() float64 { return b.SQS + b.DynamoDB + b.Lambda + b.SecretsManager }

// Bill prices c.
func (p Prices) Bill(c *Calls) Bill {
	l := c.Lambda
	return Bill{
		SQS:      float64(c.SQSRequests()) * p.SQSPerMillion / 1e6,
		DynamoDB: c.DynamoDB.WRU*p.DynamoDBWRUPerMillion/1e6 + c.DynamoDB.RRU*p.DynamoDBRRUPerMillion/1e6,
		Lambda: float64(l.Invocations+l.Sweeps)*p.LambdaPerMillion/1e6 +
			(l.GBSeconds+float64(l.Sweeps)*sweeperGB*sweepSeconds)*p.LambdaGBSecond,
		SecretsManager: float64(c.SecretsManager.GetSecretValue) * p.SecretsManagerPer10000 / 1e4,
	}
}
