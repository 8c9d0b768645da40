package config

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/egress"
	"github.com/docproc/webhooks/internal/metrics"
)

// Record retention, in days: events and attempt records expire after it.
const (
	// DefaultRetentionDays is RECORD_RETENTION_DAYS when unset:
	// delivery.DefaultRetention, in days.
	DefaultRetentionDays = int(delivery.DefaultRetention / (24 * time.Hour))
	// MaxRetentionDays is the largest RECORD_RETENTION_DAYS accepted.
	MaxRetentionDays = 365
)

// load reads one function's settings through getenv (os.Getenv in main, a
// map in tests): it checks that the variables in required are set, reads
// the settings with read, and fails naming every problem at once.
func load[C any](getenv func(string) string, required []string, read func(*reader) C) (C, error) {
	r := &reader{getenv: getenv}
	r.require(required)
	c := read(r)
	if err := r.err(); err != nil {
		var zero C
		return zero, err
	}
	return c, nil
}

// reader collects the problems of one environment.
type reader struct {
	getenv   func(string) string
	problems []string
}

// require reads variables that must be set, reporting each missing one.
func (r *reader) require(names []string) {
	for _, name := range names {
		if strings.TrimSpace(r.getenv(name)) == "" {
			r.problems = append(r.problems, name+" is not set")
		}
	}
}

// prefix reads SECRET_PREFIX without a trailing slash.
func (r *reader) prefix() string {
	p := strings.TrimSuffix(r.getenv(EnvSecretPrefix), "/")
	if p != "" && strings.ContainsAny(p, "*? ") {
		r.problems = append(r.problems, EnvSecretPrefix+" must be a plain Secrets Manager name prefix")
	}
	return p
}

// level reads the log level. Lambda's advanced logging controls set
// AWS_LAMBDA_LOG_LEVEL; it wins over LOG_LEVEL.
func (r *reader) level() slog.Level {
	var l slog.Level
	v := r.getenv("AWS_LAMBDA_LOG_LEVEL")
	if v == "" {
		v = r.getenv(EnvLogLevel)
	}
	if v != "" {
		if err := l.UnmarshalText([]byte(v)); err != nil {
			r.problems = append(r.problems, fmt.Sprintf("%s %q is not one of DEBUG, INFO, WARN, ERROR", EnvLogLevel, v))
		}
	}
	return l
}

// format reads AWS_LAMBDA_LOG_FORMAT.
func (r *reader) format() string {
	switch v := r.getenv("AWS_LAMBDA_LOG_FORMAT"); {
	case v == "" || strings.EqualFold(v, "JSON"):
		return LogFormatJSON
	case strings.EqualFold(v, "Text"):
		return LogFormatText
	default:
		r.problems = append(r.problems, fmt.Sprintf("AWS_LAMBDA_LOG_FORMAT %q is not JSON or Text", v))
		return LogFormatJSON
	}
}

// duration reads the Go duration in name, def when it is unset. It must
// lie from least to most; a most of 0 means no upper bound.
func (r *reader) duration(name string, def, least, most time.Duration) time.Duration {
	v := r.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	switch {
	case most > 0 && (err != nil || d < least || d > most):
		r.problems = append(r.problems, fmt.Sprintf("%s %q is not a duration from %s to %s", name, v, least, most))
	case err != nil || d < least:
		r.problems = append(r.problems, fmt.Sprintf("%s %q is not a duration of at least %s, such as 1h", name, v, least))
	}
	return d
}

// whole reads the whole number in name, def when it is unset. It must lie
// from least to most.
func (r *reader) whole(name string, def, least, most int) int {
	v := r.getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < least || n > most {
		r.problems = append(r.problems, fmt.Sprintf("%s %q is not a whole number from %d to %d", name, v, least, most))
	}
	return n
}

// retention reads RECORD_RETENTION_DAYS: whole days from 1 to
// MaxRetentionDays, DefaultRetentionDays when unset.
func (r *reader) retention() time.Duration {
	days := DefaultRetentionDays
	if v := r.getenv(EnvRetentionDays); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxRetentionDays {
			r.problems = append(r.problems, fmt.Sprintf("%s %q is not a whole number of days from 1 to %d", EnvRetentionDays, v, MaxRetentionDays))
		}
		days = n
	}
	return time.Duration(days) * 24 * time.Hour
}

// schedule reads DELIVERY_RETRY_SCHEDULE, delivery.DefaultSchedule when
// unset.
func (r *reader) schedule() delivery.Schedule {
	v := r.getenv(EnvRetrySchedule)
	if v == "" {
		return slices.Clone(delivery.DefaultSchedule)
	}
	s, err := delivery.ParseSchedule(v)
	if err != nil {
		r.problems = append(r.problems, fmt.Sprintf("%s %q: %v", EnvRetrySchedule, v, err))
	}
	return s
}

// allowed reads ALLOWED_DESTINATION_CIDRS.
func (r *reader) allowed() []netip.Prefix {
	allowed, err := egress.ParseCIDRs(r.getenv(EnvAllowedCIDRs))
	if err != nil {
		r.problems = append(r.problems, fmt.Sprintf("%s %q: %v (want a comma-separated list such as 127.0.0.1/32,10.1.0.0/16)",
			EnvAllowedCIDRs, r.getenv(EnvAllowedCIDRs), err))
	}
	return allowed
}

// err returns the problems found, if any, as one error.
func (r *reader) err() error {
	if len(r.problems) == 0 {
		return nil
	}
	return errors.New("configuration: " + strings.Join(r.problems, "; "))
}

// namespace reads METRICS_NAMESPACE, metrics.DefaultNamespace when unset.
func (r *reader) namespace() string {
	return cmp.Or(r.getenv(EnvNamespace), metrics.DefaultNamespace)
}
