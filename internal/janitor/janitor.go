// Package janitor removes signing secrets that no webhook holds. A create
// stores its secret before its webhook and deletes the secret again if the
// webhook cannot be written; when that clean-up fails too, or the outcome of
// the write is unknown, the secret is left behind and logged. The janitor
// runs on a schedule and deletes such secrets once they are old enough that
// no create can still be running for them.
package janitor

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// DefaultMinAge is how old a secret must be before the janitor may delete
// it. It is far longer than any create can run (the function timeout).
const DefaultMinAge = time.Hour

// Secret is a stored signing secret as the janitor sees it.
type Secret struct {
	// Ref is the secret's ARN.
	Ref string
	// Name is the secret's name, which is safe to log.
	Name string
	// Owner is the account and mode the secret was made for.
	Owner tenant.Tenant
	// WebhookID is the webhook the secret was made for.
	WebhookID string
	// CreatedAt is when the secret was created.
	CreatedAt time.Time
	// ChangedAt is when its value last changed (zero if unknown).
	ChangedAt time.Time
}

// pruneWindow is how long after a secret's last change it may hold earlier
// secrets to prune: the longest grace period plus a day for missed runs.
// Secrets whose value last changed longer ago are not read at all, so a
// run costs one GetSecretValue only per webhook created or rotated in that
// window.
const pruneWindow = webhook.MaxGracePeriod + 24*time.Hour

// mayHoldExpired reports whether s can hold expired earlier secrets.
func (s Secret) mayHoldExpired(now time.Time) bool {
	return !s.ChangedAt.IsZero() && now.Sub(s.ChangedAt) <= pruneWindow
}

// Secrets lists and deletes the service's signing secrets.
type Secrets interface {
	// List calls fn with each page of the secrets under the service's
	// prefix, and stops at the first error fn returns.
	List(ctx context.Context, fn func([]Secret) error) error
	// Delete removes a secret at once; a missing secret is not an error.
	Delete(ctx context.Context, ref string) error
}

// Webhooks tells whether a webhook exists.
type Webhooks interface {
	// Exists reports, with a strongly consistent read, whether owner has id.
	Exists(ctx context.Context, owner tenant.Tenant, id string) (bool, error)
}

// Pruner drops the expired earlier secrets of a webhook after rotations.
type Pruner interface {
	// PruneSecrets drops owner's webhook id's expired earlier secrets,
	// stored at ref, and returns how many it dropped.
	PruneSecrets(ctx context.Context, owner tenant.Tenant, id, ref string) (int, error)
}

// Report is what one run did. Names are secret names, never values.
type Report struct {
	// Scanned is how many secrets were listed.
	Scanned int `json:"scanned"`
	// Young is how many were too new to judge.
	Young int `json:"young"`
	// Kept is how many belong to an existing webhook.
	Kept int `json:"kept"`
	// Pruned is how many expired earlier secrets were dropped from kept ones.
	Pruned int `json:"pruned"`
	// Deleted names the orphans removed.
	Deleted []string `json:"deleted"`
	// Failed names the orphans that could not be checked or removed.
	Failed []string `json:"failed"`
}

// Janitor finds and deletes orphan signing secrets.
type Janitor struct {
	secrets  Secrets
	webhooks Webhooks
	pruner   Pruner
	minAge   time.Duration
	log      *slog.Logger
	now      func() time.Time
}

// New returns a Janitor that deletes orphans older than minAge and has
// pruner drop expired earlier secrets of the webhooks that exist.
func New(secrets Secrets, webhooks Webhooks, pruner Pruner, minAge time.Duration, log *slog.Logger) *Janitor {
	return &Janitor{secrets: secrets, webhooks: webhooks, pruner: pruner, minAge: minAge, log: log, now: time.Now}
}

// Run makes one pass. It lists every page first and only then deletes:
// deleting while paging shifts the pages under the cursor and skips
// secrets. A run is idempotent: it deletes only secrets that no webhook
// holds, and a second run finds none of them. It returns an error, after
// finishing the pass, if any orphan could not be handled, so that the
// failure shows in the function's error metric.
func (j *Janitor) Run(ctx context.Context) (Report, error) {
	r := Report{Deleted: []string{}, Failed: []string{}}
	cutoff := j.now().Add(-j.minAge)
	var old []Secret
	err := j.secrets.List(ctx, func(page []Secret) error {
		for _, s := range page {
			r.Scanned++
			if s.CreatedAt.After(cutoff) {
				r.Young++
				continue
			}
			old = append(old, s)
		}
		return nil
	})
	if err != nil {
		return r, fmt.Errorf("janitor: list secrets: %w", err)
	}
	for _, s := range old {
		if ctx.Err() != nil {
			r.Failed = append(r.Failed, s.Name)
			continue
		}
		exists, err := j.webhooks.Exists(ctx, s.Owner, s.WebhookID)
		if err == nil && exists {
			r.Kept++
			if !s.mayHoldExpired(j.now()) {
				continue
			}
			n, err := j.pruner.PruneSecrets(ctx, s.Owner, s.WebhookID, s.Ref)
			if err != nil {
				j.log.ErrorContext(ctx, "janitor could not prune a secret", "secret_name", s.Name, "error", err.Error())
				r.Failed = append(r.Failed, s.Name)
			}
			r.Pruned += n
			continue
		}
		if err == nil {
			err = j.secrets.Delete(ctx, s.Ref)
		}
		if err != nil {
			j.log.ErrorContext(ctx, "janitor could not handle a secret", "secret_name", s.Name, "error", err.Error())
			r.Failed = append(r.Failed, s.Name)
			continue
		}
		j.log.InfoContext(ctx, "janitor deleted an orphan signing secret", "secret_name", s.Name,
			"webhook_id", s.WebhookID, "secret_created_at", s.CreatedAt)
		r.Deleted = append(r.Deleted, s.Name)
	}
	j.log.InfoContext(ctx, "janitor run", "scanned", r.Scanned, "young", r.Young, "kept", r.Kept,
		"pruned", r.Pruned, "deleted", len(r.Deleted), "failed", len(r.Failed))
	if len(r.Failed) > 0 {
		return r, fmt.Errorf("janitor: %d secrets could not be handled", len(r.Failed))
	}
	return r, nil
}
