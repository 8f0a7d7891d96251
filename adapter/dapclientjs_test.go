package adapter

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aioscope/aioscope/internal/testtarget"
)

// TestDebugClientJS drives `aioscope dap` with an independent client: VS Code's DebugClient from
// @vscode/debugadapter-testsupport (adapter/dapclient-js), against a live CPython 3.15 process.
// node and npm are prerequisites like the interpreters: missing, the test fails under CI and is
// skipped elsewhere.
func TestDebugClientJS(t *testing.T) {
	node := testtarget.Program(t, "node", "to run the JavaScript debug client")
	dir := filepath.Join(testtarget.RepoRoot(t), "adapter", "dapclient-js")
	installDebugClient(t, dir)

	tg := testtarget.Start(t, "3.15", "tree.py")
	testtarget.WatchState(t, tg.PID)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", filepath.Join("test", "attach.test.js"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"AIOSCOPE_BIN="+testtarget.Binary(t),
		"AIOSCOPE_TARGET_PID="+strconv.Itoa(tg.PID),
		"AIOSCOPE_SCENARIO="+testtarget.ScenarioPath("tree.py"),
		"AIOSCOPE_BAD_PID="+strconv.Itoa(exitedPID(t)),
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test test/attach.test.js: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	testtarget.ExpectRunning(t, tg.PID)
}

// installDebugClient installs the client's pinned packages (package-lock.json) into dir unless
// they are there. Test runs in the same checkout at the same time take turns: npm ci starts by
// deleting node_modules.
func installDebugClient(t *testing.T, dir string) {
	t.Helper()
	lock, err := os.Open(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		t.Fatalf("locking %s: %v", lock.Name(), err)
	}
	defer unix.Flock(int(lock.Fd()), unix.LOCK_UN)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@vscode", "debugadapter-testsupport", "package.json")); err == nil {
		return
	}
	npm := testtarget.Program(t, "npm", "to install the JavaScript debug client")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	// npm 11 refuses dependencies' install scripts unless they are allowed.
	cmd.Env = append(os.Environ(), "npm_config_dangerously_allow_all_scripts=true")
	if out, err := cmd.CombinedOutput(); err != nil {
		testtarget.Unavailable(t, "npm ci in %s: %v\n%s", dir, err, out)
	}
}
