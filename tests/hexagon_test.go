package tests

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The core of the hexagon: what the use cases need, and nothing of how it
// is provided.
var corePackages = []string{"./domain/...", "./ports/...", "./application/..."}

// forbiddenInCore are the import paths (and path prefixes, ending in "/")
// that the core must not reach, directly or through another package: the
// adapters and binaries, the drivers, and the frameworks of the transport,
// the wiring and the metrics.
var forbiddenInCore = []string{
	"github.com/relaymsg/relay/adapters/",
	"github.com/relaymsg/relay/cmd/",
	"github.com/jmoiron/sqlx",
	"github.com/lib/pq",
	"modernc.org/sqlite",
	"database/sql",
	"github.com/redis/",
	"github.com/gorilla/",
	"net/http",
	"go.uber.org/fx",
	"go.uber.org/dig",
	"github.com/prometheus/",
}

// TestHexagon fails when domain, ports or application import an adapter,
// a driver or a framework: in their code, through any package their code
// imports, or in their tests. It needs no server, so it runs under -short.
func TestHexagon(t *testing.T) {
	t.Parallel()
	pkgs := listPackages(t, corePackages...)
	if len(pkgs) < 3 {
		t.Fatalf("go list found %d core packages; the patterns %v are wrong", len(pkgs), corePackages)
	}
	for _, p := range pkgs {
		for _, dep := range p.Deps {
			// One line per forbidden dependency, not one per package of it.
			if forbidden(dep) && !slices.ContainsFunc(p.Deps, func(d string) bool { return strings.HasPrefix(dep, d+"/") && forbidden(d) }) {
				t.Errorf("%s depends on %s (through its imports %v)", p.ImportPath, dep, p.Imports)
			}
		}
		for _, imp := range slices.Concat(p.TestImports, p.XTestImports) {
			if forbidden(imp) {
				t.Errorf("the tests of %s import %s", p.ImportPath, imp)
			}
		}
	}
}

// TestHexagonCheckerSeesAViolation keeps TestHexagon from passing by
// looking at nothing: the adapters do import what the core must not.
func TestHexagonCheckerSeesAViolation(t *testing.T) {
	t.Parallel()
	found := false
	for _, p := range listPackages(t, "./adapters/httpapi") {
		found = found || slices.ContainsFunc(p.Deps, forbidden)
	}
	if !found {
		t.Fatal("the HTTP adapter depends on nothing forbidden in the core: the checker is broken")
	}
}

func forbidden(path string) bool {
	for _, f := range forbiddenInCore {
		if path == f || (strings.HasSuffix(f, "/") && strings.HasPrefix(path, f)) ||
			strings.HasPrefix(path, f+"/") {
			return true
		}
	}
	return false
}

type listedPackage struct {
	ImportPath   string
	Imports      []string
	Deps         []string
	TestImports  []string
	XTestImports []string
}

// listPackages runs `go list -json` on patterns from the module root.
func listPackages(t *testing.T, patterns ...string) []listedPackage {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json"}, patterns...)...)
	cmd.Dir = ".." // the module root: this package is tests/
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", patterns, err, stderr.String())
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}
