package adapter

import (
	"os"
	"testing"
	"time"

	"github.com/aioscope/aioscope/internal/faketarget"
)

// TestConfigurationSequences: the first stop comes after configurationDone; a client that sends
// only setExceptionBreakpoints gets it anyway, after a grace period; one that configures before
// attaching gets it after the attach.
func TestConfigurationSequences(t *testing.T) {
	snap := fakeSnapshot(task(0x1, "a", nil))
	start := func(t *testing.T) *client {
		c := startSession(t, fakeServer(faketarget.New(snap), Config{}))
		c.Initialize()
		return c
	}
	// stopsAfter returns the stopped events among the messages within d, failing unless each
	// comes after the response to request seq.
	stopsAfter := func(t *testing.T, c *client, seq int, d time.Duration) int {
		t.Helper()
		answered, stops := false, 0
		for _, m := range c.Drain(d) {
			if m.Type == "response" && m.RequestSeq == seq {
				answered = true
			}
			if m.Type == "event" && m.Event == "stopped" {
				stops++
				if !answered {
					t.Errorf("stopped event before the response to request %d", seq)
				}
			}
		}
		return stops
	}

	t.Run("VS Code", func(t *testing.T) {
		c := start(t)
		c.OK("attach", map[string]any{"processId": os.Getpid()}, nil)
		c.Event("initialized")
		c.OK("setBreakpoints", map[string]any{"source": map[string]any{"path": appMain}, "breakpoints": []any{}}, nil)
		c.OK("setExceptionBreakpoints", map[string]any{"filters": []string{}}, nil)
		time.Sleep(configurationGrace / 3) // a client thinking it over
		seq := c.Send("configurationDone", nil)
		if n := stopsAfter(t, c, seq, configurationGrace+500*time.Millisecond); n != 1 {
			t.Errorf("%d stopped events, want 1", n)
		}
		c.OK("disconnect", nil, nil)
	})
	t.Run("setExceptionBreakpoints only", func(t *testing.T) {
		c := start(t)
		c.OK("attach", map[string]any{"processId": os.Getpid()}, nil)
		c.Event("initialized")
		began := time.Now()
		seq := c.Send("setExceptionBreakpoints", map[string]any{"filters": []string{"all"}})
		if n := stopsAfter(t, c, seq, configurationGrace+500*time.Millisecond); n != 1 {
			t.Errorf("%d stopped events, want 1", n)
		}
		if waited := time.Since(began); waited < configurationGrace {
			t.Errorf("stopped after %v, before the grace period of %v", waited, configurationGrace)
		}
		c.OK("disconnect", nil, nil)
	})
	t.Run("configured before attach", func(t *testing.T) {
		c := start(t)
		c.OK("setExceptionBreakpoints", map[string]any{"filters": []string{}}, nil)
		c.OK("configurationDone", nil, nil)
		seq := c.Send("attach", map[string]any{"processId": os.Getpid()})
		if n := stopsAfter(t, c, seq, 500*time.Millisecond); n != 1 {
			t.Errorf("%d stopped events, want 1", n)
		}
		c.OK("disconnect", nil, nil)
	})
}
