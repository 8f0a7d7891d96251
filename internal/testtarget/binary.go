package testtarget

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// buildTimeout bounds the one build of the binary; a cold build cache makes it slow.
const buildTimeout = 10 * time.Minute

var (
	binOnce sync.Once
	binPath string
	binDir  string // the directory Binary built into, removed by Main
	binErr  error
)

// Binary returns the aioscope binary the tests run: $AIOSCOPE_BIN when set (to test a given
// build, such as a release; a relative path is from the repository's root), else ./cmd/aioscope built once per test process as `make build`
// builds it (static, -trimpath, stripped, versioned). Tests calling it in parallel wait for the
// one build. The build lies in a directory every user may read, as tests also run it as another
// user; a package whose tests call Binary has Main for its TestMain, which removes it.
func Binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() { binPath, binErr = binary() })
	if binErr != nil {
		t.Fatalf("testtarget: %v", binErr)
	}
	return binPath
}

func binary() (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	if bin := os.Getenv("AIOSCOPE_BIN"); bin != "" {
		// go test runs each package's tests in the package's directory: a relative path is
		// taken from the repository's root, where make puts bin/aioscope.
		path := bin
		if !filepath.IsAbs(path) {
			path = filepath.Join(root, path)
		}
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("AIOSCOPE_BIN=%s: %v", bin, err)
		}
		return path, nil
	}
	if binDir, err = os.MkdirTemp("", "aioscope-test-bin-"); err != nil {
		return "", err
	}
	if err := os.Chmod(binDir, 0o755); err != nil {
		return "", err
	}
	bin := filepath.Join(binDir, "aioscope")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	// The flags of the Makefile's build target.
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath",
		"-ldflags", "-s -w -X main.version="+version(root), "-o", bin, "./cmd/aioscope")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/aioscope: %v\n%s", err, out)
	}
	return bin, nil
}

// version is what the Makefile stamps into the binary: `git describe`, or "dev" outside git.
func version(root string) string {
	cmd := exec.Command("git", "describe", "--tags", "--always", "--dirty")
	cmd.Dir = root
	out, err := cmd.Output()
	if v := strings.TrimSpace(string(out)); err == nil && v != "" {
		return v
	}
	return "dev"
}

// Main runs the tests of a package whose tests call Binary, removes the binary Binary built, if
// it built one, and exits with the tests' status. It is the package's TestMain:
//
//	func TestMain(m *testing.M) { testtarget.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	removeBinary()
	os.Exit(code)
}

func removeBinary() {
	if binDir != "" {
		os.RemoveAll(binDir)
	}
}
