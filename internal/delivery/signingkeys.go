package delivery

import (
	"context"
	"fmt"

	"github.com/docproc/webhooks/internal/webhook"
)

// cachedKeys are a webhook's signing keys as of one version of it. A
// rotation bumps the webhook's version, so the next delivery reads the
// new secret at once.
type cachedKeys struct {
	version int
	keys    Keys
}

// signingKeys returns w's signing keys, from the cache when w has not
// changed since they were read. While a rotation holds w (or one left it
// unfinished, its version unmoved) the keys are read every time.
func (d *Deliverer) signingKeys(ctx context.Context, w webhook.Webhook) (Keys, error) {
	d.mu.Lock()
	c, ok := d.keys[w.SecretRef]
	d.mu.Unlock()
	if ok && c.version == w.Version && !w.Rotating {
		return c.keys, nil
	}
	set, err := d.Secrets.Get(ctx, w.SecretRef)
	if err != nil {
		return nil, fmt.Errorf("read signing secret of %s: %w", w.ID, err)
	}
	keys, err := KeysOf(set)
	if err != nil {
		return nil, fmt.Errorf("signing secret of %s: %w", w.ID, err)
	}
	if w.Rotating {
		return keys, nil
	}
	d.mu.Lock()
	if d.keys == nil || len(d.keys) >= maxCached {
		d.keys = make(map[string]cachedKeys)
	}
	d.keys[w.SecretRef] = cachedKeys{version: w.Version, keys: keys}
	d.mu.Unlock()
	return keys, nil
}
