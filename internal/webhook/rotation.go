package webhook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docproc/webhooks/internal/tenant"
)

// Rotation limits.
const (
	// MaxOldSecrets is how many earlier secrets may still be in their grace
	// period at once.
	MaxOldSecrets = 5
	// DefaultGracePeriod is how long the previous secret stays valid after
	// a rotation when the request does not say.
	DefaultGracePeriod = 24 * time.Hour
)

// RotateSecret gives owner's webhook id a new signing secret. The previous
// one stays valid for grace. Rotations of one webhook are serialized by a
// lock on its item, so two at once cannot lose each other's secrets. With
// an idempotencyKey it behaves as Create does: a retry with the same key
// gets the first response, secret included, or an error saying why not.
//
// A rotation commits when its new secret is stored. From then on it is
// answered as a success with that secret, whatever fails after (releasing
// the lock, recording the key); before, it changes nothing.
func (s *Service) RotateSecret(ctx context.Context, owner tenant.Tenant, id string, grace time.Duration, idempotencyKey string) (WithSecret, error) {
	if !ValidID(id) {
		return WithSecret{}, NotFound(id)
	}
	now := s.opts.Now().UTC()
	cleanup := newBudget(ctx)
	defer cleanup.stop()
	if idempotencyKey == "" {
		return s.rotate(ctx, cleanup, owner, id, grace, now)
	}
	claim, replay, err := s.claimKey(ctx, owner, idempotencyKey, rotateFingerprint(id, grace), now)
	if err != nil {
		return WithSecret{}, err
	}
	if replay != nil {
		return *replay, nil
	}
	r, err := s.rotate(ctx, cleanup, owner, id, grace, now)
	if err != nil {
		s.release(cleanup, claim)
		return WithSecret{}, err
	}
	rec := IdempotencyRecord{Fingerprint: claim.Fingerprint, Completed: true, Webhook: r.Webhook, SecretSHA256: r.SigningSecret.SHA256()}
	if err := s.keys.CompleteKey(cleanup.context(), claim, rec); err != nil {
		s.log.WarnContext(ctx, "rotation committed but its Idempotency-Key was not recorded; once its lock expires a retry with it rotates again",
			"webhook_id", id, "error", err.Error())
	}
	return r, nil
}

// rotate takes the rotation lock, stores the rotated secrets and releases
// the lock. Once the new secret is stored it answers success.
func (s *Service) rotate(ctx context.Context, cleanup *budget, owner tenant.Tenant, id string, grace time.Duration, now time.Time) (WithSecret, error) {
	token := newToken()
	w, err := s.store.LockRotation(ctx, owner, id, token, now, now.Add(rotationLockTTL))
	if err != nil {
		return WithSecret{}, rotationError(id, err)
	}
	next, err := NewSigningSecret()
	if err == nil {
		err = s.storeRotated(ctx, cleanup, w.SecretRef, next, grace, now)
	}
	// The lock is released either way; the version moves on so that a
	// concurrent update reads the webhook again.
	unlocked, uerr := s.store.UnlockRotation(cleanup.context(), owner, id, token, now, err == nil)
	if err != nil {
		if uerr != nil {
			s.log.WarnContext(ctx, "rotation lock not released; it expires on its own", "webhook_id", id, "error", uerr.Error())
		}
		return WithSecret{}, rotationError(id, err)
	}
	if uerr != nil {
		s.log.WarnContext(ctx, "rotation committed; its lock was not released and expires on its own",
			"webhook_id", id, "error", uerr.Error())
		unlocked = w
		unlocked.UpdatedAt, unlocked.Version = now.Truncate(time.Second), w.Version+1
	}
	if grace > 0 {
		prune := SecretCheck{Kind: CheckPrune, Owner: owner, WebhookID: id, At: now.Add(grace)}
		if err := s.store.NoteCheck(cleanup.context(), prune); err != nil {
			s.log.WarnContext(ctx, "prune check not noted; the next rotation prunes the replaced secret instead",
				"webhook_id", id, "error", err.Error())
		}
	}
	return WithSecret{Webhook: unlocked, SigningSecret: next}, nil
}

// storeRotated stores next as the current secret at ref. It returns nil
// only if next is stored: when the write's outcome is unknown, it reads the
// secret back to find out.
func (s *Service) storeRotated(ctx context.Context, cleanup *budget, ref string, next SigningSecret, grace time.Duration, now time.Time) error {
	set, err := s.secrets.Get(ctx, ref)
	if err != nil {
		return fmt.Errorf("read signing secrets: %w", err)
	}
	rotated, err := set.Rotate(next, grace, now)
	if err != nil {
		return err
	}
	err = s.secrets.Put(ctx, ref, rotated)
	if err == nil || !outcomeUnknown(err) {
		return err
	}
	if back, gerr := s.secrets.Get(cleanup.context(), ref); gerr == nil && back.Current.Equal(next) {
		s.log.WarnContext(ctx, "rotation committed although its write reported an error", "error", err.Error())
		return nil
	}
	return fmt.Errorf("store rotated signing secrets: %w", err)
}

// rotationError says what a failed rotation step means for the caller.
func rotationError(id string, err error) error {
	switch {
	case errors.Is(err, ErrNotFound):
		return NotFound(id)
	case errors.Is(err, ErrLocked):
		return rotationInProgress(err)
	}
	return fmt.Errorf("rotate secret of %s: %w", id, err)
}

// PruneSecrets drops the expired earlier secrets of owner's webhook id,
// whose secret is at ref, and returns how many it dropped. It reads without
// a lock and takes the rotation lock only when there is something to drop,
// so that it cannot undo a rotation running at the same time. A webhook
// being rotated is skipped (the rotation prunes too), and so is one that no
// longer exists.
func (s *Service) PruneSecrets(ctx context.Context, owner tenant.Tenant, id, ref string) (int, error) {
	now := s.opts.Now().UTC()
	set, err := s.secrets.Get(ctx, ref)
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	if err != nil || len(set.Unexpired(now)) == len(set.Previous) {
		return 0, err
	}
	token := newToken()
	if _, err := s.store.LockRotation(ctx, owner, id, token, now, now.Add(rotationLockTTL)); err != nil {
		if errors.Is(err, ErrLocked) || errors.Is(err, ErrNotFound) {
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
	cleanup := newBudget(ctx)
	defer cleanup.stop()
	if _, uerr := s.store.UnlockRotation(cleanup.context(), owner, id, token, now, false); uerr != nil {
		s.log.WarnContext(ctx, "prune lock not released; it expires on its own", "webhook_id", id, "error", uerr.Error())
	}
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("prune signing secrets of %s: %w", id, err)
	}
	return pruned, nil
}

// rotationLockTTL bounds how long a crashed rotation blocks the next one.
// It exceeds the longest a rotation can run (the function timeout), so a
// live rotation never loses its lock.
const rotationLockTTL = 15 * time.Second
