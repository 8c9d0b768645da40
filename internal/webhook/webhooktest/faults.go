// Package webhooktest provides in-memory fakes of the webhook package's
// ports, for fast unit tests of webhook.Service, as net/http/httptest does
// for HTTP.
//
// Store stands for the DynamoDB table: it is both a webhook.Store and a
// webhook.KeyStore, because a create completes its idempotency claim in the
// same transaction as the webhook. SecretStore stands for Secrets Manager.
// Faults, shared by the fakes, records their calls in order, makes chosen
// calls fail, before or after their write, and lets a concurrent request
// act just before a chosen call.
//
// RunStoreConformanceTests and RunSecretStoreConformanceTests check an
// implementation of the ports against the contracts ports.go states.
// They run against these fakes and against the adapters on the emulators
// (internal/dynamo, internal/secrets), which is what keeps the fakes'
// semantics the adapters'.
//
// The fakes honour the ports' contracts as ports.go states them. Each
// call is atomic and never retried inside the fake; like the adapters, a
// caller's own retry of a write that committed (a completion, a rotation
// lock, a secret's creation) succeeds without doing it again. A write that
// committed behind an error (a lost response) is made with
// Faults.FailAfter. The
// fakes ignore their context and do not model throttling, timeouts or the
// adapters' own retries: the emulator tests in internal/api cover those.
package webhooktest

import (
	"slices"
	"sync"
)

// Faults records the calls made to the fakes that share it and makes
// chosen ones fail. Methods are named "Type.Method", for example
// "Store.Create" or "SecretStore.Put", and their calls are counted from 1,
// including calls a test makes itself. A nil *Faults records nothing and
// fails nothing. Faults is safe for concurrent use.
type Faults struct {
	mu    sync.Mutex
	calls []string
	rules map[callID]*rule
}

// callID names the nth call of a method.
type callID struct {
	method string
	n      int
}

// rule is what happens to one call.
type rule struct {
	before func()
	err    error
	after  bool
}

// Fail makes the nth call of method return err without doing anything.
func (f *Faults) Fail(method string, n int, err error) {
	f.set(method, n, func(r *rule) { r.err, r.after = err, false })
}

// FailAfter makes the nth call of method do its work, write included, and
// then return err instead of its result: a response lost after the write
// committed.
func (f *Faults) FailAfter(method string, n int, err error) {
	f.set(method, n, func(r *rule) { r.err, r.after = err, true })
}

// Before runs fn just before the nth call of method does its work, as a
// concurrent request would. Calls that fn makes to the fakes are recorded
// and counted like any other.
func (f *Faults) Before(method string, n int, fn func()) {
	f.set(method, n, func(r *rule) { r.before = fn })
}

// Calls returns the methods called so far, in order.
func (f *Faults) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// set changes the rule of the nth call of method.
func (f *Faults) set(method string, n int, change func(*rule)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rules == nil {
		f.rules = map[callID]*rule{}
	}
	id := callID{method, n}
	if f.rules[id] == nil {
		f.rules[id] = &rule{}
	}
	change(f.rules[id])
}

// next records a call of method and returns its rule.
func (f *Faults) next(method string) rule {
	if f == nil {
		return rule{}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, method)
	n := 0
	for _, c := range f.calls {
		if c == method {
			n++
		}
	}
	if r := f.rules[callID{method, n}]; r != nil {
		return *r
	}
	return rule{}
}

// call runs op as a call of method under f's rules.
func call[T any](f *Faults, method string, op func() (T, error)) (T, error) {
	r := f.next(method)
	if r.before != nil {
		r.before()
	}
	var zero T
	if r.err != nil && !r.after {
		return zero, r.err
	}
	v, err := op()
	if r.err != nil {
		return zero, r.err
	}
	return v, err
}

// do runs op, which returns only an error, as a call of method.
func do(f *Faults, method string, op func() error) error {
	_, err := call(f, method, func() (struct{}, error) { return struct{}{}, op() })
	return err
}
