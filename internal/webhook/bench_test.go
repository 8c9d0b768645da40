package webhook

import (
	"encoding/json"
	"testing"
	"time"
)

// The request path without I/O: validation, ids, secrets, fingerprints.

var benchBody = map[string]json.RawMessage{
	"url":         json.RawMessage(`"https://hooks.example.com/docproc/events?tenant=42"`),
	"events":      json.RawMessage(`["document.uploaded","document.processing.failed"]`),
	"is_active":   json.RawMessage(`true`),
	"max_retries": json.RawMessage(`7`),
}

func BenchmarkParseCreateParams(b *testing.B) {
	for b.Loop() {
		if _, err := ParseCreateParams(benchBody); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateURL(b *testing.B) {
	for b.Loop() {
		if _, fp := ValidateURL("https://hooks.example.com/docproc/events?tenant=42"); fp != nil {
			b.Fatal(fp.Message)
		}
	}
}

func BenchmarkNewID(b *testing.B) {
	now := time.Now()
	for b.Loop() {
		if _, err := NewID(now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewSigningSecret(b *testing.B) {
	for b.Loop() {
		if _, err := NewSigningSecret(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFingerprint(b *testing.B) {
	p, err := ParseCreateParams(benchBody)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		_ = p.Fingerprint()
	}
}
