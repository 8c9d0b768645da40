package dynamo

// The calls that several entities share: the consistent read of one
// item, the paged and decoded Query, the batched read, the transaction
// whose cancellation reasons are read, the pause before a try again, and
// the test for a failed condition.

import (
	"context"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/docproc/webhooks/internal/awserr"
)

// getItem reads the item at k with a strongly consistent GetItem; nil
// when there is none.
func (s *Store) getItem(ctx context.Context, op string, k map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, awserr.Classify(op, err)
	}
	return out.Item, nil
}

// errPassOver is what a decode function of query returns for an item to
// leave out (an expired one, not yet removed).
var errPassOver = errors.New("pass the item over")

// query reads the items of in's Query, page after page, and decodes each
// with decode, leaving out those it passes over (errPassOver). A limit
// above 0 bounds the items it returns: each page asks for no more than
// are left. With limit 0 it reads every page.
func query[T any](ctx context.Context, client *dynamodb.Client, op string, in *dynamodb.QueryInput, limit int,
	decode func(map[string]types.AttributeValue) (T, error)) ([]T, error) {
	var out []T
	for {
		if limit > 0 {
			in.Limit = aws.Int32(int32(limit - len(out)))
		}
		page, err := client.Query(ctx, in)
		if err != nil {
			return nil, awserr.Classify(op, err)
		}
		for _, item := range page.Items {
			v, err := decode(item)
			if errors.Is(err, errPassOver) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", op, err)
			}
			out = append(out, v)
		}
		if len(page.LastEvaluatedKey) == 0 || (limit > 0 && len(out) >= limit) {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// batchGetMax is the most keys one BatchGetItem may ask for.
const batchGetMax = 100

// batchTries is how often batchGet asks for the keys that a BatchGetItem
// left unprocessed (DynamoDB throttled their partitions). Each try reads
// only what is left, so tries make progress; four pauses (at most about
// 0.5 s in all, see pause) give a throttled partition time to take reads
// again before the read fails as unavailable (a 503).
const batchTries = 5

// batchGet reads keys (no two the same) with strongly consistent
// BatchGetItem calls of at most batchGetMax keys, asks again for the keys
// DynamoDB leaves unprocessed (up to batchTries in all), and hands each
// item found to each.
func (s *Store) batchGet(ctx context.Context, op string, keys []map[string]types.AttributeValue, each func(map[string]types.AttributeValue) error) error {
	for len(keys) > 0 {
		n := min(len(keys), batchGetMax)
		in := &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
			s.table: {Keys: keys[:n], ConsistentRead: aws.Bool(true)},
		}}
		keys = keys[n:]
		for try := 1; ; try++ {
			out, err := s.client.BatchGetItem(ctx, in)
			if err != nil {
				return awserr.Classify(op, err)
			}
			for _, item := range out.Responses[s.table] {
				if err := each(item); err != nil {
					return err
				}
			}
			if len(out.UnprocessedKeys[s.table].Keys) == 0 {
				break
			}
			if try == batchTries {
				return awserr.Unavailable(op, errors.New("keys left unprocessed"))
			}
			in.RequestItems = out.UnprocessedKeys
			if err := pause(ctx, try); err != nil {
				return awserr.Classify(op, err)
			}
		}
	}
	return nil
}

// transactionTries is how often a transaction cancelled only by a
// conflicting concurrent transaction is tried (Create's and Save's).
// DynamoDB cancels rather than queues transactions that touch the same
// item (an owner's count item, a delivery's item), and the SDK does not
// retry a cancelled transaction. A conflicting transaction takes
// milliseconds, so three pauses (at most about 0.3 s in all, see pause)
// outlast it unless writers keep coming; then the caller gets a 503 and
// tries again itself, rather than holding its request or message longer.
const transactionTries = 4

// transact runs items as one TransactWriteItems with token as its
// ClientRequestToken. If the transaction was cancelled it returns the
// cancellation codes, in the order of the items ("None", or empty on an
// emulator, for an item that did not fail), and the cancellation;
// otherwise nil codes and the call's error, if any, classified.
func (s *Store) transact(ctx context.Context, op string, items []types.TransactWriteItem, token string) ([]string, *types.TransactionCanceledException, error) {
	_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: items, ClientRequestToken: aws.String(token),
	})
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return nil, nil, awserr.Classify(op, err)
	}
	codes := make([]string, len(items))
	for i, r := range tce.CancellationReasons {
		if i < len(items) {
			codes[i] = aws.ToString(r.Code)
		}
	}
	return codes, tce, nil
}

// errConflicted marks a transaction cancelled only because a concurrent
// transaction touched the same items; trying again is worth it.
var errConflicted = errors.New("cancelled by a concurrent transaction")

// cancelled maps the reasons of a cancelled transaction that are not a
// failed condition: throttling is a 503 (apperr Unavailable), a conflict
// with another transaction is errConflicted wrapped as a 503 (the caller
// may try again), anything else is an internal error.
func cancelled(op string, tce *types.TransactionCanceledException, codes []string) error {
	conflict := false
	for _, c := range codes {
		switch c {
		case "TransactionConflict":
			conflict = true
		case "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded":
			return awserr.Unavailable(op, tce)
		}
	}
	if conflict {
		return awserr.Unavailable(op, errors.Join(errConflicted, tce))
	}
	return fmt.Errorf("%s: %w", op, tce)
}

// pause waits before the next try of a call DynamoDB partly declined or
// cancelled, or until ctx is done: try × 10 to 49 ms, longer on each try,
// with jitter so that conflicting writers part.
func pause(ctx context.Context, try int) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Duration(try*(10+mathrand.IntN(40))) * time.Millisecond):
		return nil
	}
}

// conditionFailed reports whether err is a write's failed condition
// (ConditionalCheckFailedException).
func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}
