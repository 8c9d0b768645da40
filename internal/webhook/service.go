package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/docproc/webhooks/internal/tenant"
)

// Service creates webhooks: it owns the order of writes and the
// compensation that keeps secrets and configs in step.
type Service struct {
	store   Store
	secrets SecretStore
	log     *slog.Logger
	now     func() time.Time
}

// NewService returns a Service over the given ports. log receives
// compensation failures; it must not be nil.
func NewService(store Store, secrets SecretStore, log *slog.Logger) *Service {
	return &Service{store: store, secrets: secrets, log: log, now: time.Now}
}

// Created is the result of a create: the stored webhook and its signing
// secret, which is returned here and never again.
type Created struct {
	// Webhook is the stored configuration.
	Webhook Webhook
	// SigningSecret is the "whsec_..." secret, for the create response only.
	SigningSecret string
}

// Create stores a new webhook for owner: first its signing secret, then its
// config. If the config cannot be written, the secret just made is deleted
// again so that no orphan is left, and the write's error is returned.
func (s *Service) Create(ctx context.Context, owner tenant.Tenant, p CreateParams) (Created, error) {
	now := s.now().UTC()
	id, err := NewID(now)
	if err != nil {
		return Created{}, err
	}
	secret, err := NewSigningSecret()
	if err != nil {
		return Created{}, err
	}
	ref, err := s.secrets.Create(ctx, NewSecret{Owner: owner, WebhookID: id, Value: secret, SHA256: HashSecret(secret)})
	if err != nil {
		return Created{}, fmt.Errorf("create signing secret for %s: %w", id, err)
	}
	w := Webhook{
		ID: id, Owner: owner, URL: p.URL, Events: p.Events,
		IsActive: p.IsActive, RetryEnabled: p.RetryEnabled, MaxRetries: p.MaxRetries,
		SecretRef: ref, CreatedAt: now.Truncate(time.Second),
	}
	if err := s.store.Create(ctx, w); err != nil {
		// The request's context may be what failed; compensation gets its own
		// short deadline so it still runs.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), compensationTimeout)
		defer cancel()
		if derr := s.secrets.Delete(cctx, ref); derr != nil {
			s.log.ErrorContext(ctx, "compensation failed: orphan signing secret left behind",
				"webhook_id", id, "secret_arn", ref, "error", derr.Error())
			return Created{}, errors.Join(fmt.Errorf("store webhook %s: %w", id, err),
				fmt.Errorf("delete secret %s: %w", ref, derr))
		}
		return Created{}, fmt.Errorf("store webhook %s (secret deleted): %w", id, err)
	}
	return Created{Webhook: w, SigningSecret: secret}, nil
}

// compensationTimeout bounds the delete of a secret after a failed write.
const compensationTimeout = 3 * time.Second
