package webhooktest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/docproc/webhooks/internal/webhook"
)

// Compile-time check that SecretStore implements the port it fakes.
var _ webhook.SecretStore = (*SecretStore)(nil)

// SecretStore is an in-memory webhook.SecretStore. Like Secrets Manager it
// names each secret after its owner and webhook, so a second Create for
// the same webhook fails. Get and Put of a missing secret are ErrNotFound;
// Delete of one is not an error. Every read and write copies. It is safe
// for concurrent use.
type SecretStore struct {
	faults *Faults
	mu     sync.Mutex
	sets   map[string]webhook.SecretSet
}

// NewSecretStore returns an empty SecretStore whose calls go through
// faults, which may be nil.
func NewSecretStore(faults *Faults) *SecretStore {
	return &SecretStore{faults: faults, sets: map[string]webhook.SecretSet{}}
}

// cloneSet returns a copy of set that shares no memory with it.
func cloneSet(set webhook.SecretSet) webhook.SecretSet {
	set.Previous = slices.Clone(set.Previous)
	return set
}

// Create implements webhook.SecretStore. The reference is
// "fake/<mode>/<account>/<webhook id>".
func (s *SecretStore) Create(_ context.Context, sec webhook.NewSecret) (string, error) {
	return call(s.faults, "SecretStore.Create", func() (string, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		ref := fmt.Sprintf("fake/%s/%s/%s", sec.Owner.Mode, sec.Owner.Account, sec.WebhookID)
		if set, ok := s.sets[ref]; ok {
			// As in Secrets Manager's adapter: the same secret under its
			// name is this call's own first try; another is an error.
			if set.CurrentSHA256 == sec.SHA256 {
				return ref, nil
			}
			return "", fmt.Errorf("secret %s exists", ref)
		}
		s.sets[ref] = webhook.SecretSet{Current: sec.Value, CurrentSHA256: sec.SHA256}
		return ref, nil
	})
}

// Get implements webhook.SecretStore.
func (s *SecretStore) Get(_ context.Context, ref string) (webhook.SecretSet, error) {
	return call(s.faults, "SecretStore.Get", func() (webhook.SecretSet, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		set, ok := s.sets[ref]
		if !ok {
			return webhook.SecretSet{}, webhook.ErrNotFound
		}
		return cloneSet(set), nil
	})
}

// Put implements webhook.SecretStore.
func (s *SecretStore) Put(_ context.Context, ref string, set webhook.SecretSet) error {
	return do(s.faults, "SecretStore.Put", func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.sets[ref]; !ok {
			return webhook.ErrNotFound
		}
		s.sets[ref] = cloneSet(set)
		return nil
	})
}

// Delete implements webhook.SecretStore.
func (s *SecretStore) Delete(_ context.Context, ref string) error {
	return do(s.faults, "SecretStore.Delete", func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.sets, ref)
		return nil
	})
}

// Refs returns the references of the stored secrets, sorted, for tests to
// inspect.
func (s *SecretStore) Refs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.sets))
}
