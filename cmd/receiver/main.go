// Command receiver is a sample webhook receiver, the model for customers'
// own: it serves HTTPS on loopback, verifies each delivery's Standard
// Webhooks signature with the official library
// (github.com/standard-webhooks/standard-webhooks/libraries/go), answers
// 204, and prints the event.
//
//	WEBHOOK_SECRET=whsec_... go run ./cmd/receiver
//
// At its first start it makes an ECDSA P-256 CA and writes its certificate
// to -ca-file (.local/receiver-ca.pem), which the delivery service trusts
// through DELIVERY_CA_FILE, and its key beside it (-ca-file plus ".key",
// readable only by you). Later starts reuse that CA while it has more than
// a week to run, so a running `make run` keeps trusting a restarted
// receiver. At every start it signs a new certificate for 127.0.0.1, ::1
// and localhost with the CA, kept in memory only. It listens on loopback
// only: -addr must be 127.0.0.1, ::1 or localhost, the names the
// certificate holds.
//
// Each verified delivery prints two lines to stdout, a summary and the
// payload as compact JSON:
//
//	verified document.uploaded evt_... (webhook-id msg_..., attempt at 2026-12-01T10:00:00Z)
//	{"id":"evt_...","type":"document.uploaded",...}
//
// At start it prints to stderr where it listens, a line to paste for the
// docs' examples (export RECEIVER=https://127.0.0.1:9443/), its CA file
// and the settings `make run` needs to deliver to it. A request that fails
// verification is answered 400 with a short reason and logged to stderr.
// -status 500 answers 500 to verified deliveries, to watch the service
// retry. SIGINT or SIGTERM stops it, letting requests in flight finish.
//
// Prefer WEBHOOK_SECRET to -secret: a command line is visible to other
// users of the machine and kept in shell history.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	cfg, err := ParseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "receiver: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "receiver: %v\n", err)
		os.Exit(1)
	}
}
