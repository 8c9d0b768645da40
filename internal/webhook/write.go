package webhook

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/docproc/webhooks/internal/tenant"
)

// updateTries is how often an update re-reads and re-applies itself when a
// concurrent write got in first, with jittered backoff between tries. Each
// try applies only the fields the caller sent, so concurrent updates of
// different fields all land.
const updateTries = 10

// backoff waits before try number try (from 1) of a conflicting write:
// a random time up to 10 ms doubled per try, at most 320 ms.
func backoff(ctx context.Context, try int) error {
	limit := 10 * time.Millisecond << min(try, 5)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(rand.N(limit)):
		return nil
	}
}

// Update applies u to owner's webhook id with an optimistic version check,
// re-reading and re-applying when another write got in first. When the
// write's outcome is unknown, it reads the webhook back: if it holds this
// update, the update committed and is answered as such.
func (s *Service) Update(ctx context.Context, owner tenant.Tenant, id string, u UpdateParams) (Webhook, error) {
	var wrote Webhook
	w, err := s.writeFresh(ctx, owner, id, "update", func(w Webhook) (Webhook, error) {
		w.Settings = u.Apply(w.Settings)
		if u.IsActive != nil && *u.IsActive {
			// Re-enabling clears why the service disabled it and its
			// failure history.
			w.Health = Health{}
		}
		w.UpdatedAt = s.opts.Now().UTC().Truncate(time.Second)
		w.Version++
		wrote = w
		return w, s.store.Update(ctx, w)
	})
	if err == nil || !outcomeUnknown(err) || wrote.ID == "" {
		return w, err
	}
	cleanup := newBudget(ctx)
	defer cleanup.stop()
	got, gerr := s.store.Get(cleanup.context(), owner, id)
	if gerr == nil && got.Version == wrote.Version && got.UpdatedAt.Equal(wrote.UpdatedAt) && sameSettings(got.Settings, wrote.Settings) {
		s.log.WarnContext(ctx, "update committed although its write reported an error", "webhook_id", id, "error", err.Error())
		return got, nil
	}
	return Webhook{}, err
}

// sameSettings reports whether a and b are the same settings.
func sameSettings(a, b Settings) bool {
	return a.URL == b.URL && slices.Equal(a.Events, b.Events) && a.IsActive == b.IsActive &&
		a.RetryEnabled == b.RetryEnabled && a.MaxRetries == b.MaxRetries && a.RateLimit == b.RateLimit
}

// Delete removes owner's webhook id and its count, noting a SecretCheck in
// the same transaction, then deletes its signing secret and clears the
// check. If the secret cannot be deleted, the webhook is still gone: the
// check stays and the janitor removes the secret. When the delete's outcome
// is unknown and the webhook is gone, it is answered as done.
func (s *Service) Delete(ctx context.Context, owner tenant.Tenant, id string) (Webhook, error) {
	now := s.opts.Now().UTC()
	var read Webhook
	w, err := s.writeFresh(ctx, owner, id, "delete", func(w Webhook) (Webhook, error) {
		read = w
		return w, s.store.Delete(ctx, w, now)
	})
	cleanup := newBudget(ctx)
	defer cleanup.stop()
	if err != nil {
		if !outcomeUnknown(err) || read.ID == "" {
			return Webhook{}, err
		}
		if exists, xerr := s.store.Exists(cleanup.context(), owner, id); xerr != nil || exists {
			return Webhook{}, err
		}
		s.log.WarnContext(ctx, "delete committed although its write reported an error", "webhook_id", id, "error", err.Error())
		w = read
	}
	cctx := cleanup.context()
	if derr := s.secrets.Delete(cctx, w.SecretRef); derr != nil {
		s.log.ErrorContext(ctx, "webhook deleted but its signing secret was not; left for the janitor",
			"webhook_id", id, "secret_arn", w.SecretRef, "error", derr.Error())
		return w, nil
	}
	if cerr := s.store.ClearCheck(cctx, SecretCheck{Kind: CheckOrphan, Owner: owner, WebhookID: id, At: now}); cerr != nil {
		s.log.WarnContext(ctx, "secret check not cleared; the janitor clears it", "webhook_id", id, "error", cerr.Error())
	}
	return w, nil
}

// writeFresh reads owner's webhook id with a consistent read and passes it
// to write, which writes conditionally on the version read. While write
// reports ErrStale it reads and tries again, with jittered backoff, up to
// updateTries times.
func (s *Service) writeFresh(ctx context.Context, owner tenant.Tenant, id, verb string,
	write func(Webhook) (Webhook, error)) (Webhook, error) {
	for try := 1; try <= updateTries; try++ {
		w, err := s.Get(ctx, owner, id)
		if err != nil {
			return Webhook{}, err
		}
		w, err = write(w)
		if err == nil {
			return w, nil
		}
		if !errors.Is(err, ErrStale) {
			return Webhook{}, fmt.Errorf("%s webhook %s: %w", verb, id, err)
		}
		if err := backoff(ctx, try); err != nil {
			return Webhook{}, fmt.Errorf("%s webhook %s: %w", verb, id, err)
		}
	}
	return Webhook{}, busy()
}
