package main

import (
	"testing"

	"github.com/docproc/webhooks/internal/dev/testenv"
)

// TestLinksNoEmulatorOrStack: the publishing command builds an SDK
// configuration and an EventBridge client, nothing more, so that its first
// `go run` builds little. It must not link the AWS emulator, the local
// stack, the API or the test helpers.
func TestLinksNoEmulatorOrStack(t *testing.T) {
	const mod = "github.com/docproc/webhooks/"
	testenv.NoDeps(t, "github.com/sivchari/kumo", mod+"internal/dev/local/devstack", mod+"internal/dev/local/emulator",
		mod+"internal/api", mod+"internal/app", mod+"internal/dev/testenv")
}
