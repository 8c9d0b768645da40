package docs_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docproc/webhooks/internal/dev/testenv"
)

// TestTargetsThatNeedSAMSayHowToGetIt runs `make invoke` and `make deploy`
// where sam is not on PATH (PATH holds only make and the shells): each must
// stop before running anything, with a message that names sam and links
// its install guide, as docs/development.md says.
func TestTargetsThatNeedSAMSayHowToGetIt(t *testing.T) {
	bin := t.TempDir()
	for _, tool := range []string{"make", "sh", "bash"} {
		path, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("%s is needed to run the Makefile: %v", tool, err)
		}
		if err := os.Symlink(path, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	for _, target := range []string{"invoke", "deploy"} {
		cmd := exec.Command(filepath.Join(bin, "make"), "--no-print-directory", target)
		cmd.Dir = testenv.RepoFile("")
		cmd.Env = []string{"PATH=" + bin, "HOME=" + t.TempDir()}
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("make %s without sam succeeded:\n%s", target, out)
		}
		want := "make " + target + " needs the AWS SAM CLI (sam), which is not on PATH. Install it: " +
			"https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/install-sam-cli.html"
		if !strings.Contains(string(out), want) || strings.Contains(string(out), "No such file") {
			t.Errorf("make %s without sam printed:\n%s\nwant the line %q and nothing from a missing sam", target, out, want)
		}
	}
}
