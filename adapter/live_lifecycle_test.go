package adapter

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-dap"

	"github.com/aioscope/aioscope/internal/daptest"
	"github.com/aioscope/aioscope/internal/testtarget"
)

func TestLivePauseContinueRefresh(t *testing.T) {
	liveTest(t, "tree.py", nil, func(t *testing.T, tg *testtarget.Target, c *client) {
		c.attachAndStop(map[string]any{"processId": tg.PID, "refreshInterval": 100})
		var cont dap.ContinueResponseBody
		c.OK("continue", map[string]any{"threadId": 1}, &cont)
		if !cont.AllThreadsContinued {
			t.Errorf("continue response %+v", cont)
		}
		c.Event("continued")
		msgs := c.Drain(time.Second)
		graphs := 0
		for _, m := range msgs {
			if m.Type == "event" && m.Event == "stopped" {
				t.Errorf("stopped event while continued: %s", m.Raw)
			}
			if m.Type == "event" && m.Event == "aioscope/awaitGraph" {
				graphs++
			}
		}
		if graphs < 2 {
			t.Errorf("%d awaitGraph events in 1s with refreshInterval 100ms, want at least 2", graphs)
		}
		// The thread list follows the refreshes while continued.
		if n := len(c.Threads()); n != 14 {
			t.Errorf("%d threads while continued", n)
		}
		// Broken messages while refresh events are being written: answered, and the session
		// goes on.
		c.SendRaw(daptest.Frame([]byte(`{"seq":1000,"type":"request","command":"threads"`)))
		c.WaitOutput("not a JSON object")
		if msg := c.Fail("frobnicate", map[string]any{}); !strings.Contains(msg, "frobnicate") {
			t.Errorf("unknown request: %q", msg)
		}
		if msg := c.Fail("stackTrace", map[string]any{"threadId": "main"}); !strings.Contains(msg, "invalid arguments") {
			t.Errorf("stackTrace with a bad threadId: %q", msg)
		}
		c.OK("pause", map[string]any{"threadId": 1}, nil)
		c.Event("stopped")
		// Refresh events sent before the pause may still be in the backlog; whatever comes
		// after stopped would be a refresh that did not stop.
		c.DiscardBacklog()
		for _, m := range c.Drain(400 * time.Millisecond) {
			if m.Type == "event" && m.Event == "aioscope/awaitGraph" {
				t.Errorf("awaitGraph event after pause: refreshing did not stop")
			}
		}
		// Without refreshInterval, continue publishes nothing.
		c.OK("continue", map[string]any{"threadId": 1}, nil)
		c.Event("continued")
		c.OK("pause", nil, nil)
		c.awaitGraphEvent()
		c.Event("stopped")
		c.OK("disconnect", nil, nil)
		if err := c.waitServed(); err != nil {
			t.Errorf("Serve: %v", err)
		}
		testtarget.ExpectRunning(t, tg.PID)
	})
}

func TestLiveTargetExits(t *testing.T) {
	for _, tc := range []struct {
		version string
		refresh int
	}{{"3.14", 0}, {"3.14", 50}, {"3.15", 0}, {"3.15", 50}} {
		version, refresh := tc.version, tc.refresh
		t.Run(version+"/refresh"+strconv.Itoa(refresh), func(t *testing.T) {
			t.Parallel()
			tg, c := liveSession(t, version, "tree.py")
			c.attachAndStop(map[string]any{"processId": tg.PID, "refreshInterval": refresh})
			if refresh > 0 {
				c.OK("continue", nil, nil)
				c.awaitGraphEvent()
			}
			if err := syscall.Kill(tg.PID, syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			c.Event("exited")
			c.Event("terminated")
			if msg := c.Fail("pause", nil); !strings.Contains(msg, "exited") {
				t.Errorf("pause after the target exited: %q", msg)
			}
			c.OK("disconnect", nil, nil)
			if err := c.waitServed(); err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
}

// cliMessage is what `aioscope ps PID` prints for a process it cannot read, without the
// "aioscope: " prefix: the adapter must say the same.
func cliMessage(t *testing.T, pid int) string {
	t.Helper()
	out, err := runCLI(t, nil, "ps", strconv.Itoa(pid))
	if err == nil {
		t.Fatalf("aioscope ps %d succeeded, want a failure", pid)
	}
	return strings.TrimPrefix(strings.TrimSpace(out), "aioscope: ")
}

func TestLiveBadAttach(t *testing.T) {
	tg := testtarget.Start(t, "3.15", "tree.py")
	testtarget.WatchState(t, tg.PID)
	c := startSession(t, NewServer(Config{}))
	c.Initialize()

	for _, args := range []any{nil, map[string]any{}, map[string]any{"processId": nil}, "1234", []int{1}} {
		if msg := c.Fail("attach", args); !strings.Contains(msg, "processId") {
			t.Errorf("attach %v: %q, want a message about processId", args, msg)
		}
	}
	for _, pid := range []any{"1234", strconv.Itoa(tg.PID), 12.5, -3, 0, true, 1 << 40} {
		if msg := c.Fail("attach", map[string]any{"processId": pid}); !strings.HasPrefix(msg, "invalid processId") {
			t.Errorf("attach processId %v: %q", pid, msg)
		}
	}
	for _, bad := range []map[string]any{{"refreshInterval": -1}, {"refreshInterval": "100"}, {"retries": -1}, {"maxThreads": "x"}, {"mainThreadOnly": 1}} {
		bad["processId"] = tg.PID
		if msg := c.Fail("attach", bad); !strings.HasPrefix(msg, "invalid ") {
			t.Errorf("attach %v: %q", bad, msg)
		}
	}
	// Requests that need a process fail politely before attach.
	for _, cmd := range []string{"threads", "stackTrace", "scopes", "variables", "pause", "continue", "aioscope/snapshot"} {
		if msg := c.Fail(cmd, map[string]any{"threadId": 1, "frameId": 1, "variablesReference": 1}); !strings.Contains(msg, "not attached") {
			t.Errorf("%s before attach: %q", cmd, msg)
		}
	}

	// Processes that cannot be read: the CLI's message, word for word. Each case is a subtest, so
	// that an interpreter missing outside CI skips only its own case.
	cases := []struct {
		name string
		pid  func(t *testing.T) int
		want string
	}{
		{"nonexistent", exitedPID, "no process with PID"},
		{"not python", startSleep, "is not a Python process"},
		{"python 3.13", func(t *testing.T) int { return testtarget.Start(t, "3.13", "tree.py").PID }, "3.13"},
		{"no asyncio", func(t *testing.T) int { return testtarget.Start(t, "3.14", "noasyncio.py").PID }, "has not imported asyncio"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The session's client reports to the subtest while it runs.
			defer c.ReportTo(t)()
			pid := tc.pid(t)
			msg := c.Fail("attach", map[string]any{"processId": pid})
			if cli := cliMessage(t, pid); msg != cli {
				t.Errorf("adapter says %q, the CLI %q", msg, cli)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("%q does not mention %q", msg, tc.want)
			}
		})
	}

	// The adapter is still there for a good attach, and only one.
	c.OK("attach", map[string]any{"processId": tg.PID}, nil)
	c.OK("configurationDone", nil, nil)
	c.Event("stopped")
	if msg := c.Fail("attach", map[string]any{"processId": tg.PID}); !strings.Contains(msg, "already attached") {
		t.Errorf("second attach: %q", msg)
	}
	c.OK("disconnect", nil, nil)
}

// exitedPID returns the PID of a process that has exited and been reaped.
func exitedPID(t *testing.T) int {
	t.Helper()
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(p.Pid))); err == nil {
		t.Skipf("PID %d was reused at once", p.Pid)
	}
	return p.Pid
}

// startSleep starts a process that is not Python.
func startSleep(t *testing.T) int {
	t.Helper()
	p, err := os.StartProcess("/bin/sleep", []string{"sleep", "600"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.Kill()
		_, _ = p.Wait()
	})
	// Wait until the exec has happened, so that the process is sleep and not a copy of the test.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if exe, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(p.Pid), "exe")); err == nil && strings.HasSuffix(exe, "sleep") {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	return p.Pid
}
