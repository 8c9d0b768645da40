package webhook

import (
	"testing"
	"time"
)

// The request path without I/O: URL rules, ids, secrets, fingerprints.

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
	p := Settings{URL: "https://hooks.example.com/docproc/events?tenant=42",
		Events: []EventType{DocumentUploaded, DocumentProcessingFailed}, IsActive: true, RetryEnabled: true, MaxRetries: 7}
	for b.Loop() {
		_ = p.Fingerprint()
	}
}
