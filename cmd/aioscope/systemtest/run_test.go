package systemtest

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aioscope/aioscope/internal/testtarget"
	"github.com/aioscope/aioscope/schema"
)

func TestMain(m *testing.M) { testtarget.Main(m) }

// aioscope's exit statuses, as its usage text documents them.
const (
	exitOK    = 0
	exitError = 1 // the process cannot be read, or pstree finds an await cycle
	exitUsage = 2
)

// startForTest starts cmd, which is killed, if still running, and reaped when the test ends.
func startForTest(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
}

// loadSchemas loads the JSON schemas of aioscope's output.
func loadSchemas(t *testing.T) *schema.Set {
	t.Helper()
	schemas, err := schema.Load()
	if err != nil {
		t.Fatal(err)
	}
	return schemas
}

// runDeadline bounds one CLI run. A run takes milliseconds; the deadline only turns a hang into
// a failure, so it is generous for a loaded machine.
const runDeadline = 30 * time.Second

// slowRunDeadline bounds a run that reads many tasks or values, on a machine that runs many
// targets at once.
const slowRunDeadline = 2 * time.Minute

// runBounded runs the aioscope binary and returns its output and exit code; it fails the test if
// the run does not end within runDeadline, cannot be started or is killed by a signal.
func runBounded(t *testing.T, bin string, args ...string) (stdout, stderr []byte, code int) {
	t.Helper()
	return runWithin(t, runDeadline, bin, args...)
}

// runWithin is runBounded with another deadline.
func runWithin(t *testing.T, deadline time.Duration, bin string, args ...string) (stdout, stderr []byte, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("aioscope %s did not finish within %v", strings.Join(args, " "), deadline)
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
