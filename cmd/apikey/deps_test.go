package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinksNoEmulatorOrAPI: the operators' command builds an SDK
// configuration and a table client, nothing more. It must not link the AWS
// emulator, the local stack, the API or the test helpers.
func TestLinksNoEmulatorOrAPI(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list -deps listed nothing")
	}
	const mod = "github.com/docproc/webhooks/"
	forbidden := []string{"github.com/sivchari/kumo", mod + "internal/dev/local", mod + "internal/api", mod + "internal/dev/testenv"}
	for _, dep := range deps {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("cmd/apikey depends on %s", dep)
			}
		}
	}
}
