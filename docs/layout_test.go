package docs_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docproc/webhooks/internal/dev/testenv"
)

// layoutDirs returns the directories that the README's text block after
// the line starting with intro lists, one at the start of each line.
func layoutDirs(t *testing.T, readme, intro string) []string {
	t.Helper()
	at := strings.Index(readme, "\n"+intro)
	if at < 0 {
		t.Fatalf("README.md has no line starting %q", intro)
	}
	var dirs []string
	for _, b := range parseBlocks(t, "README.md", readme[at:]) {
		if b.info != "text" {
			continue
		}
		for _, l := range strings.Split(b.text, "\n") {
			if f := strings.Fields(l); len(f) > 0 && strings.HasSuffix(f[0], "/") && !strings.HasPrefix(l, " ") {
				dirs = append(dirs, strings.TrimSuffix(f[0], "/"))
			}
		}
		break
	}
	if len(dirs) == 0 {
		t.Fatalf("README.md lists no directory after %q", intro)
	}
	return dirs
}

// TestLayoutShowsWhatShips checks the README's layout against what the
// Lambda functions link (go list -deps ./functions/...): every package
// of the module they link is under a directory of the "What ships"
// block, every directory of that block is linked, and no directory of
// the "What does not ship" block is. It runs with -short too.
func TestLayoutShowsWhatShips(t *testing.T) {
	root := testenv.RepoFile("")
	md, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "./functions/...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/docproc/webhooks/"
	linked := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		if rel, ok := strings.CutPrefix(p, module); ok {
			linked[rel] = true
		}
	}
	under := func(pkg, dir string) bool { return pkg == dir || strings.HasPrefix(pkg, dir+"/") }
	ships := layoutDirs(t, string(md), "What ships to Lambda")
	for pkg := range linked {
		listed := false
		for _, d := range ships {
			listed = listed || under(pkg, d)
		}
		if !listed {
			t.Errorf("the functions link %s, which the README's \"What ships to Lambda\" block does not list", pkg)
		}
	}
	for _, d := range ships {
		if !linked[d] {
			t.Errorf("the README says %s/ ships to Lambda, but no function links it", d)
		}
	}
	for _, d := range layoutDirs(t, string(md), "What does not ship") {
		for pkg := range linked {
			if under(pkg, d) {
				t.Errorf("the README says %s/ does not ship, but the functions link %s", d, pkg)
			}
		}
	}
}

// maxShippedLines is the most lines a non-test Go file of a package that
// ships to Lambda may have: past it, a file holds more than one concept.
const maxShippedLines = 450

// TestShippedFilesStaySmall checks that no non-test Go file of a package
// the Lambda functions link is over maxShippedLines lines. It runs with
// -short too.
func TestShippedFilesStaySmall(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-f",
		`{{if not .Standard}}{{range .GoFiles}}{{$.Dir}}/{{.}}{{"\n"}}{{end}}{{end}}`, "./functions/...")
	cmd.Dir = testenv.RepoFile("")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	files := 0
	for _, f := range strings.Fields(string(out)) {
		if !strings.HasPrefix(f, cmd.Dir) {
			continue // a module dependency, not this repository's
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		files++
		if n := strings.Count(string(b), "\n"); n > maxShippedLines {
			rel, _ := filepath.Rel(cmd.Dir, f)
			t.Errorf("%s has %d lines; a file that ships to Lambda has at most %d: split it by concept", rel, n, maxShippedLines)
		}
	}
	if files < 50 {
		t.Fatalf("go list named %d of this repository's files; want the functions' packages' files", files)
	}
}
