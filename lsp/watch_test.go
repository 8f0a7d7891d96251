package lsp

import (
	"strings"
	"testing"
	"time"

	"github.com/aioscope/aioscope/internal/faketarget"
	"github.com/aioscope/aioscope/internal/srcpath"
	"github.com/aioscope/aioscope/snapshot"
)

// TestStuckWarnings: a leaf task that waits at one place for stuckThreshold is a warning where it
// waits, and the lenses and hovers say how long tasks have waited; the warning goes when the task
// moves on. Tasks in asyncio.sleep() and tasks that await others are never stuck.
func TestStuckWarnings(t *testing.T) {
	file := sourceFile(t)
	before := cycleSnapshot(file)
	moved := fakeSnapshot(task(0xc, "w", []snapshot.Frame{fr("worker", file, 7, 4, 29)}))
	f := faketarget.New(before)
	c := startClient(t, fakeServer(f))
	c.initialize(map[string]any{"processId": 5, "refreshInterval": 0, "stuckThreshold": 1000}, nil)
	uri := c.open(file)
	c.waitLenses(uri, func(ls []CodeLens) bool { return len(ls) == 2 })
	time.Sleep(1100 * time.Millisecond)
	if err := c.Call("workspace/executeCommand", map[string]any{"command": "aioscope.refresh"}, nil); err != nil {
		t.Fatal(err)
	}
	ds := c.diagnosticsFor(uri, func(ds []Diagnostic) bool { return len(ds) == 3 })
	var stuck []Diagnostic
	for _, d := range ds {
		if d.Code == "stuck-task" {
			stuck = append(stuck, d)
		}
	}
	if len(stuck) != 1 || stuck[0].Severity != severityWarning || stuck[0].Range.Start.Line != 2 ||
		!strings.HasPrefix(stuck[0].Message, "stuck: task w has waited here for ≥ 1 s and awaits no other task") {
		t.Errorf("stuck warnings: %+v", ds)
	}
	ls := c.lenses(uri)
	if got := lensTitles(ls); got != "⏸ 1 task · w · waiting ≥ 1 s | ⏸ 2 tasks · A, B · waiting up to ≥ 1 s" {
		t.Errorf("lenses: %s", got)
	}
	if h := c.hover(uri, 2); h == nil || !strings.Contains(h.Contents.Value, "`w` — waiting ≥ 1 s — stuck") {
		t.Errorf("hover: %+v", h)
	}
	f.Set(nil, moved)
	if err := c.Call("workspace/executeCommand", map[string]any{"command": "aioscope.refresh"}, nil); err != nil {
		t.Fatal(err)
	}
	if ds := c.diagnosticsFor(uri, func(ds []Diagnostic) bool { return len(ds) == 0 }); len(ds) != 0 {
		t.Errorf("diagnostics after the task moved on: %+v", ds)
	}
}

// TestStuckPlaces: stuck tasks at one line are one warning, naming the longest waiting first. A
// wait whose start two snapshots 5 s apart bound is shown as a lower bound.
func TestStuckPlaces(t *testing.T) {
	at := time.Unix(1000, 0)
	here := []snapshot.Frame{fr("wait", stdlibLocks, 200, 8, 20), fr("worker", "/a.py", 3, 4, 10)}
	w := newWatch(10*time.Second, 0, false)
	snap := func(sec int, tasks ...snapshot.Task) *snapshot.Snapshot {
		s := fakeSnapshot(tasks...)
		s.CapturedAt = at.Add(time.Duration(sec) * time.Second)
		return s
	}
	w.observe(snap(0, task(1, "a", here)), nil)
	w.observe(snap(5, task(1, "a", here), task(2, "b", here), task(3, "c", here), task(4, "d", here), task(5, "e", here)), nil)
	s := snap(16, task(1, "a", here), task(2, "b", here), task(3, "c", here), task(4, "d", here), task(5, "e", here))
	o := w.observe(s, nil)
	ps := stuckProblems(s, srcpath.New(0), o.waits)
	if len(ps) != 1 || len(ps[0].at) != 1 {
		t.Fatalf("problems: %+v", ps)
	}
	if got, want := ps[0].at[0].message, "stuck: 5 tasks have waited here for up to ≥ 16 s and await no other task: a, b, c, …"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	if ps[0].at[0].frame.Line != 3 {
		t.Errorf("shown at %+v, want the program's own frame", ps[0].at[0].frame)
	}
	if !o.waits[0].stuck || !o.waits[1].stuck || o.waits[1].d != 11*time.Second || !o.waits[1].atLeast {
		t.Errorf("waits: %+v", o.waits)
	}
}

const stdlibLocks = "/usr/lib/python3.15/asyncio/locks.py"

func TestRenderText(t *testing.T) {
	for _, tc := range []struct {
		w    wait
		want string
	}{
		{wait{d: 500 * time.Millisecond}, ""},
		{wait{d: 41 * time.Second, atLeast: true}, "≥ 41 s"},
		{wait{d: 185 * time.Second}, "3 min 5 s"},
		{wait{d: 2*time.Hour + 4*time.Minute}, "2 h 4 min"},
	} {
		if got := waitText(tc.w); got != tc.want {
			t.Errorf("waitText(%v) = %q, want %q", tc.w, got, tc.want)
		}
	}
	long := strings.Repeat("ż", 40)
	if got := clipName(long); len(got) > maxNameInLabel+len("…") || !strings.HasSuffix(got, "…") || !strings.HasPrefix(long, strings.TrimSuffix(got, "…")) {
		t.Errorf("clipName cut a character: %q", got)
	}
	members := []uint64{1, 2, 3}
	name := func(id uint64) string { return string(rune('A' + id - 1)) }
	if got := cycleMessage(members, 1, name); got != "await cycle: task B waits for C, which waits for A, which waits for B: none of them can finish" {
		t.Errorf("cycleMessage: %s", got)
	}
	if p := uriPath("file:///a%20b/c.py"); p != "/a b/c.py" {
		t.Errorf("uriPath: %q", p)
	}
	for _, u := range []string{"untitled:1", "file://host/x.py", "%zz", ""} {
		if p := uriPath(u); p != "" {
			t.Errorf("uriPath(%q) = %q", u, p)
		}
	}
}

func TestThresholdOptions(t *testing.T) {
	o, err := parseOptions([]byte(`{"stuckThreshold": 2500, "blockedThreshold": 0}`), "")
	if err != nil || o.stuck != 2500*time.Millisecond || o.blocked != 0 {
		t.Errorf("options %+v, %v", o, err)
	}
	o, err = parseOptions(nil, "")
	if err != nil || o.stuck != DefaultStuckThreshold || o.blocked != 100*time.Millisecond {
		t.Errorf("defaults %+v, %v", o, err)
	}
}
