package devstack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
)

// accessMessage is the message of the API's one access line per request
// (api.Handler's logRequest); its attributes are what the line shows.
const accessMessage = "request"

// lineHandler writes each access line of the API as one short line for a
// person at a terminal:
//
//	19:20:08.123 POST /v1/webhooks 400 3.1ms createWebhook error=url_invalid request_id=local-...
//
// and every other record as slog's text handler does. When an access line
// carries an error code that hints has, it ends with that hint in
// parentheses: the local fix, which the API's own answer cannot name.
type lineHandler struct {
	w     io.Writer
	level slog.Leveler
	other slog.Handler
	hints map[string]string
}

// newLineHandler returns a lineHandler writing records of level and above
// to w, one Write per record, with hints by error code.
func newLineHandler(w io.Writer, level slog.Leveler, hints map[string]string) *lineHandler {
	return &lineHandler{w: w, level: level, hints: hints,
		other: slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})}
}

// Enabled implements slog.Handler.
func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

// Handle implements slog.Handler.
func (h *lineHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message != accessMessage {
		return h.other.Handle(ctx, r)
	}
	f := map[string]string{}
	r.Attrs(func(a slog.Attr) bool {
		f[a.Key] = a.Value.Resolve().String()
		return true
	})
	var b strings.Builder
	b.WriteString(r.Time.Format("15:04:05.000"))
	for _, k := range []string{"method", "path", "status"} {
		b.WriteString(" " + f[k])
	}
	if ms, err := strconv.ParseFloat(f["latency_ms"], 64); err == nil {
		fmt.Fprintf(&b, " %.1fms", ms)
	}
	b.WriteString(" " + f["operation"])
	if code := f["error_code"]; code != "" {
		b.WriteString(" error=" + code)
	}
	b.WriteString(" request_id=" + f["request_id"])
	if cause := f["error"]; cause != "" {
		b.WriteString(" cause=" + strconv.Quote(cause))
	}
	if hint := h.hints[f["error_code"]]; hint != "" {
		b.WriteString(" (" + hint + ")")
	}
	b.WriteString("\n")
	_, err := io.WriteString(h.w, b.String())
	return err
}

// WithAttrs implements slog.Handler. The attributes go on the other
// records; an access line shows only its own fields.
func (h *lineHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.other = h.other.WithAttrs(attrs)
	return &c
}

// WithGroup implements slog.Handler, for the other records.
func (h *lineHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.other = h.other.WithGroup(name)
	return &c
}
