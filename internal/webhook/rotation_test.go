package webhook

import (
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/apperr"
)

func TestSecretSetRotate(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	old := func(v string, expires time.Time) OldSecret {
		return OldSecret{Value: SigningSecretOf(v), SHA256: HashSecret(v), ExpiresAt: expires}
	}
	base := NewSecretSet(SigningSecretOf("s0"))
	cases := []struct {
		name     string
		set      SecretSet
		grace    time.Duration
		previous []string // values kept, oldest first; nil with code set means an error
		code     string
	}{
		{"grace keeps the replaced secret", base, time.Hour, []string{"s0"}, ""},
		{"grace 0 drops it", base, 0, nil, ""},
		{"expired ones are pruned", SecretSet{Current: SigningSecretOf("s2"), Previous: []OldSecret{old("s0", now), old("s1", now.Add(time.Second))}}, time.Hour, []string{"s1", "s2"}, ""},
		{"five kept is the cap", SecretSet{Current: SigningSecretOf("s4"), Previous: []OldSecret{old("a", now.Add(time.Hour)), old("b", now.Add(time.Hour)), old("c", now.Add(time.Hour)), old("d", now.Add(time.Hour))}}, time.Hour, []string{"a", "b", "c", "d", "s4"}, ""},
		{"a sixth is refused", SecretSet{Current: SigningSecretOf("s5"), Previous: []OldSecret{old("a", now.Add(time.Hour)), old("b", now.Add(time.Hour)), old("c", now.Add(time.Hour)), old("d", now.Add(time.Hour)), old("e", now.Add(time.Hour))}}, time.Hour, nil, apperr.CodeRotationLimitReached},
		{"grace 0 at the cap is fine", SecretSet{Current: SigningSecretOf("s5"), Previous: []OldSecret{old("a", now.Add(time.Hour)), old("b", now.Add(time.Hour)), old("c", now.Add(time.Hour)), old("d", now.Add(time.Hour)), old("e", now.Add(time.Hour))}}, 0, []string{"a", "b", "c", "d", "e"}, ""},
	}
	for _, c := range cases {
		got, err := c.set.Rotate(SigningSecretOf("next"), c.grace, now)
		if c.code != "" {
			if e := apperr.As(err); e == nil || e.Code != c.code {
				t.Errorf("%s: err = %v, want %s", c.name, err, c.code)
			}
			continue
		}
		if err != nil || got.Current.Reveal() != "next" || got.CurrentSHA256 != HashSecret("next") {
			t.Errorf("%s: %+v, %v", c.name, got, err)
			continue
		}
		var values []string
		for _, o := range got.Previous {
			values = append(values, o.Value.Reveal())
		}
		if len(values) != len(c.previous) {
			t.Errorf("%s: previous = %v, want %v", c.name, values, c.previous)
			continue
		}
		for i := range values {
			if values[i] != c.previous[i] {
				t.Errorf("%s: previous = %v, want %v", c.name, values, c.previous)
			}
		}
		if c.grace > 0 && !got.Previous[len(got.Previous)-1].ExpiresAt.Equal(now.Add(c.grace)) {
			t.Errorf("%s: the replaced secret expires at %v, want now + grace", c.name, got.Previous[len(got.Previous)-1].ExpiresAt)
		}
	}
}
