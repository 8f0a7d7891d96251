package lsp

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aioscope/aioscope/internal/testtarget"
)

// lineOf returns the 0-based line of the file at path that contains text, once.
func lineOf(t *testing.T, path, text string) int {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	found := -1
	for i, l := range strings.Split(string(src), "\n") {
		if strings.Contains(l, text) {
			if found >= 0 {
				t.Fatalf("%q is on two lines of %s", text, path)
			}
			found = i
		}
	}
	if found < 0 {
		t.Fatalf("%q is not in %s", text, path)
	}
	return found
}

// TestLiveHealth attaches to health.py, whose task stuck-forever starts waiting on an Event that
// is never set, whose sleeper sleeps from a moment it prints, and one of whose callbacks blocks
// the loop for 300 ms: the stuck task is a warning where it waits, the block a warning where the
// loop ran, gone a few seconds after it ended, and the lenses say how long the tasks waited, as
// the target's own clock says.
func TestLiveHealth(t *testing.T) {
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			tg := testtarget.Start(t, version, "health.py", "0.5", "300", "1")
			path := testtarget.ScenarioPath("health.py")
			stuckLine := lineOf(t, path, "await ev.wait()")
			blockLine := lineOf(t, path, "time.sleep(ms / 1000)")
			sleepLine := lineOf(t, path, "await asyncio.sleep(SLEEP)")
			c := startClient(t, NewServer(Config{}))
			c.initialize(map[string]any{"processId": tg.PID, "refreshInterval": 200, "stuckThreshold": 1500}, nil)
			uri := c.open(path)

			byCode := func(ds []Diagnostic, code string) []Diagnostic {
				var out []Diagnostic
				for _, d := range ds {
					if d.Code == code {
						out = append(out, d)
					}
				}
				return out
			}
			// While the block goes on, the warning says so ("for 0.2 s so far"); once it has
			// ended, how long it lasted.
			ended := func(ds []Diagnostic) bool {
				b := byCode(ds, "loop-blocked")
				return len(b) > 0 && !strings.Contains(b[0].Message, "so far")
			}
			ds := c.diagnosticsFor(uri, ended)
			seen := time.Now()
			blocked := byCode(ds, "loop-blocked")
			if len(blocked) != 1 || blocked[0].Severity != severityWarning || blocked[0].Range.Start.Line != blockLine ||
				!regexp.MustCompile(`^event loop blocked here for 0\.[234] s at \d\d:\d\d:\d\d \(thread \d+\)$`).MatchString(blocked[0].Message) {
				t.Errorf("blocked-loop warnings: %+v", blocked)
			}
			truth := testtarget.Printed(t, tg.Stdout(), "BLOCK")
			if len(truth) != 1 {
				t.Fatalf("the target printed %d blocks", len(truth))
			}

			ds = c.diagnosticsFor(uri, func(ds []Diagnostic) bool { return len(byCode(ds, "stuck-task")) > 0 })
			stuck := byCode(ds, "stuck-task")
			if len(stuck) != 1 || stuck[0].Severity != severityWarning || stuck[0].Range.Start.Line != stuckLine ||
				!regexp.MustCompile(`^stuck: task stuck-forever has waited here for [12] s and awaits no other task$`).MatchString(stuck[0].Message) {
				t.Errorf("stuck warnings: %+v", stuck)
			}
			if h := c.hover(uri, stuckLine); h == nil || !regexp.MustCompile("\n- `stuck-forever` `wait_forever\\(ev=<asyncio.locks.Event object at 0x[0-9a-f]+ \\[unset, waiters:1\\]>\\)` — waits in `Event.wait` — awaited by Task-1 — waiting [12] s — stuck\n").MatchString(h.Contents.Value) {
				t.Errorf("hover on the stuck line: %+v", h)
			}

			// The sleeper's lens: its wait, exact since its timer was read, is the time since it
			// printed that it began to sleep.
			ls := c.lenses(uri)
			var title string
			for _, l := range ls {
				if l.Range.Start.Line == sleepLine && l.Command != nil {
					title = l.Command.Title
				}
			}
			sleeping := testtarget.Printed(t, tg.Stdout(), "SLEEPING")
			m := regexp.MustCompile(`^⏸ 1 task · sleeper · waiting (\d+) s$`).FindStringSubmatch(title)
			if m == nil || len(sleeping) != 1 {
				t.Fatalf("lens on the sleeper's line: %q (lenses: %s)", title, lensTitles(ls))
			}
			got, _ := strconv.Atoi(m[1])
			if want := time.Since(testtarget.UnixTime(sleeping[0][0])); time.Duration(got)*time.Second > want || want-time.Duration(got)*time.Second > 2*time.Second {
				t.Errorf("the sleeper has waited %v; the lens says %q", want, title)
			}

			// The block ended long ago: the warning goes.
			c.diagnosticsFor(uri, func(ds []Diagnostic) bool { return len(byCode(ds, "loop-blocked")) == 0 })
			if gone := time.Since(seen); gone < blockShownFor-time.Second || gone > blockShownFor+3*time.Second {
				t.Errorf("the blocked-loop warning went %v after it came", gone)
			}
		})
	}
}
