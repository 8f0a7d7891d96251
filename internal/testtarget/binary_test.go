package testtarget

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestBinary(t *testing.T) {
	bin := Binary(t)
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "aioscope ") || strings.Contains(string(out), "aioscope dev") && version(RepoRoot(t)) != "dev" {
		t.Errorf("%s version: %q, %v", bin, out, err)
	}
	if again := Binary(t); again != bin {
		t.Errorf("second call returned %q, first %q", again, bin)
	}
}

func TestBinaryFromEnvironment(t *testing.T) {
	// A relative path is from the repository's root, whatever the package's directory.
	t.Setenv("AIOSCOPE_BIN", "go.mod")
	if path, err := binary(); err != nil || path != filepath.Join(RepoRoot(t), "go.mod") {
		t.Errorf("AIOSCOPE_BIN=go.mod: %q, %v", path, err)
	}
	t.Setenv("AIOSCOPE_BIN", "no/such/aioscope")
	if _, err := binary(); err == nil || !strings.Contains(err.Error(), "AIOSCOPE_BIN=no/such/aioscope") {
		t.Errorf("AIOSCOPE_BIN naming nothing: %v", err)
	}
}
