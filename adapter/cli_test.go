package adapter

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aioscope/aioscope/internal/daptest"
	"github.com/aioscope/aioscope/internal/testtarget"
)

func TestMain(m *testing.M) { testtarget.Main(m) }

// runCLI runs the aioscope binary and returns its combined output.
func runCLI(t testing.TB, stdin io.Reader, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testtarget.Binary(t), args...)
	cmd.Stdin = stdin
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestCLIRefusesRemoteListen(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:4711"} {
		cmd := exec.Command(testtarget.Binary(t), "dap", "--listen", addr)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 {
			t.Errorf("dap --listen %s: %v, want exit status 2", addr, err)
		}
		msg := stderr.String()
		if strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "--allow-remote") || !strings.Contains(msg, "loopback") {
			t.Errorf("dap --listen %s: stderr %q, want one line naming --allow-remote", addr, msg)
		}
		if stdout.Len() != 0 {
			t.Errorf("dap --listen %s wrote to stdout: %q", addr, stdout.String())
		}
	}
	for _, args := range [][]string{{"dap", "1234"}, {"dap", "--bogus"}, {"dap", "--allow-remote"}, {"dap", "--listen", "nonsense"}} {
		cmd := exec.Command(testtarget.Binary(t), args...)
		if err := cmd.Run(); err == nil || cmd.ProcessState.ExitCode() != 2 {
			t.Errorf("aioscope %v: %v, want exit status 2", args, err)
		}
	}
}

// startCLI starts `aioscope args...` and returns it with pipes to its stdin and stdout.
func startCLI(t *testing.T, args ...string) (*exec.Cmd, io.WriteCloser, io.ReadCloser, *bytes.Buffer) {
	t.Helper()
	return startCommand(t, append([]string{testtarget.Binary(t)}, args...)...)
}

// startCommand starts argv (see testtarget.StartServer) and returns it with pipes to its stdin
// and stdout, and what it writes to stderr.
func startCommand(t *testing.T, argv ...string) (*exec.Cmd, io.WriteCloser, io.ReadCloser, *bytes.Buffer) {
	t.Helper()
	var stderr bytes.Buffer
	cmd, stdin, stdout := testtarget.StartServer(t, &stderr, argv...)
	return cmd, stdin, stdout, &stderr
}

func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return cmd.ProcessState.ExitCode()
	case <-time.After(msgTimeout):
		t.Fatalf("aioscope dap did not exit within %v", msgTimeout)
		return -1
	}
}

func TestCLIStdio(t *testing.T) {
	tg := testtarget.Start(t, "3.15", "tree.py")
	testtarget.WatchState(t, tg.PID)
	logFile := filepath.Join(t.TempDir(), "dap.log")
	cmd, stdin, stdout, stderr := startCLI(t, "dap", "--log", logFile)
	c := newClient(t, daptest.Stdio(stdin, stdout))
	c.attachAndStop(map[string]any{"processId": tg.PID})
	byName := threadsByName(t, c.Threads())
	st := c.StackTrace(byName["A-leaf-1"], 0, 0)
	if len(st.StackFrames) < 8 || st.StackFrames[0].Name != "sleep" {
		t.Errorf("A-leaf-1's stack over stdio: %s", frameNames(st.StackFrames))
	}
	c.OK("disconnect", nil, nil)
	// The adapter has nothing more to say: stdout ends right after the response.
	c.ExpectClosed()
	if code := waitExit(t, cmd); code != 0 {
		t.Errorf("aioscope dap exited with %d; stderr: %s", code, stderr)
	}
	if stderr.Len() != 0 {
		t.Errorf("aioscope dap wrote to stderr: %q", stderr)
	}
	if log, err := os.ReadFile(logFile); err != nil || !bytes.Contains(log, []byte("attached")) {
		t.Errorf("log file: %v %q", err, log)
	}
	testtarget.ExpectRunning(t, tg.PID)
}

func TestCLIStdioMalformed(t *testing.T) {
	cmd, stdin, stdout, _ := startCLI(t, "dap")
	c := newClient(t, daptest.Stdio(stdin, stdout))
	c.Initialize()
	c.SendRaw([]byte("Content-Length: 99999999999\r\n\r\n"))
	msgs := c.ExpectClosed()
	if len(msgs) != 1 || msgs[0].Event != "output" || !strings.Contains(string(msgs[0].Body), "Content-Length") {
		t.Errorf("after a huge Content-Length: %v", msgs)
	}
	if code := waitExit(t, cmd); code != 1 {
		t.Errorf("aioscope dap exited with %d after a framing error, want 1", code)
	}
}

func TestCLIListen(t *testing.T) {
	tg := testtarget.Start(t, "3.14", "tree.py")
	testtarget.WatchState(t, tg.PID)
	cmd, _, stdout, stderr := startCLI(t, "dap", "--listen", "127.0.0.1:0")
	addr := testtarget.ListenAddress(t, stdout, "dap", func() string { return "stderr: " + stderr.String() })
	// A client that connects and says nothing keeps nobody out.
	idle, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	// Sessions one after another on the same server.
	for i := 0; i < 2; i++ {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c := newClient(t, conn)
		c.attachAndStop(map[string]any{"processId": tg.PID})
		if _, ok := threadsByName(t, c.Threads())["Task-A"]; !ok {
			t.Errorf("session %d: no Task-A", i)
		}
		c.OK("disconnect", nil, nil)
		c.ExpectClosed()
	}
	// A client that vanishes mid-session does not take the server down.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, conn)
	c.Initialize()
	conn.Close()
	conn, err = net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c = newClient(t, conn)
	c.Initialize()
	c.OK("disconnect", nil, nil)

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, cmd); code != 0 {
		t.Errorf("aioscope dap --listen exited with %d after SIGTERM; stderr: %s", code, stderr)
	}
	testtarget.ExpectRunning(t, tg.PID)
}

// TestCLIPermissionDenied runs the adapter as an unprivileged user against a process of root's:
// the attach fails with the message the CLI prints in the same situation.
func TestCLIPermissionDenied(t *testing.T) {
	setpriv, err := exec.LookPath("setpriv")
	if os.Geteuid() != 0 || err != nil {
		testtarget.Unavailable(t, "needs root and setpriv (util-linux) to run the adapter as another user")
	}
	tg := testtarget.Start(t, "3.15", "tree.py")
	testtarget.WatchState(t, tg.PID)
	asNobody := []string{"--reuid=65534", "--regid=65534", "--clear-groups", testtarget.Binary(t)}

	out, err := exec.Command(setpriv, append(asNobody, "ps", strconv.Itoa(tg.PID))...).CombinedOutput()
	if err == nil {
		t.Fatalf("aioscope ps as nobody succeeded: %s", out)
	}
	want := strings.TrimPrefix(strings.TrimSpace(string(out)), "aioscope: ")

	_, stdin, stdout, _ := startCommand(t, append([]string{setpriv}, append(asNobody, "dap")...)...)
	c := newClient(t, daptest.Stdio(stdin, stdout))
	c.Initialize()
	msg := c.Fail("attach", map[string]any{"processId": tg.PID})
	if msg != want || !strings.Contains(msg, "permission denied") {
		t.Errorf("attach as nobody: %q, the CLI says %q", msg, want)
	}
	c.OK("disconnect", nil, nil)
}

// TestCLIListenAddresses: loopback addresses by any name are accepted; any other address only
// with --allow-remote, which then serves on it.
func TestCLIListenAddresses(t *testing.T) {
	for _, args := range [][]string{
		{"--listen", "localhost:0"},
		{"--listen", "0.0.0.0:0", "--allow-remote"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			cmd, _, stdout, stderr := startCLI(t, append([]string{"dap"}, args...)...)
			addr := testtarget.ListenAddress(t, stdout, "dap", func() string { return "stderr: " + stderr.String() })
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				t.Fatal(err)
			}
			if ip := net.ParseIP(host); args[1] == "localhost:0" && (ip == nil || !ip.IsLoopback()) {
				t.Errorf("--listen localhost:0 listens on %s", addr)
			}
			// Go reports a dual-stack wildcard listener as [::].
			if ip := net.ParseIP(host); args[1] == "0.0.0.0:0" && (ip == nil || !ip.IsUnspecified()) {
				t.Errorf("--listen 0.0.0.0:0 --allow-remote listens on %s", addr)
			}
			dial := net.JoinHostPort(host, port)
			if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
				dial = net.JoinHostPort("127.0.0.1", port)
			}
			conn, err := net.DialTimeout("tcp", dial, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			c := newClient(t, conn)
			c.Initialize()
			c.OK("disconnect", nil, nil)
			c.ExpectClosed()
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if code := waitExit(t, cmd); code != 0 {
				t.Errorf("exit status %d; stderr: %s", code, stderr)
			}
		})
	}
}

// TestCLIMaxThreads: --max-threads caps the thread list of every session, and the client is told.
func TestCLIMaxThreads(t *testing.T) {
	tg := testtarget.Start(t, "3.14", "tree.py")
	testtarget.WatchState(t, tg.PID)
	cmd, stdin, stdout, stderr := startCLI(t, "dap", "--max-threads", "5")
	c := newClient(t, daptest.Stdio(stdin, stdout))
	c.attachAndStop(map[string]any{"processId": tg.PID})
	threads := c.Threads()
	if len(threads) != 5 || threads[0].Name != mainThreadRow(tg.PID) || !strings.HasPrefix(threads[4].Name, "… 10 more tasks in ") {
		t.Errorf("--max-threads 5: threads %v, want the main thread, 3 tasks and a row saying how many more there are", threads)
	}
	if notice := c.WaitOutput("maxThreads"); !strings.Contains(notice, "3 of 13 tasks") {
		t.Errorf("cap notice %q", notice)
	}
	c.OK("disconnect", nil, nil)
	c.ExpectClosed()
	if code := waitExit(t, cmd); code != 0 {
		t.Errorf("exit status %d; stderr: %s", code, stderr)
	}
}
