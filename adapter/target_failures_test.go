package adapter

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/internal/faketarget"
)

// TestSnapshotErrors: a snapshot that fails mid-session is reported, and a vanished target ends
// the session's view of it.
func TestSnapshotErrors(t *testing.T) {
	f := faketarget.New(fakeSnapshot(task(0x1, "a", nil)))
	c := startSession(t, fakeServer(f, Config{}))
	c.attachAndStop(map[string]any{"processId": os.Getpid(), "refreshInterval": 20})
	f.Set(&inspector.TargetChangedError{PID: os.Getpid(), Attempts: 4, Last: errors.New("moving")})
	if msg := c.Fail("pause", nil); !strings.Contains(msg, "changed too fast") || !strings.Contains(msg, "--retries") {
		t.Errorf("pause with a changing target: %q", msg)
	}
	if msg := c.Fail("aioscope/snapshot", nil); !strings.Contains(msg, "changed too fast") {
		t.Errorf("aioscope/snapshot with a changing target: %q", msg)
	}
	// While continued, the same failure is reported once, not on every tick.
	c.OK("continue", nil, nil)
	msgs := c.Drain(300 * time.Millisecond)
	n := 0
	for _, m := range msgs {
		if m.Event == "output" && strings.Contains(string(m.Body), "changed too fast") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d output events about the failing refresh, want 1", n)
	}
	f.Set(&inspector.ProcessGoneError{PID: os.Getpid()})
	c.Event("exited")
	c.Event("terminated")
	c.OK("threads", nil, nil) // the last snapshot can still be looked at
	c.OK("disconnect", nil, nil)
}

// TestPanicsAreContained: a bug met while reading the target, in a request or outside one (the
// first stop, a refresh), becomes an error response or an output event; the session goes on.
func TestPanicsAreContained(t *testing.T) {
	f := faketarget.New(fakeSnapshot(task(0x1, "a", nil)))
	attach := func(pid int, opts inspector.Options) (Target, error) {
		f.Panic(nil)
		return f, nil
	}
	c := startSession(t, NewServer(Config{Attach: attach}))
	c.Initialize()
	c.OK("attach", map[string]any{"processId": os.Getpid(), "refreshInterval": 20}, nil)
	f.Panic("bad table")
	internalError := func(what string) {
		t.Helper()
		if out := c.WaitOutput("internal error"); !strings.Contains(out, "bad table") {
			t.Errorf("%s: %q", what, out)
		}
	}
	c.OK("configurationDone", nil, nil)
	internalError("the first stop")
	if msg := c.Fail("pause", nil); !strings.Contains(msg, "internal error") || !strings.Contains(msg, "bad table") {
		t.Errorf("pause: %q", msg)
	}
	c.OK("continue", nil, nil)
	internalError("a refresh")
	f.Panic(nil)
	c.OK("pause", nil, nil)
	c.Event("stopped")
	if _, ok := threadsByName(t, c.Threads())["a"]; !ok {
		t.Error("no thread a after the target could be read again")
	}
	c.OK("disconnect", nil, nil)
	if err := c.waitServed(); err != nil {
		t.Errorf("Serve: %v", err)
	}
}
