package webhook

import (
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/apperr"
)

func TestSecretSetRotate(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	old := func(v string, expires time.Time) OldSecret {
		return OldSecret{Value: v, SHA256: HashSecret(v), ExpiresAt: expires}
	}
	base := NewSecretSet("s0")
	cases := []struct {
		name     string
		set      SecretSet
		grace    time.Duration
		previous []string // values kept, oldest first; nil with code set means an error
		code     string
	}{
		{"grace keeps the replaced secret", base, time.Hour, []string{"s0"}, ""},
		{"grace 0 drops it", base, 0, nil, ""},
		{"expired ones are pruned", SecretSet{Current: "s2", Previous: []OldSecret{old("s0", now), old("s1", now.Add(time.Second))}}, time.Hour, []string{"s1", "s2"}, ""},
		{"five kept is the cap", SecretSet{Current: "s4", Previous: []OldSecret{old("a", now.Add(time.Hour)), old("b", now.Add(time.Hour)), old("c", now.Add(time.Hour)), old("d", now.Add(time.Hour))}}, time.Hour, []string{"a", "b", "c", "d", "s4"}, ""},
		{"a sixth is refused", SecretSet{Current: "s5", Previous: []OldSecret{old("a", now.Add(time.Hour)), old("b", now.Add(time.Hour)), old("c", now.Add(time.Hour)), old("d", now.Add(time.Hour)), old("e", now.Add(time.Hour))}}, time.Hour, nil, CodeRotationLimitReached},
		{"grace 0 at the cap is fine", SecretSet{Current: "s5", Previous: []OldSecret{old("a", now.Add(time.Hour)), old("b", now.Add(time.Hour)), old("c", now.Add(time.Hour)), old("d", now.Add(time.Hour)), old("e", now.Add(time.Hour))}}, 0, []string{"a", "b", "c", "d", "e"}, ""},
	}
	for _, c := range cases {
		got, err := c.set.Rotate("next", c.grace, now)
		if c.code != "" {
			if e := apperr.As(err); e == nil || e.Code != c.code {
				t.Errorf("%s: err = %v, want %s", c.name, err, c.code)
			}
			continue
		}
		if err != nil || got.Current != "next" || got.CurrentSHA256 != HashSecret("next") {
			t.Errorf("%s: %+v, %v", c.name, got, err)
			continue
		}
		var values []string
		for _, o := range got.Previous {
			values = append(values, o.Value)
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

func TestParseRotateParams(t *testing.T) {
	for body, want := range map[string]time.Duration{
		`{}`: DefaultGracePeriod, `{"grace_period_seconds":0}`: 0, `{"grace_period_seconds":604800}`: MaxGracePeriod,
		`{"grace_period_seconds":-1}`: -1, `{"grace_period_seconds":604801}`: -1, `{"grace_period_seconds":1.5}`: -1,
		`{"grace_period_seconds":"60"}`: -1, `{"grace_period_seconds":1e3}`: -1, `{"other":1}`: -1,
	} {
		got, err := ParseRotateParams(members(t, body))
		if want < 0 && err == nil {
			t.Errorf("%s accepted as %v", body, got)
		}
		if want >= 0 && (err != nil || got != want) {
			t.Errorf("%s = %v, %v; want %v", body, got, err, want)
		}
	}
	if got, err := ParseRotateParams(nil); err != nil || got != DefaultGracePeriod {
		t.Errorf("no body = %v, %v; want the default", got, err)
	}
}

func TestParseUpdateParams(t *testing.T) {
	u, err := ParseUpdateParams(members(t, `{"is_active":false,"max_retries":0}`))
	if err != nil {
		t.Fatal(err)
	}
	before := Settings{URL: "https://e.com", Events: DefaultEvents, IsActive: true, RetryEnabled: true, MaxRetries: 5}
	after := u.Apply(before)
	if after.IsActive || after.MaxRetries != 0 || after.URL != before.URL || !after.RetryEnabled || len(after.Events) != 2 {
		t.Errorf("Apply = %+v; only is_active and max_retries may change", after)
	}
	if _, err := ParseUpdateParams(members(t, `{"url":"http://e.com","colour":1,"events":[]}`)); err == nil ||
		len(apperr.As(err).Details) != 3 {
		t.Errorf("update with three problems: %v", err)
	}
}
