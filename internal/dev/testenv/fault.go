package testenv

import (
	"context"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// Fault makes attempts of one AWS operation fail. It runs inside the SDK's
// retry loop, once per attempt, so the SDK's own retry and error handling
// see the injected error exactly as they would a real one.
type Fault struct {
	// Operation is the API operation name, such as "PutItem".
	Operation string
	// Skip lets this many attempts through before failing.
	Skip int
	// Times is how many attempts fail after Skip; 0 means all of them.
	Times int
	// Err is the error each failing attempt returns. With Hang, the
	// context's error is returned instead.
	Err error
	// AfterSend lets the attempt reach the emulator, which carries it out,
	// and then loses the response: the caller sees Err (or, with Hang, its
	// deadline) although the write happened.
	AfterSend bool
	// Hang makes the attempt wait until its context ends, as a call to a
	// dependency that does not answer.
	Hang bool
}

// ConnectionReset is an error as the SDK reports a dropped connection. It
// is temporary, so the SDK's retryer tries the call again: with AfterSend,
// that retry meets the effect of its own first try.
type ConnectionReset struct{}

func (ConnectionReset) Error() string   { return "injected: connection reset by peer" }
func (ConnectionReset) Timeout() bool   { return false }
func (ConnectionReset) Temporary() bool { return true }

// Injector applies Faults and counts the attempts of every operation.
type Injector struct {
	mu     sync.Mutex
	faults []Fault
	calls  map[string]int
}

// NewInjector returns an Injector for faults.
func NewInjector(faults ...Fault) *Injector {
	return &Injector{faults: faults, calls: map[string]int{}}
}

// Calls returns how many attempts of operation were made.
func (in *Injector) Calls(operation string) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.calls[operation]
}

// Total returns how many attempts of all operations were made, and which.
func (in *Injector) Total() (int, map[string]int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	n, ops := 0, map[string]int{}
	for op, c := range in.calls {
		n += c
		ops[op] = c
	}
	return n, ops
}

// Middleware adds the injector to a client's stack, after the retry step.
func (in *Injector) Middleware(stack *middleware.Stack) error {
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("testenv.Injector",
		func(ctx context.Context, input middleware.FinalizeInput, next middleware.FinalizeHandler) (
			middleware.FinalizeOutput, middleware.Metadata, error) {
			fault := in.attempt(awsmiddleware.GetOperationName(ctx))
			if fault == nil {
				return next.HandleFinalize(ctx, input)
			}
			if fault.AfterSend {
				if _, _, err := next.HandleFinalize(ctx, input); err != nil {
					return middleware.FinalizeOutput{}, middleware.Metadata{}, err
				}
			}
			if fault.Hang {
				<-ctx.Done()
				return middleware.FinalizeOutput{}, middleware.Metadata{}, ctx.Err()
			}
			return middleware.FinalizeOutput{}, middleware.Metadata{}, fault.Err
		}), middleware.After)
}

// attempt counts one attempt of op and returns the fault it must suffer.
func (in *Injector) attempt(op string) *Fault {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.calls[op]++
	n := in.calls[op]
	for i := range in.faults {
		f := &in.faults[i]
		if f.Operation == op && n > f.Skip && (f.Times == 0 || n <= f.Skip+f.Times) {
			return f
		}
	}
	return nil
}
