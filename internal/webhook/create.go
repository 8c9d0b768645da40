package webhook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docproc/webhooks/internal/tenant"
)

// Create stores a new webhook for owner: first a SecretCheck for the
// janitor, then its signing secret, then in one transaction its config,
// the owner's count, the removal of the check and the completion of the
// idempotency claim. When idempotencyKey is not empty and was used before,
// the first request's result is returned instead (or an error if it had
// other parameters, is still running, or returned a secret that is no
// longer held).
func (s *Service) Create(ctx context.Context, owner tenant.Tenant, p Settings, idempotencyKey string) (WithSecret, error) {
	now := s.opts.Now().UTC()
	cleanup := newBudget(ctx)
	defer cleanup.stop()
	if idempotencyKey == "" {
		return s.create(ctx, cleanup, owner, p, now, nil)
	}
	claim, replay, err := s.claimKey(ctx, owner, idempotencyKey, p.Fingerprint(), now)
	if err != nil {
		return WithSecret{}, err
	}
	if replay != nil {
		return *replay, nil
	}
	created, err := s.create(ctx, cleanup, owner, p, now, &claim)
	if err != nil {
		s.release(cleanup, claim)
	}
	return created, err
}

// create notes a SecretCheck, makes the secret and commits the
// transaction. When the transaction reports an error it finds out with a
// read whether it committed anyway, and compensates only if it did not.
func (s *Service) create(ctx context.Context, cleanup *budget, owner tenant.Tenant, p Settings, now time.Time, claim *Claim) (WithSecret, error) {
	id, err := NewID(now)
	if err != nil {
		return WithSecret{}, err
	}
	secret, err := NewSigningSecret()
	if err != nil {
		return WithSecret{}, err
	}
	// The check is noted before the secret exists, so that no crash, lost
	// response or failed clean-up can leave a secret the janitor does not
	// know of.
	check := SecretCheck{Kind: CheckOrphan, Owner: owner, WebhookID: id, At: now}
	if err := s.store.NoteCheck(ctx, check); err != nil {
		return WithSecret{}, fmt.Errorf("note secret check for %s: %w", id, err)
	}
	ref, err := s.secrets.Create(ctx, NewSecret{Owner: owner, WebhookID: id, Value: secret, SHA256: secret.SHA256()})
	if err != nil {
		// A lost response may hide a created secret: the check stays for the janitor.
		return WithSecret{}, fmt.Errorf("create signing secret for %s: %w", id, err)
	}
	ts := now.Truncate(time.Second)
	w := Webhook{ID: id, Owner: owner, Settings: p, SecretRef: ref, CreatedAt: ts, UpdatedAt: ts, Version: 1}
	err = s.store.Create(ctx, w, s.opts.Limit, claim, secret.SHA256())
	if err == nil {
		return WithSecret{Webhook: w, SigningSecret: secret}, nil
	}
	err = s.createError(id, err)
	// A timeout or a lost response can hide a commit, and a retry by the SDK
	// can fail on the very item its first try wrote. So whatever the error,
	// the secret is deleted only after a strongly consistent read shows that
	// no webhook holds it. The request's context may be what failed, so the
	// clean-up has its own budget.
	cctx := cleanup.context()
	exists, xerr := s.store.Exists(cctx, owner, id)
	switch {
	case xerr != nil:
		s.log.ErrorContext(ctx, "create outcome unknown: signing secret left for the janitor",
			"webhook_id", id, "secret_arn", ref, "error", xerr.Error())
		return WithSecret{}, errors.Join(err, fmt.Errorf("re-read webhook %s: %w", id, xerr))
	case exists:
		s.log.WarnContext(ctx, "create committed although its write reported an error",
			"webhook_id", id, "error", err.Error())
		return WithSecret{Webhook: w, SigningSecret: secret}, nil
	}
	if derr := s.secrets.Delete(cctx, ref); derr != nil {
		s.log.ErrorContext(ctx, "compensation failed: orphan signing secret left for the janitor",
			"webhook_id", id, "secret_arn", ref, "error", derr.Error())
		return WithSecret{}, errors.Join(err, fmt.Errorf("delete secret %s: %w", ref, derr))
	}
	if cerr := s.store.ClearCheck(cctx, check); cerr != nil {
		s.log.WarnContext(ctx, "secret check not cleared; the janitor clears it", "webhook_id", id, "error", cerr.Error())
	}
	return WithSecret{}, err
}

// createError says what a failed create transaction means for the caller.
func (s *Service) createError(id string, err error) error {
	switch {
	case errors.Is(err, ErrLimit):
		return limitReached(s.opts.Limit)
	case errors.Is(err, ErrClaimLost):
		return keyInUse(err)
	}
	return fmt.Errorf("store webhook %s: %w", id, err)
}
