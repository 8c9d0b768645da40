package main

import (
	"testing"

	"github.com/docproc/webhooks/internal/dev/testenv"
)

// TestLinksNoEmulatorOrAPI: the operators' command builds an SDK
// configuration and a table client, nothing more. It must not link the AWS
// emulator, the local stack, the API or the test helpers.
func TestLinksNoEmulatorOrAPI(t *testing.T) {
	const mod = "github.com/docproc/webhooks/"
	testenv.NoDeps(t, "github.com/sivchari/kumo", mod+"internal/dev/local", mod+"internal/api", mod+"internal/dev/testenv")
}
