package webhook

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/tenant"
)

// List paging limits.
const (
	DefaultPageSize = 10
	MaxPageSize     = 100
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

// rotationLockTTL bounds how long a crashed rotation blocks the next one.
const rotationLockTTL = 15 * time.Second

// Get returns owner's webhook id. Another owner's webhook is NotFound.
func (s *Service) Get(ctx context.Context, owner tenant.Tenant, id string) (Webhook, error) {
	if !ValidID(id) {
		return Webhook{}, NotFound(id)
	}
	return s.store.Get(ctx, owner, id)
}

// List returns a page of owner's webhooks, newest first. startingAfter,
// when not empty, must name one of owner's webhooks.
func (s *Service) List(ctx context.Context, owner tenant.Tenant, limit int, startingAfter string) (Page, error) {
	if startingAfter != "" {
		exists := false
		var err error
		if ValidID(startingAfter) {
			exists, err = s.store.Exists(ctx, owner, startingAfter)
		}
		if err != nil {
			return Page{}, err
		}
		if !exists {
			return Page{}, &apperr.Error{Kind: apperr.Invalid, Code: "starting_after_invalid", Param: "starting_after",
				Message: "starting_after must be the id of one of your webhooks"}
		}
	}
	return s.store.List(ctx, owner, limit, startingAfter)
}

// Update applies u to owner's webhook id with an optimistic version check,
// re-reading and re-applying when another write got in first.
func (s *Service) Update(ctx context.Context, owner tenant.Tenant, id string, u UpdateParams) (Webhook, error) {
	return s.writeFresh(ctx, owner, id, "update", func(w Webhook) (Webhook, error) {
		w.Settings = u.Apply(w.Settings)
		w.UpdatedAt = s.opts.Now().UTC().Truncate(time.Second)
		w.Version++
		return w, s.store.Update(ctx, w)
	})
}

// Delete removes owner's webhook id and its count, then its signing secret.
// If the secret cannot be deleted, the webhook is still gone: the secret's
// ARN is logged and the janitor removes it.
func (s *Service) Delete(ctx context.Context, owner tenant.Tenant, id string) (Webhook, error) {
	w, err := s.writeFresh(ctx, owner, id, "delete", func(w Webhook) (Webhook, error) {
		return w, s.store.Delete(ctx, w)
	})
	if err != nil {
		return Webhook{}, err
	}
	cctx, cancel := compensationContext(ctx)
	defer cancel()
	if derr := s.secrets.Delete(cctx, w.SecretRef); derr != nil {
		s.log.ErrorContext(ctx, "webhook deleted but its signing secret was not; left for the janitor",
			"webhook_id", id, "secret_arn", w.SecretRef, "error", derr.Error())
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
	return Webhook{}, &apperr.Error{Kind: apperr.Conflict, Code: "webhook_busy",
		Message: "the webhook is being changed by other requests; retry"}
}

// Rotated is the result of a rotation: the webhook and its new secret,
// which is returned here and never again.
type Rotated struct {
	// Webhook is the webhook after the rotation.
	Webhook Webhook
	// SigningSecret is the new current secret.
	SigningSecret string
}

// RotateSecret gives owner's webhook id a new signing secret. The previous
// one stays valid for grace. Rotations of one webhook are serialized by a
// lock on its item, so two at once cannot lose each other's secrets.
func (s *Service) RotateSecret(ctx context.Context, owner tenant.Tenant, id string, grace time.Duration) (Rotated, error) {
	if !ValidID(id) {
		return Rotated{}, NotFound(id)
	}
	now := s.opts.Now().UTC()
	token := newToken()
	w, err := s.store.LockRotation(ctx, owner, id, token, now, now.Add(rotationLockTTL))
	if err != nil {
		return Rotated{}, err
	}
	next, err := NewSigningSecret()
	if err == nil {
		err = s.rotate(ctx, w.SecretRef, next, grace, now)
	}
	// The lock is released either way; the version moves on so that a
	// concurrent update reads the webhook again.
	cctx, cancel := compensationContext(ctx)
	defer cancel()
	w, uerr := s.store.UnlockRotation(cctx, owner, id, token, now, err == nil)
	if err != nil {
		if uerr != nil {
			s.log.WarnContext(ctx, "rotation lock not released; it expires on its own", "webhook_id", id, "error", uerr.Error())
		}
		return Rotated{}, err
	}
	if uerr != nil {
		return Rotated{}, fmt.Errorf("finish rotation of %s: %w", id, uerr)
	}
	return Rotated{Webhook: w, SigningSecret: next}, nil
}

// rotate stores next as the current secret at ref.
func (s *Service) rotate(ctx context.Context, ref, next string, grace time.Duration, now time.Time) error {
	set, err := s.secrets.Get(ctx, ref)
	if err != nil {
		return fmt.Errorf("read signing secrets: %w", err)
	}
	rotated, err := set.Rotate(next, grace, now)
	if err != nil {
		return err
	}
	if err := s.secrets.Put(ctx, ref, rotated); err != nil {
		return fmt.Errorf("store rotated signing secrets: %w", err)
	}
	return nil
}

// PruneSecrets drops the expired earlier secrets of owner's webhook id,
// whose secret is at ref, and returns how many it dropped. It reads without
// a lock and takes the rotation lock only when there is something to drop,
// so that it cannot undo a rotation running at the same time. A webhook
// being rotated is skipped (the rotation prunes too).
func (s *Service) PruneSecrets(ctx context.Context, owner tenant.Tenant, id, ref string) (int, error) {
	now := s.opts.Now().UTC()
	set, err := s.secrets.Get(ctx, ref)
	if err != nil || len(set.Unexpired(now)) == len(set.Previous) {
		return 0, err
	}
	token := newToken()
	if _, err := s.store.LockRotation(ctx, owner, id, token, now, now.Add(rotationLockTTL)); err != nil {
		if apperr.KindOf(err) == apperr.Conflict {
			return 0, nil
		}
		return 0, err
	}
	pruned := 0
	if set, err = s.secrets.Get(ctx, ref); err == nil {
		kept := set.Unexpired(now)
		pruned = len(set.Previous) - len(kept)
		set.Previous = kept
		err = s.secrets.Put(ctx, ref, set)
	}
	cctx, cancel := compensationContext(ctx)
	defer cancel()
	if _, uerr := s.store.UnlockRotation(cctx, owner, id, token, now, false); uerr != nil && err == nil {
		err = uerr
	}
	if err != nil {
		return 0, fmt.Errorf("prune signing secrets of %s: %w", id, err)
	}
	return pruned, nil
}

// NotFound is the error for a webhook id the caller does not have. It is
// the same whether the webhook does not exist or belongs to another account
// or mode, so that existence does not leak.
func NotFound(id string) error {
	return &apperr.Error{Kind: apperr.NotFound, Code: "resource_missing", Param: "id",
		Message: fmt.Sprintf("no such webhook: %q", id)}
}
