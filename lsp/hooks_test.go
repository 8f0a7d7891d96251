package lsp

import (
	"strings"
	"testing"
	"time"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/snapshot"
)

// fixedClock says every task has waited d.
type fixedClock struct{ d time.Duration }

func (fixedClock) Observe(*snapshot.Snapshot) {}
func (c fixedClock) Waited(uint64) (time.Duration, bool, bool) {
	return c.d, false, true
}

// TestHooks: a wait clock and findings supplied from outside show in lenses, hovers and
// diagnostics.
func TestHooks(t *testing.T) {
	file := sourceFile(t)
	f := &fakeTarget{snaps: []*snapshot.Snapshot{workers(file, 3)}}
	srv := NewServer(Config{
		Attach: func(int, inspector.Options) (Target, error) { return f, nil },
		Waits:  func() WaitClock { return fixedClock{41 * time.Second} },
		Findings: func(s *snapshot.Snapshot) []Finding {
			return []Finding{
				{Frame: s.Tasks[1].Frames[1], Message: "worker-00 has waited here for 41 s", Code: "stuck-task"},
				{Frame: snapshot.Frame{File: "<string>", Line: 1, HasLine: true}, Message: "not a file: dropped"},
			}
		},
	})
	c := startClient(t, srv)
	c.initialize(map[string]any{"processId": 5, "refreshInterval": 0}, nil)
	uri := c.open(file)
	ls := c.waitLenses(uri, func(ls []CodeLens) bool { return len(ls) == 2 })
	if got := lensTitles(ls); got != "⏸ 3 tasks · worker-00, worker-01, worker-02 · waiting up to 41 s | ⏸ 1 task · main · waiting 41 s" {
		t.Errorf("lenses: %s", got)
	}
	if h := c.hover(uri, 2); h == nil || !strings.Contains(h.Contents.Value, "awaited by main — waiting 41 s") {
		t.Errorf("hover: %+v", h)
	}
	ds := c.diagnosticsFor(uri, func(ds []Diagnostic) bool { return len(ds) > 0 })
	if len(ds) != 1 || ds[0].Severity != severityWarning || ds[0].Code != "stuck-task" || ds[0].Range.Start.Line != 2 ||
		ds[0].Message != "worker-00 has waited here for 41 s" {
		t.Errorf("diagnostics: %+v", ds)
	}
}

func TestFirstSeen(t *testing.T) {
	at := time.Unix(1000, 0)
	here := []snapshot.Frame{fr("worker", "/a.py", 3, 0, 1)}
	there := []snapshot.Frame{fr("worker", "/a.py", 4, 0, 1)}
	snap := func(sec int, tasks ...snapshot.Task) *snapshot.Snapshot {
		return &snapshot.Snapshot{CapturedAt: at.Add(time.Duration(sec) * time.Second), Tasks: tasks}
	}
	c := newFirstSeen()
	c.Observe(snap(0, task(1, "a", here), task(2, "b", here)))
	c.Observe(snap(10, task(1, "a", here), task(2, "b", there), task(3, "c", here)))
	c.Observe(snap(15, task(1, "a", here), task(2, "b", there), task(3, "c", here)))
	for _, tc := range []struct {
		id      uint64
		d       time.Duration
		atLeast bool
		ok      bool
	}{
		{1, 15 * time.Second, true, true}, // there since the first snapshot
		{2, 5 * time.Second, false, true}, // moved at the second
		{3, 5 * time.Second, false, true}, // new at the second
		{4, 0, false, false},              // never seen
	} {
		d, atLeast, ok := c.Waited(tc.id)
		if d != tc.d || atLeast != tc.atLeast || ok != tc.ok {
			t.Errorf("task %d: %v %v %v, want %v %v %v", tc.id, d, atLeast, ok, tc.d, tc.atLeast, tc.ok)
		}
	}
	c.Observe(snap(20, task(2, "b", there)))
	if _, _, ok := c.Waited(1); ok {
		t.Error("a task gone from the snapshot still has a wait")
	}
}

func TestRenderText(t *testing.T) {
	for _, tc := range []struct {
		w    wait
		want string
	}{
		{wait{500 * time.Millisecond, false}, ""},
		{wait{41 * time.Second, true}, "≥ 41 s"},
		{wait{185 * time.Second, false}, "3 min 5 s"},
		{wait{2*time.Hour + 4*time.Minute, false}, "2 h 4 min"},
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
