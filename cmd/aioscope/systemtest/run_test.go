package systemtest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aioscope/aioscope/internal/testtarget"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testtarget.RemoveBinary()
	os.Exit(code)
}

// aioscope's exit statuses, as its usage text documents them.
const (
	exitOK    = 0
	exitError = 1 // the process cannot be read, or pstree finds an await cycle
	exitUsage = 2
)

// runDeadline bounds one CLI run. A run takes milliseconds; the deadline only turns a hang into
// a failure, so it is generous for a loaded machine.
const runDeadline = 30 * time.Second

// runBounded runs the aioscope binary and returns its output and exit code; it fails the test if
// the run does not end within runDeadline or cannot be started.
func runBounded(t *testing.T, bin string, args ...string) (stdout, stderr []byte, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("aioscope %s did not finish within %v", strings.Join(args, " "), runDeadline)
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("running aioscope %s: %v", strings.Join(args, " "), err)
	}
	if exitErr != nil && !exitErr.Exited() {
		t.Fatalf("aioscope %s was killed by a signal: %v\nstderr: %s", strings.Join(args, " "), err, errb.Bytes())
	}
	return out.Bytes(), errb.Bytes(), cmd.ProcessState.ExitCode()
}
