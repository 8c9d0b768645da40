// Package janitor settles the signing secrets that requests leave behind:
// it deletes orphan secrets, which no webhook holds, and prunes the earlier
// secrets a rotation kept once their grace period is over. A create notes
// a secret check before it stores its secret (its transaction removes the
// check), a delete notes one with the webhook's removal (and clears it
// once the secret is deleted), and a rotation notes a prune check for when
// the replaced secret expires. A check that is still there after the
// janitor's minimum age is what a failed create, a failed clean-up or a
// pending prune left behind.
//
// Checks are kept by the hour they became due, and a checkpoint records
// the first hour not yet finished. So each scheduled run reads only the
// hours since the last one and does work only for the checks in them: its
// cost follows the failures, deletes and rotations of those hours, not the
// number of webhooks. A run stops before its deadline and the next one
// continues from the checkpoint.
package janitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// DefaultMinAge is how old a check must be before the janitor acts on it
// (ORPHAN_MIN_AGE when unset).
// It is far longer than any request can run (the function timeout), so no
// create that is still running is judged.
const DefaultMinAge = time.Hour

// Lookback is how far back a run looks when there is no checkpoint, or
// when the checkpoint is older. The store keeps each check a day longer
// than this, so a run that looks back this far still finds it.
const Lookback = 30 * 24 * time.Hour

// StopMargin is kept free before the run's deadline: a run starts no new
// check once less than this remains, saves its checkpoint and reports.
const StopMargin = 30 * time.Second

// Checks is the list of secret checks and the janitor's checkpoint.
type Checks interface {
	// DueChecks returns the checks whose time falls in the hour that
	// starts at hour.
	DueChecks(ctx context.Context, hour time.Time) ([]webhook.SecretCheck, error)
	// ClearCheck removes a check; a missing one is not an error.
	ClearCheck(ctx context.Context, c webhook.SecretCheck) error
	// Checkpoint returns the first hour not finished; zero if none is saved.
	Checkpoint(ctx context.Context) (time.Time, error)
	// SaveCheckpoint records the first hour not finished.
	SaveCheckpoint(ctx context.Context, next time.Time) error
}

// Secrets deletes the service's signing secrets.
type Secrets interface {
	// Ref returns the reference (name) of owner's webhook id's secret.
	Ref(owner tenant.Tenant, id string) string
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
	// From is the first hour the run covered.
	From time.Time `json:"from"`
	// Next is the checkpoint the run saved: the first hour not finished.
	Next time.Time `json:"next"`
	// Hours is how many hours the run covered.
	Hours int `json:"hours"`
	// Checks is how many checks it acted on.
	Checks int `json:"checks"`
	// Young is how many checks it found that are not yet minAge old.
	Young int `json:"young"`
	// Kept is how many orphan checks found their webhook (its secret stays).
	Kept int `json:"kept"`
	// Deleted names the orphan secrets it deleted.
	Deleted []string `json:"deleted"`
	// Pruned is how many expired earlier secrets it dropped.
	Pruned int `json:"pruned"`
	// Failed names the secrets whose check failed (or the hour whose checks
	// could not be read); they stay for the next run.
	Failed []string `json:"failed"`
	// Complete is false when the run stopped at its deadline margin; the
	// next run continues from Next.
	Complete bool `json:"complete"`
}

// Janitor works through the secret checks: it deletes the orphan secrets
// and prunes the expired earlier ones.
type Janitor struct {
	checks   Checks
	secrets  Secrets
	webhooks Webhooks
	pruner   Pruner
	minAge   time.Duration
	log      *slog.Logger
	now      func() time.Time
}

// New returns a Janitor that acts on checks once they are minAge old.
func New(checks Checks, secrets Secrets, webhooks Webhooks, pruner Pruner, minAge time.Duration, log *slog.Logger) *Janitor {
	return &Janitor{checks: checks, secrets: secrets, webhooks: webhooks, pruner: pruner, minAge: minAge, log: log, now: time.Now}
}

// Run makes one pass over the hours from the checkpoint to the one that
// holds the cutoff (now less minAge), acting on the checks at or before
// the cutoff, and saves the new checkpoint: past every hour it finished,
// but not past an hour with a failed check, which the next run tries
// again, nor past one that is not over by the cutoff. A run is idempotent:
// each action is, and a check is cleared only after its action succeeded.
// It returns an error, after the pass, if any check failed, so that the
// failure shows in the function's error metric.
func (j *Janitor) Run(ctx context.Context) (Report, error) {
	now := j.now().UTC()
	next, err := j.checks.Checkpoint(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("janitor: read checkpoint: %w", err)
	}
	if oldest := now.Add(-Lookback).Truncate(time.Hour); next.Before(oldest) {
		next = oldest
	}
	r := Report{From: next, Deleted: []string{}, Failed: []string{}, Complete: true}
	cutoff := now.Add(-j.minAge) // checks at or before it are old enough
	held := false                // an hour with a failed check, or not over by the cutoff, holds the checkpoint
	for hour := next; !hour.After(cutoff); hour = hour.Add(time.Hour) {
		before := len(r.Failed)
		finished, err := j.hour(ctx, hour, cutoff, &r)
		if err != nil {
			r.Failed = append(r.Failed, "checks of "+hour.Format(time.RFC3339))
			j.log.ErrorContext(ctx, "janitor could not read an hour's checks", "hour", hour, "error", err.Error())
		}
		if !finished {
			r.Complete = false
			break
		}
		r.Hours++
		held = held || len(r.Failed) > before || hour.Add(time.Hour).After(cutoff)
		if !held {
			next = hour.Add(time.Hour)
		}
	}
	r.Next = next
	var saveErr error
	if err := j.checks.SaveCheckpoint(context.WithoutCancel(ctx), next); err != nil {
		saveErr = fmt.Errorf("janitor: save checkpoint: %w", err)
	}
	j.log.InfoContext(ctx, "janitor run", "from", r.From, "next", r.Next, "hours", r.Hours, "checks", r.Checks,
		"young", r.Young, "kept", r.Kept, "deleted", len(r.Deleted), "pruned", r.Pruned, "failed", len(r.Failed), "complete", r.Complete)
	if len(r.Failed) > 0 {
		return r, errors.Join(fmt.Errorf("janitor: %d checks failed", len(r.Failed)), saveErr)
	}
	return r, saveErr
}

// hour acts on the checks of one hour that are at or before cutoff.
// finished is false if the run's deadline came first.
func (j *Janitor) hour(ctx context.Context, hour, cutoff time.Time, r *Report) (finished bool, err error) {
	if nearDeadline(ctx) {
		return false, nil
	}
	checks, err := j.checks.DueChecks(ctx, hour)
	if err != nil {
		return true, err
	}
	for _, c := range checks {
		if nearDeadline(ctx) {
			return false, nil
		}
		if c.At.After(cutoff) {
			r.Young++
			continue
		}
		r.Checks++
		ref := j.secrets.Ref(c.Owner, c.WebhookID)
		if err := j.settle(ctx, c, ref, r); err != nil {
			j.log.ErrorContext(ctx, "janitor could not settle a secret check", "kind", c.Kind,
				"webhook_id", c.WebhookID, "secret_name", ref, "error", err.Error())
			r.Failed = append(r.Failed, ref)
			continue
		}
		if err := j.checks.ClearCheck(ctx, c); err != nil {
			j.log.ErrorContext(ctx, "janitor could not clear a settled check", "webhook_id", c.WebhookID, "error", err.Error())
			r.Failed = append(r.Failed, ref)
		}
	}
	return true, nil
}

// settle does what check c asks for the secret at ref.
func (j *Janitor) settle(ctx context.Context, c webhook.SecretCheck, ref string, r *Report) error {
	switch c.Kind {
	case webhook.CheckOrphan:
		exists, err := j.webhooks.Exists(ctx, c.Owner, c.WebhookID)
		if err != nil {
			return err
		}
		if exists {
			r.Kept++
			return nil
		}
		if err := j.secrets.Delete(ctx, ref); err != nil {
			return err
		}
		j.log.InfoContext(ctx, "janitor deleted an orphan signing secret", "secret_name", ref,
			"webhook_id", c.WebhookID, "noted_at", c.At)
		r.Deleted = append(r.Deleted, ref)
		return nil
	case webhook.CheckPrune:
		n, err := j.pruner.PruneSecrets(ctx, c.Owner, c.WebhookID, ref)
		r.Pruned += n
		return err
	}
	return fmt.Errorf("unknown secret check kind %q", c.Kind)
}

// nearDeadline reports whether less than StopMargin is left before ctx's
// deadline.
func nearDeadline(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ctx.Err() != nil || ok && time.Until(d) < StopMargin
}
