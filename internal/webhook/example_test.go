package webhook_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
	"github.com/docproc/webhooks/internal/webhook/webhooktest"
)

// A URL that points back into the platform's own network is refused,
// whatever notation it uses; an accepted one is stored in the form a
// client dials.
func ExampleValidateURL() {
	for _, u := range []string{
		"https://Hooks.Example.com/docs",
		"https://ｈｏｏｋｓ.example.com/docs",
		"https://0x7f.1/admin",
		"https://１６９.２５４.１６９.２５４/latest/meta-data",
		"https://[::ffff:169.254.169.254]/latest/meta-data",
		"https://billing.internal/hooks",
		"http://hooks.example.com/docs",
	} {
		if stored, p := webhook.ValidateURL(u); p != nil {
			fmt.Printf("%s\n  %s\n", u, p.Code)
		} else {
			fmt.Printf("%s\n  ok: %s\n", u, stored)
		}
	}
	// Output:
	// https://Hooks.Example.com/docs
	//   ok: https://hooks.example.com/docs
	// https://ｈｏｏｋｓ.example.com/docs
	//   ok: https://hooks.example.com/docs
	// https://0x7f.1/admin
	//   url_forbidden_host
	// https://１６９.２５４.１６９.２５４/latest/meta-data
	//   url_forbidden_host
	// https://[::ffff:169.254.169.254]/latest/meta-data
	//   url_forbidden_host
	// https://billing.internal/hooks
	//   url_forbidden_host
	// http://hooks.example.com/docs
	//   url_invalid
}

// exampleService returns a Service over in-memory fakes whose clock stands
// at noon on 1 December 2026, and the fake secret store.
func exampleService(faults *webhooktest.Faults) (*webhook.Service, *webhooktest.SecretStore) {
	store, secrets := webhooktest.NewStore(faults), webhooktest.NewSecretStore(faults)
	noon := func() time.Time { return time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC) }
	return webhook.NewService(store, store, secrets, slog.New(slog.DiscardHandler), webhook.Options{Now: noon}), secrets
}

// exampleParams returns the settings of a create request that gives only
// a url, with the defaults for the rest, as the api package decodes it.
func exampleParams() webhook.Settings {
	url := "https://hooks.example.com/docs"
	return webhook.NewSettings(webhook.UpdateParams{URL: &url})
}

// A create with an Idempotency-Key can be retried safely: the retry gets
// the first response again, signing secret included, and creates nothing.
func ExampleService_Create() {
	ctx := context.Background()
	svc, _ := exampleService(nil)
	customer := tenant.Tenant{Account: "acct_123", Mode: tenant.Test}
	params := exampleParams()

	first, err := svc.Create(ctx, customer, params, "order-4711")
	if err != nil {
		panic(err)
	}
	retry, err := svc.Create(ctx, customer, params, "order-4711")
	if err != nil {
		panic(err)
	}
	fmt.Println("events:", first.Webhook.Events)
	fmt.Println("first replayed:", first.Replayed)
	fmt.Println("retry replayed:", retry.Replayed)
	fmt.Println("same webhook:", retry.Webhook.ID == first.Webhook.ID)
	fmt.Println("same secret:", retry.SigningSecret.Equal(first.SigningSecret))

	page, _ := svc.List(ctx, customer, 10, "")
	fmt.Println("webhooks:", len(page.Webhooks))
	// Output:
	// events: [document.processing.completed document.processing.failed]
	// first replayed: false
	// retry replayed: true
	// same webhook: true
	// same secret: true
	// webhooks: 1
}

// A rotation makes a new signing secret current. The replaced one stays
// valid for the grace period, so that receivers can switch over; then it
// expires and is pruned.
func ExampleService_RotateSecret() {
	ctx := context.Background()
	svc, secrets := exampleService(nil)
	customer := tenant.Tenant{Account: "acct_123", Mode: tenant.Test}
	created, err := svc.Create(ctx, customer, exampleParams(), "")
	if err != nil {
		panic(err)
	}

	rotated, err := svc.RotateSecret(ctx, customer, created.Webhook.ID, webhook.DefaultGracePeriod, "")
	if err != nil {
		panic(err)
	}
	set, err := secrets.Get(ctx, rotated.Webhook.SecretRef)
	if err != nil {
		panic(err)
	}
	fmt.Println("version:", created.Webhook.Version, "->", rotated.Webhook.Version)
	fmt.Println("new secret current:", set.Current.Equal(rotated.SigningSecret))
	for _, old := range set.Previous {
		fmt.Println("old secret kept:", old.Value.Equal(created.SigningSecret), "until", old.ExpiresAt.Format(time.RFC3339))
	}
	oldHash := created.SigningSecret.SHA256()
	for _, at := range []time.Time{set.Previous[0].ExpiresAt.Add(-time.Second), set.Previous[0].ExpiresAt} {
		_, valid := set.Find(oldHash, at)
		fmt.Println("old secret valid at", at.Format(time.RFC3339)+":", valid)
	}
	// Output:
	// version: 1 -> 2
	// new secret current: true
	// old secret kept: true until 2026-12-02T12:00:00Z
	// old secret valid at 2026-12-02T11:59:59Z: true
	// old secret valid at 2026-12-02T12:00:00Z: false
}

// A write can commit and still report an error, when its response is
// lost. Create then reads the webhook back and, finding it, answers
// success rather than deleting a secret that a stored webhook holds.
func ExampleService_Create_lostResponse() {
	ctx := context.Background()
	faults := &webhooktest.Faults{}
	svc, _ := exampleService(faults)
	customer := tenant.Tenant{Account: "acct_123", Mode: tenant.Test}
	faults.FailAfter("Store.Create", 1, fmt.Errorf("dynamodb: %w: connection reset", apperr.ErrUnavailable))

	created, err := svc.Create(ctx, customer, exampleParams(), "")
	fmt.Println("error:", err)
	fmt.Println("version:", created.Webhook.Version)
	for _, call := range faults.Calls() {
		fmt.Println(call)
	}
	// Output:
	// error: <nil>
	// version: 1
	// Store.NoteCheck
	// SecretStore.Create
	// Store.Create
	// Store.Exists
}
