package systemtest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aioscope/aioscope/internal/procfs"
	"github.com/aioscope/aioscope/internal/testtarget"
)

// The bad-input tests run the built binary against everything that is not a readable CPython
// 3.14/3.15 asyncio process. Each failure must be exactly one line on stderr, nothing on
// stdout, and the documented exit code: 2 for a usage error, 1 for a process that cannot be
// read. None may crash (a Go panic prints a "goroutine" trace).

// expectError runs aioscope with args and checks that it fails with code and one line on
// stderr containing every string in want.
func expectError(t *testing.T, bin string, code int, want []string, args ...string) string {
	t.Helper()
	stdout, stderr, got := runBounded(t, bin, args...)
	return checkOneLineError(t, strings.Join(args, " "), stdout, stderr, got, code, want)
}

func checkOneLineError(t *testing.T, what string, stdout, stderr []byte, got, code int, want []string) string {
	t.Helper()
	line := string(stderr)
	if got != code {
		t.Errorf("aioscope %s: exit code %d, want %d\nstderr: %s", what, got, code, stderr)
	}
	if len(stdout) != 0 {
		t.Errorf("aioscope %s: wrote to stdout: %q", what, stdout)
	}
	if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
		t.Errorf("aioscope %s: stderr is not exactly one line: %q", what, line)
	}
	if strings.Contains(line, "goroutine ") || strings.Contains(line, "panic") {
		t.Errorf("aioscope %s crashed: %s", what, line)
	}
	for _, w := range want {
		if !strings.Contains(line, w) {
			t.Errorf("aioscope %s: message %q does not mention %q", what, strings.TrimSpace(line), w)
		}
	}
	return strings.TrimSpace(line)
}

func TestBadInputUsage(t *testing.T) {
	bin := testtarget.Binary(t)
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"ps"}, []string{"expected one PID", "usage"}},
		{[]string{"pstree", "--json"}, []string{"expected one PID", "usage"}},
		{[]string{"ps", "1", "2"}, []string{"expected one PID"}},
		{[]string{"ps", "abc"}, []string{"invalid PID", "abc"}},
		{[]string{"pstree", "12x"}, []string{"invalid PID", "12x"}},
		{[]string{"ps", "0"}, []string{"invalid PID", "0"}},
		{[]string{"ps", "-5"}, []string{"-5"}},
		{[]string{"ps", "99999999999999999999"}, []string{"invalid PID"}},
		{[]string{"ps", "--retries", "-1", "1"}, []string{"--retries"}},
		{[]string{"ps", "--retries", "many", "1"}, []string{"retries"}},
		{[]string{"ps", "--bogus", "1"}, []string{"bogus"}},
		{[]string{"frobnicate", "1"}, []string{"unknown command"}},
	}
	for _, c := range cases {
		expectError(t, bin, exitUsage, c.want, c.args...)
	}
}

// TestBadInputProcesses covers processes that exist (or existed) but cannot be read.
func TestBadInputProcesses(t *testing.T) {
	bin := testtarget.Binary(t)

	t.Run("no such process", func(t *testing.T) {
		// Beyond pid_max no process can exist.
		max := 4194304
		if data, err := os.ReadFile("/proc/sys/kernel/pid_max"); err == nil {
			if n, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil {
				max = n
			}
		}
		expectError(t, bin, exitError, []string{"no process with PID"}, "ps", strconv.Itoa(max+1))
	})

	t.Run("not python", func(t *testing.T) {
		pid := startRaw(t, "sleep", "60")
		for _, cmd := range []string{"ps", "pstree"} {
			expectError(t, bin, exitError, []string{"not a Python process", "/sleep"}, cmd, strconv.Itoa(pid))
		}
	})

	t.Run("python 3.11", func(t *testing.T) {
		pid := startRawReady(t, testtarget.Python(t, "3.11"), "-c", readyThenSleep)
		for _, args := range [][]string{{"ps"}, {"pstree"}, {"pstree", "--json"}} {
			expectError(t, bin, exitError, []string{"Python 3.11", "not supported", "3.14 and 3.15"}, append(args, strconv.Itoa(pid))...)
		}
	})

	t.Run("python 3.13", func(t *testing.T) {
		tg := testtarget.Start(t, "3.13", "tree.py")
		for _, cmd := range []string{"ps", "pstree"} {
			expectError(t, bin, exitError, []string{"Python 3.13", "not supported", "3.14 and 3.15"}, cmd, strconv.Itoa(tg.PID))
		}
	})

	t.Run("3.14 without asyncio", func(t *testing.T) {
		tg := testtarget.Start(t, "3.14", "noasyncio.py")
		for _, args := range [][]string{{"ps"}, {"pstree"}, {"ps", "--json"}} {
			expectError(t, bin, exitError, []string{"has not imported asyncio"}, append(args, strconv.Itoa(tg.PID))...)
		}
	})

	t.Run("3.15 without asyncio", func(t *testing.T) {
		// _asyncio is built into 3.15, so its table is there from the start: the process has
		// no tasks, and like CPython's tool aioscope prints an empty table and succeeds.
		tg := testtarget.Start(t, "3.15", "noasyncio.py")
		pid := strconv.Itoa(tg.PID)
		stdout, stderr, code := runBounded(t, bin, "ps", pid)
		want, _, wantCode := tg.AsyncioTool(t, "ps")
		if code != wantCode || code != exitOK || len(stderr) != 0 || !bytes.Equal(stdout, want) {
			t.Errorf("ps: exit %d, stderr %q, stdout:\n%s\nCPython (exit %d):\n%s", code, stderr, stdout, wantCode, want)
		}
		if lines := strings.Count(string(stdout), "\n"); lines != 2 {
			t.Errorf("ps printed %d lines, want the two header lines", lines)
		}
		stdout, stderr, code = runBounded(t, bin, "pstree", pid)
		if code != exitOK || len(stderr) != 0 || len(stdout) != 0 {
			t.Errorf("pstree: exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	})

	t.Run("zombie", func(t *testing.T) {
		// A child that has exited and is not reaped yet: its /proc entry remains, in state Z,
		// without memory.
		cmd := exec.Command(testtarget.Python(t, "3.14"), "-c", "pass")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Wait() })
		pid := cmd.Process.Pid
		waitForState(t, pid, 'Z')
		for _, cmd := range []string{"ps", "pstree"} {
			expectError(t, bin, exitError, []string{"has exited"}, cmd, strconv.Itoa(pid))
		}
	})
}

// TestBadInputExitMidSnapshot kills the target while 50 runs of aioscope race against it. Each
// run must either succeed or fail with one line: the process has exited or is gone.
func TestBadInputExitMidSnapshot(t *testing.T) {
	bin := testtarget.Binary(t)
	// Many tasks make each snapshot long enough for the kill to land inside some of them.
	tg := testtarget.Start(t, "3.15", "many.py", "20000")
	pid := strconv.Itoa(tg.PID)
	type result struct {
		stdout, stderr []byte
		code           int
	}
	const runs = 50
	results := make([]result, runs)
	var wg sync.WaitGroup
	for i := 0; i < runs; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[i]
			r.stdout, r.stderr, r.code = runBounded(t, bin, "ps", pid)
		}()
		time.Sleep(2 * time.Millisecond)
		if i == runs/3 {
			// The target leads its own process group (testtarget), which is killed whole.
			if err := syscall.Kill(-tg.PID, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
	}
	wg.Wait()
	counts := map[string]int{}
	for i, r := range results {
		what := fmt.Sprintf("ps %s (run %d)", pid, i)
		switch r.code {
		case exitOK:
			if len(r.stderr) != 0 || len(r.stdout) == 0 {
				t.Errorf("%s: succeeded with stdout %d bytes, stderr %q", what, len(r.stdout), r.stderr)
			}
			counts["succeeded"]++
		default:
			line := checkOneLineError(t, what, r.stdout, r.stderr, r.code, exitError, nil)
			switch {
			case strings.Contains(line, "has exited"):
				counts["exited while read"]++
			case strings.Contains(line, "no process with PID"):
				counts["gone"]++
			default:
				t.Errorf("%s: unexpected message %q", what, line)
			}
		}
	}
	t.Logf("%d runs against a process killed after the %dth started: %v", runs, runs/3+1, counts)
	if counts["succeeded"] == runs {
		t.Error("every run succeeded: the target was not killed while they ran")
	}
}

// permissionFix is what the permission-denied message must say: who may read the target, and how
// to get the right to — the same user with ptrace allowed (Yama's ptrace_scope), CAP_SYS_PTRACE,
// and in containers --cap-add SYS_PTRACE or kubectl debug.
var permissionFix = []string{"permission denied reading process", "run aioscope as root", "as the target's user with ptrace allowed",
	"kernel.yama.ptrace_scope 0", "CAP_SYS_PTRACE", "--cap-add SYS_PTRACE", "kubectl debug"}

// TestBadInputPermissionDenied reads a process of another user without the right to: the
// message must say how to get that right.
func TestBadInputPermissionDenied(t *testing.T) {
	bin := testtarget.Binary(t)
	if os.Geteuid() != 0 {
		// Unprivileged already: init belongs to root.
		if st, err := os.Stat("/proc/1"); err != nil || st.Sys().(*syscall.Stat_t).Uid == uint32(os.Geteuid()) {
			testtarget.Unavailable(t, "no process of another user to read (not root, and /proc/1 is ours)")
		}
		for _, cmd := range []string{"ps", "pstree"} {
			expectError(t, bin, exitError, append(permissionFix, "process 1:"), cmd, "1")
		}
		return
	}
	// As root: drop to nobody with setpriv and read root's target.
	setpriv, nobody := asNobody(t, bin)
	for _, version := range []string{"3.14", "3.15"} {
		tg := testtarget.Start(t, version, "tree.py")
		pid := strconv.Itoa(tg.PID)
		for _, args := range [][]string{{"ps"}, {"pstree"}, {"ps", "--json"}} {
			stdout, stderr, code := runBounded(t, setpriv, append(nobody, append(args, pid)...)...)
			checkOneLineError(t, "as nobody: "+strings.Join(args, " "), stdout, stderr, code, exitError,
				append(permissionFix, "process "+pid+":"))
		}
		testtarget.ExpectRunning(t, tg.PID)
	}
}

// asNobody returns setpriv and the arguments that make it run a copy of the aioscope binary as
// the user and group nobody, without supplementary groups. The copy is in a directory nobody can
// reach, wherever the binary under test ($AIOSCOPE_BIN) lies.
func asNobody(t *testing.T, bin string) (string, []string) {
	t.Helper()
	setpriv := testtarget.Program(t, "setpriv", "(util-linux) to run aioscope as another user: run make tools")
	dir, err := os.MkdirTemp("", "aioscope-perm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	nobodyBin := filepath.Join(dir, "aioscope")
	if err := copyFile(bin, nobodyBin, 0o755); err != nil {
		t.Fatal(err)
	}
	return setpriv, []string{"--reuid=65534", "--regid=65534", "--clear-groups", nobodyBin}
}

// readyThenSleep is a Python program that reports READY <pid> and sleeps, for interpreters
// the scenarios do not support.
const readyThenSleep = "import os, signal, time; signal.alarm(600); print('READY', os.getpid(), flush=True); time.sleep(600)"

// startRaw starts a program that is killed and reaped when the test ends, and returns its PID.
func startRaw(t *testing.T, name string, args ...string) int {
	t.Helper()
	cmd := exec.Command(name, args...)
	startForTest(t, cmd)
	return cmd.Process.Pid
}

// startRawReady starts a program that prints "READY <pid>" and returns its PID once it has.
func startRawReady(t *testing.T, name string, args ...string) int {
	t.Helper()
	cmd := exec.Command(name, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	startForTest(t, cmd)
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- line
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case line := <-ready:
		if want := fmt.Sprintf("READY %d\n", cmd.Process.Pid); line != want {
			t.Fatalf("%s printed %q, want %q", name, line, want)
		}
	case <-time.After(testtarget.ReadyTimeout):
		t.Fatalf("%s printed no READY line within %v", name, testtarget.ReadyTimeout)
	}
	return cmd.Process.Pid
}

// waitForState waits until /proc/PID/stat shows the given state.
func waitForState(t *testing.T, pid int, state byte) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st, err := procfs.ReadStat("/proc", pid); err == nil && st.State == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d did not reach state %c", pid, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func copyFile(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, mode)
}

// TestDAPBadTargets attaches the debug adapter to what cannot be read that its own tests do not
// cover: a Python 3.11 process, a zombie, a process of root's read as nobody, and a process that
// exits while a snapshot of it is being taken. Each must give an error response with the CLI's
// one-line message, and the server must stay up and end cleanly. (adapter's TestLiveBadAttach
// covers a missing or non-numeric processId, no such process, a process that is not Python,
// Python 3.13 and a 3.14 without asyncio, and requests before attach; TestCLIStdioMalformed and
// the tests of adapter/malformed_test.go bad framing, bad JSON, oversized bodies and unknown
// commands.)
func TestDAPBadTargets(t *testing.T) {
	bin := testtarget.Binary(t)

	// attachFails attaches a new session to pid, expects the CLI's message, and checks that the
	// session stays usable and ends cleanly.
	attachFails := func(t *testing.T, c *dapClient, pid int, want ...string) {
		t.Helper()
		c.mustSucceed("initialize", map[string]any{"adapterID": "aioscope"})
		m := c.request("attach", map[string]any{"processId": pid})
		_, stderr, _ := runBounded(t, bin, "ps", strconv.Itoa(pid))
		cli := strings.TrimPrefix(strings.TrimSpace(string(stderr)), "aioscope: ")
		if m.Success || m.Message != cli || strings.Contains(m.Message, "\n") {
			t.Errorf("attach to %d: success %v, message %q; the CLI says %q", pid, m.Success, m.Message, cli)
		}
		for _, w := range want {
			if !strings.Contains(m.Message, w) {
				t.Errorf("attach to %d: message %q does not mention %q", pid, m.Message, w)
			}
		}
		if m := c.request("threads", nil); m.Success || !strings.Contains(m.Message, "not attached") {
			t.Errorf("threads after a failed attach: success %v, %q", m.Success, m.Message)
		}
		c.close()
	}

	t.Run("zombie", func(t *testing.T) {
		cmd := exec.Command(testtarget.Python(t, "3.14"), "-c", "pass")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Wait() })
		waitForState(t, cmd.Process.Pid, 'Z')
		attachFails(t, startDAP(t, bin, "dap"), cmd.Process.Pid, "has exited")
	})

	t.Run("permission denied", func(t *testing.T) {
		if os.Geteuid() != 0 {
			if st, err := os.Stat("/proc/1"); err != nil || st.Sys().(*syscall.Stat_t).Uid == uint32(os.Geteuid()) {
				testtarget.Unavailable(t, "no process of another user to read (not root, and /proc/1 is ours)")
			}
			attachFails(t, startDAP(t, bin, "dap"), 1, permissionFix...)
			return
		}
		setpriv, nobody := asNobody(t, bin)
		tg := testtarget.Start(t, "3.15", "tree.py")
		c := startDAP(t, append(append([]string{setpriv}, nobody...), "dap")...)
		// The CLI's message is that of root's aioscope here; compare with nobody's instead.
		c.mustSucceed("initialize", map[string]any{"adapterID": "aioscope"})
		m := c.request("attach", map[string]any{"processId": tg.PID})
		stdout, stderr, code := runBounded(t, setpriv, append(nobody, "ps", strconv.Itoa(tg.PID))...)
		cli := checkOneLineError(t, "as nobody: ps", stdout, stderr, code, exitError, permissionFix)
		if m.Success || m.Message != strings.TrimPrefix(cli, "aioscope: ") {
			t.Errorf("attach as nobody: success %v, message %q; the CLI says %q", m.Success, m.Message, cli)
		}
		for _, w := range permissionFix {
			if !strings.Contains(m.Message, w) {
				t.Errorf("attach as nobody: message %q does not mention %q", m.Message, w)
			}
		}
		if m := c.request("aioscope/snapshot", nil); m.Success {
			t.Error("snapshot succeeded after a failed attach")
		}
		c.close()
		testtarget.ExpectRunning(t, tg.PID)
	})

	t.Run("python 3.11", func(t *testing.T) {
		pid := startRawReady(t, testtarget.Python(t, "3.11"), "-c", readyThenSleep)
		c := startDAP(t, bin, "dap")
		c.mustSucceed("initialize", map[string]any{"adapterID": "aioscope"})
		m := c.request("attach", map[string]any{"processId": pid})
		_, stderr, _ := runBounded(t, bin, "ps", strconv.Itoa(pid))
		cli := strings.TrimPrefix(strings.TrimSpace(string(stderr)), "aioscope: ")
		if m.Success || m.Message != cli || strings.Contains(m.Message, "\n") || !strings.Contains(m.Message, "Python 3.11") {
			t.Errorf("attach to Python 3.11: success %v, message %q; the CLI says %q", m.Success, m.Message, cli)
		}
		if m := c.request("threads", nil); m.Success {
			t.Error("threads succeeded after a failed attach")
		}
		c.close()
	})

	t.Run("exits mid-snapshot", func(t *testing.T) {
		// Many tasks make each snapshot take long enough for the kill to land inside one.
		tg := testtarget.Start(t, "3.15", "many.py", "20000")
		c := startDAP(t, bin, "dap")
		c.attach(tg.PID, nil)
		seq := c.send("aioscope/snapshot", nil)
		time.Sleep(3 * time.Millisecond)
		if err := syscall.Kill(-tg.PID, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		m := c.response(seq, "aioscope/snapshot")
		if !m.Success && !strings.Contains(m.Message, "has exited") && !strings.Contains(m.Message, "no process") {
			t.Errorf("snapshot of a process killed meanwhile: %q", m.Message)
		}
		t.Logf("the snapshot in flight when the target was killed: success %v %q", m.Success, m.Message)
		// Later requests get error responses, and the client hears that the target is gone.
		for i := 0; i < 5; i++ {
			if m := c.request("aioscope/snapshot", nil); m.Success || strings.Contains(m.Message, "\n") {
				t.Errorf("snapshot of an exited process: success %v message %q", m.Success, m.Message)
			}
		}
		terminated := false
		for _, e := range c.events {
			terminated = terminated || e.Event == "terminated"
		}
		if !terminated {
			t.Error("no terminated event after the target exited")
		}
		c.close()
	})
}
