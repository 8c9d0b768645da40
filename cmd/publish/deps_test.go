package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinksNoEmulatorOrStack: the publishing command builds an SDK
// configuration and an EventBridge client, nothing more, so that its first
// `go run` builds little. It must not link the AWS emulator, the local
// stack, the API or the test helpers.
func TestLinksNoEmulatorOrStack(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list -deps listed nothing")
	}
	const mod = "github.com/docproc/webhooks/"
	forbidden := []string{"github.com/sivchari/kumo", mod + "internal/dev/local/devstack", mod + "internal/dev/local/emulator",
		mod + "internal/api", mod + "internal/app", mod + "internal/dev/testenv"}
	for _, dep := range deps {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("cmd/publish depends on %s", dep)
			}
		}
	}
}
