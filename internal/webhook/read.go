package webhook

import (
	"context"
	"errors"

	"github.com/docproc/webhooks/internal/tenant"
)

// Get returns owner's webhook id. Another owner's webhook is NotFound.
func (s *Service) Get(ctx context.Context, owner tenant.Tenant, id string) (Webhook, error) {
	if !ValidID(id) {
		return Webhook{}, NotFound(id)
	}
	w, err := s.store.Get(ctx, owner, id)
	if errors.Is(err, ErrNotFound) {
		return Webhook{}, NotFound(id)
	}
	return w, err
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
			return Page{}, startingAfterInvalid()
		}
	}
	return s.store.List(ctx, owner, limit, startingAfter)
}
