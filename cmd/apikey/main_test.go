package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/docproc/webhooks/internal/keyadmin"
)

// runMainEnv, when set, makes the test binary run main with the arguments
// after "--", so that tests see the command's exit code and output.
const runMainEnv = "APIKEY_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) != "" {
		for i, a := range os.Args {
			if a == "--" {
				os.Args = append([]string{"apikey"}, os.Args[i+1:]...)
				break
			}
		}
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// apikey runs the command with args and no AWS configuration but region.
func apikey(t *testing.T, region string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1", "AWS_REGION="+region, "AWS_DEFAULT_REGION=",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_ENDPOINT_URL=")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

func TestHelpPrintsUsageAndSucceeds(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}, {"create", "-h"}} {
		stdout, stderr, code := apikey(t, "", args...)
		if code != 0 || stdout != keyadmin.Usage || stderr != "" {
			t.Errorf("apikey %v: exit %d, stdout %q, stderr %q; want exit 0 and the usage on stdout", args, code, stdout, stderr)
		}
	}
}

// A command line that cannot run is a usage error (exit 2, with the
// usage), found before any AWS configuration is loaded: no region is set.
func TestUsageErrorsComeBeforeAWSConfig(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"rotate"}, `unknown command "rotate"`},
		{nil, "no command"},
		{[]string{"create"}, "account"},
		{[]string{"list"}, "list needs -account"},
		{[]string{"revoke"}, "revoke needs -key"},
	} {
		_, stderr, code := apikey(t, "", c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) || !strings.Contains(stderr, "usage:") {
			t.Errorf("apikey %v: exit %d, stderr %q; want exit 2, %q and the usage", c.args, code, stderr, c.want)
		}
	}
}
