package awaittree

import (
	"slices"
	"strings"
	"testing"

	"github.com/aioscope/aioscope/snapshot"
	"github.com/aioscope/aioscope/snapshot/cycles"
)

func fr(function, file string, line int) snapshot.Frame {
	return snapshot.Frame{Function: function, File: file, Line: line, HasLine: true, EndLine: -1, Column: -1, EndColumn: -1}
}

func noLine(function, file string) snapshot.Frame {
	return snapshot.Frame{Function: function, File: file, EndLine: -1, Column: -1, EndColumn: -1}
}

func TestFormatFrame(t *testing.T) {
	for _, c := range []struct {
		f    snapshot.Frame
		want string
	}{
		{fr("main", "/app/main.py", 19), "main /app/main.py:19"},
		{fr("main", "", 0), "main"},
		{fr("main", "app.py", 0), "main app.py:0"},
		{fr("main", "", 7), "main :7"},
		{fr("main", "~", 0), "main ~:0"},
		{fr("main", "app.py", -1), "main app.py:-1"},
		{noLine("<unreadable frame>", "~"), "<unreadable frame>"},
		{noLine("big", ""), "big"},
		{noLine("<unknown function>", "app.py"), "<unknown function> app.py"},
		{fr("TaskGroup._aexit", "/usr/lib/python3.14/asyncio/taskgroups.py", 121), "TaskGroup._aexit /usr/lib/python3.14/asyncio/taskgroups.py:121"},
		{fr("処理", "путь.py", 3), "処理 путь.py:3"},
	} {
		if got := FormatFrame(c.f); got != c.want {
			t.Errorf("FormatFrame(%+v) = %q, want %q", c.f, got, c.want)
		}
	}
}

const tableHead = "tid        task id              task name            coroutine stack                                    awaiter chain                                      awaiter name    awaiter id     \n" +
	"------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------\n"

func TestFormatTableEmpty(t *testing.T) {
	if got := FormatTable(nil); got != tableHead {
		t.Errorf("got %q", got)
	}
	if len(strings.Split(tableHead, "\n")[0]) != 10+1+20+1+20+1+50+1+50+1+15+1+15 {
		t.Error("header width")
	}
}

// TestFormatTableWidths checks Python's f"{s:<N}": padding counts code points (so a wide CJK
// character or an emoji counts as one), and a longer value is never cut but shifts the rest of
// the line.
func TestFormatTableWidths(t *testing.T) {
	long := strings.Repeat("x", 25)
	tasks := []snapshot.Task{
		{ID: 0x7f12ab000010, Name: "下载任务", TID: 4242, Frames: []snapshot.Frame{fr("sleep", "", 0), fr("main", "", 0)}},
		{ID: 0x7f12ab000020, Name: "emoji-😀", TID: 4242, AwaitedBy: []snapshot.Awaiter{
			{ID: 0x7f12ab000010, IsTask: true, Frames: []snapshot.Frame{fr("TaskGroup._aexit", "", 0), fr("main", "", 0)}},
			{ID: 0x99, Frames: nil},
		}},
		{ID: 3, Name: long, TID: 0},
	}
	rows := Table(tasks)
	want := []Row{
		{"4242", "0x7f12ab000010", "下载任务", "sleep -> main", "", "", "0x0"},
		{"4242", "0x7f12ab000020", "emoji-😀", "", "TaskGroup._aexit -> main", "下载任务", "0x7f12ab000010"},
		{"4242", "0x7f12ab000020", "emoji-😀", "", "", "Unknown", "0x99"},
		{"0", "0x3", long, "", "", "", "0x0"},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows %q", rows)
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d = %q, want %q", i, rows[i], want[i])
		}
	}
	pad := func(s string, n int) string {
		return s + strings.Repeat(" ", n)
	}
	wantText := tableHead +
		"4242       0x7f12ab000010       " + pad("下载任务", 16) + " " + pad("sleep -> main", 37) + " " + pad("", 50) + " " + pad("", 15) + " " + pad("0x0", 12) + "\n" +
		"4242       0x7f12ab000020       " + pad("emoji-😀", 13) + " " + pad("", 50) + " " + pad("TaskGroup._aexit -> main", 26) + " " + pad("下载任务", 11) + " " + pad("0x7f12ab000010", 1) + "\n" +
		"4242       0x7f12ab000020       " + pad("emoji-😀", 13) + " " + pad("", 50) + " " + pad("", 50) + " " + pad("Unknown", 8) + " " + pad("0x99", 11) + "\n" +
		"0          0x3                  " + long + " " + pad("", 50) + " " + pad("", 50) + " " + pad("", 15) + " " + pad("0x0", 12) + "\n"
	if got := FormatTable(rows); got != wantText {
		t.Errorf("FormatTable\n got %q\nwant %q", got, wantText)
	}
}

// checkRender builds the tree of tasks and checks that Render writes want.
func checkRender(t *testing.T, tasks []snapshot.Task, want string) []*Node {
	t.Helper()
	roots, err := Build(tasks)
	if err != nil {
		t.Fatal(err)
	}
	if got := Render(roots); got != want {
		t.Errorf("Render\n got %q\nwant %q", got, want)
	}
	return roots
}

func TestRenderShapes(t *testing.T) {
	tg := []snapshot.Frame{fr("TaskGroup._aexit", "taskgroups.py", 121), fr("TaskGroup.__aexit__", "taskgroups.py", 72), fr("main", "app.py", 19)}
	tasks := []snapshot.Task{
		{ID: 1, Name: "Task-1", Frames: tg},
		{ID: 2, Name: "下载任务", Frames: []snapshot.Frame{fr("sleep", "tasks.py", 702), fr("worker", "app.py", 8)},
			AwaitedBy: []snapshot.Awaiter{{ID: 1, IsTask: true, Frames: tg}}},
		{ID: 3, Name: "emoji-😀 " + strings.Repeat("長", 40), Frames: []snapshot.Frame{fr("worker", "app.py", 8)},
			AwaitedBy: []snapshot.Awaiter{{ID: 1, IsTask: true, Frames: tg}}},
		// Awaited by something that is not a task: CPython drops it and its subtree.
		{ID: 4, Name: "orphan", AwaitedBy: []snapshot.Awaiter{{ID: 0xdead}}},
		{ID: 5, Name: "under-orphan", AwaitedBy: []snapshot.Awaiter{{ID: 4, IsTask: true}}},
		{ID: 6, Name: "idle"},
	}
	want := "└── (T) Task-1\n" +
		"    └──  main app.py:19\n" +
		"        └──  TaskGroup.__aexit__ taskgroups.py:72\n" +
		"            └──  TaskGroup._aexit taskgroups.py:121\n" +
		"                ├── (T) 下载任务\n" +
		"                │   └──  worker app.py:8\n" +
		"                │       └──  sleep tasks.py:702\n" +
		"                └── (T) emoji-😀 " + strings.Repeat("長", 40) + "\n" +
		"                    └──  worker app.py:8\n" +
		"└── (T) idle\n"
	roots := checkRender(t, tasks, want)
	if len(roots) != 2 || roots[0].Kind != Task || roots[0].TaskID != 1 || roots[1].TaskID != 6 {
		t.Errorf("roots %+v", roots)
	}
	var sb strings.Builder
	if err := WriteTree(&sb, roots); err != nil || sb.String() != want {
		t.Errorf("WriteTree: %v %q", err, sb.String())
	}
}

// TestBuildSharedTask checks that a task awaited by two tasks is printed under both, and that
// identical frames under one parent become one node.
func TestBuildSharedTask(t *testing.T) {
	tasks := []snapshot.Task{
		{ID: 1, Name: "a"},
		{ID: 2, Name: "b"},
		{ID: 3, Name: "shared", Frames: []snapshot.Frame{fr("sleep", "", 0)}, AwaitedBy: []snapshot.Awaiter{
			{ID: 1, IsTask: true, Frames: []snapshot.Frame{fr("f", "", 0)}},
			{ID: 2, IsTask: true, Frames: []snapshot.Frame{fr("g", "", 0)}},
			{ID: 1, IsTask: true, Frames: []snapshot.Frame{fr("f", "", 0)}},
		}},
		{ID: 4, Name: "sibling", AwaitedBy: []snapshot.Awaiter{{ID: 1, IsTask: true, Frames: []snapshot.Frame{fr("f", "", 0)}}}},
	}
	want := "└── (T) a\n" +
		"    └──  f\n" +
		"        ├── (T) shared\n" +
		"        │   └──  sleep\n" +
		"        └── (T) sibling\n" +
		"└── (T) b\n" +
		"    └──  g\n" +
		"        └── (T) shared\n" +
		"            └──  sleep\n"
	roots := checkRender(t, tasks, want)
	if roots[0].Children[0].Children[0] != roots[1].Children[0].Children[0] {
		t.Error("the shared task should be one node")
	}
}

func TestCycleErrorText(t *testing.T) {
	tasks := []snapshot.Task{
		{ID: 0xa, Name: "A", AwaitedBy: []snapshot.Awaiter{{ID: 0xb, IsTask: true}}},
		{ID: 0xb, Name: "B", AwaitedBy: []snapshot.Awaiter{{ID: 0xa, IsTask: true}}},
		{ID: 0xc, Name: "selfish", AwaitedBy: []snapshot.Awaiter{{ID: 0xc, IsTask: true}}},
	}
	roots, err := Build(tasks)
	ce, ok := err.(*CycleError)
	if !ok || roots != nil {
		t.Fatalf("Build = %v, %v", roots, err)
	}
	want := "ERROR: await-graph contains cycles - cannot print a tree!\n\ncycle: B → A → B\ncycle: selfish → selfish\n"
	if ce.Error() != want || ce.Format() != want {
		t.Errorf("got %q", ce.Error())
	}
	unnamed := &CycleError{Cycles: [][]uint64{{0x7f00, 0x7f10, 0x7f00}}, Names: map[uint64]string{0x7f10: "x"}}
	if got := unnamed.Format(); got != "ERROR: await-graph contains cycles - cannot print a tree!\n\ncycle: 0x7f00 → x → 0x7f00\n" {
		t.Errorf("got %q", got)
	}
}

func TestEmpty(t *testing.T) {
	roots, err := Build(nil)
	if err != nil || len(roots) != 0 || Render(roots) != "" {
		t.Errorf("Build(nil) = %v, %v", roots, err)
	}
	if len(Table(nil)) != 0 || cycles.Find(nil) != nil {
		t.Error("empty input")
	}
}

// lineCounter is an io.Writer that keeps only the number of lines, bytes and the last line.
type lineCounter struct {
	lines, bytes int
	last         string
}

func (c *lineCounter) Write(p []byte) (int, error) {
	c.lines += strings.Count(string(p), "\n")
	c.bytes += len(p)
	c.last = string(p)
	return len(p), nil
}

// writeCounted builds the tree of tasks, which must have one root, and writes it to a
// lineCounter.
func writeCounted(t *testing.T, tasks []snapshot.Task) lineCounter {
	t.Helper()
	roots, err := Build(tasks)
	if err != nil || len(roots) != 1 {
		t.Fatalf("Build: %d roots, %v", len(roots), err)
	}
	var c lineCounter
	if err := WriteTree(&c, roots); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestDeepChain checks that a 10,000-deep await chain (which makes CPython's tools raise
// RecursionError) is handled without exhausting the stack.
func TestDeepChain(t *testing.T) {
	const depth = 10000
	tasks := make([]snapshot.Task, depth)
	for i := range tasks {
		tasks[i] = snapshot.Task{ID: uint64(0x7f0000000000 + 16*i), Name: "t"}
		if i > 0 {
			tasks[i].AwaitedBy = []snapshot.Awaiter{{ID: tasks[i-1].ID, IsTask: true}}
		}
	}
	c := writeCounted(t, tasks)
	if c.lines != depth || c.last != strings.Repeat(" ", 4*(depth-1))+"└── (T) t\n" {
		t.Errorf("%d lines, last %q...", c.lines, c.last[len(c.last)-20:])
	}

	// Closing the chain into one big cycle.
	tasks[0].AwaitedBy = []snapshot.Awaiter{{ID: tasks[depth-1].ID, IsTask: true}}
	cycles := cycles.Find(tasks)
	if len(cycles) != 1 || len(cycles[0]) != depth+1 || cycles[0][0] != cycles[0][depth] {
		t.Fatalf("%d cycles", len(cycles))
	}
	if _, err := Build(tasks); err == nil {
		t.Error("no cycle error")
	}

	// A deep chain of coroutine frames in one task.
	frames := make([]snapshot.Frame, depth)
	for i := range frames {
		frames[i] = fr("f", "", 0)
	}
	roots, err := Build([]snapshot.Task{{ID: 1, Name: "deep", Frames: frames}})
	if err != nil {
		t.Fatal(err)
	}
	c = lineCounter{}
	if err := WriteTree(&c, roots); err != nil || c.lines != depth+1 {
		t.Errorf("%d lines, %v", c.lines, err)
	}
}

// TestManyTasks runs 100,000 tasks in one TaskGroup through everything.
func TestManyTasks(t *testing.T) {
	const n = 100000
	tg := []snapshot.Frame{fr("TaskGroup._aexit", "taskgroups.py", 121), fr("main", "app.py", 19)}
	tasks := make([]snapshot.Task, n)
	tasks[0] = snapshot.Task{ID: 0x7f0000000000, Name: "Task-1", TID: 1, Frames: tg}
	for i := 1; i < n; i++ {
		tasks[i] = snapshot.Task{
			ID: uint64(0x7f0000000000 + 80*i), Name: "worker", TID: 1,
			Frames:    []snapshot.Frame{fr("sleep", "tasks.py", 702), fr("work", "app.py", 8)},
			AwaitedBy: []snapshot.Awaiter{{ID: 0x7f0000000000, IsTask: true, Frames: tg}},
		}
	}
	if rows := Table(tasks); len(rows) != n {
		t.Errorf("%d rows", len(rows))
	}
	if c := cycles.Find(tasks); c != nil {
		t.Errorf("cycles %v", c)
	}
	c := writeCounted(t, tasks)
	if want := 3 + 3*(n-1); c.lines != want {
		t.Errorf("%d lines, want %d", c.lines, want)
	}
	if c.last != "                    └──  sleep tasks.py:702\n" {
		t.Errorf("last line %q", c.last)
	}
}

// TestSharedFrames checks that frames shared between tasks, as a snapshot shares identical
// chains, print exactly as separate copies of them do: whole slices, prefixes and suffixes of
// one backing array, and distinct frames with the same text (merged into one tree node).
func TestSharedFrames(t *testing.T) {
	chain := []snapshot.Frame{fr("sleep", "tasks.py", 702), fr("work", "app.py", 8), fr("main", "app.py", 19)}
	twin := []snapshot.Frame{fr("sleep", "tasks.py", 702), fr("work", "app.py", 8)}
	tasks := []snapshot.Task{
		{ID: 0x100, Name: "main", TID: 1, Frames: chain[2:]},
		{ID: 0x200, Name: "a", TID: 1, Frames: chain[:2], AwaitedBy: []snapshot.Awaiter{{ID: 0x100, IsTask: true, Frames: chain[2:]}}},
		{ID: 0x300, Name: "b", TID: 2, Frames: chain[:1], AwaitedBy: []snapshot.Awaiter{{ID: 0x100, IsTask: true, Frames: chain[1:]}}},
		{ID: 0x400, Name: "c", TID: 1, Frames: twin, AwaitedBy: []snapshot.Awaiter{{ID: 0x100, IsTask: true, Frames: chain}}},
		{ID: 0x500, Name: "d", TID: 2, Frames: chain[:2]},
	}
	copied := make([]snapshot.Task, len(tasks))
	for i, task := range tasks {
		copied[i] = task
		copied[i].Frames = slices.Clone(task.Frames)
		copied[i].AwaitedBy = slices.Clone(task.AwaitedBy)
		for j := range copied[i].AwaitedBy {
			copied[i].AwaitedBy[j].Frames = slices.Clone(task.AwaitedBy[j].Frames)
		}
	}
	if got, want := FormatTable(Table(tasks)), FormatTable(Table(copied)); got != want {
		t.Errorf("table of shared frames:\n%s\nof copies:\n%s", got, want)
	}
	shared, err := Build(tasks)
	if err != nil {
		t.Fatal(err)
	}
	separate, err := Build(copied)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := Render(shared), Render(separate); got != want {
		t.Errorf("tree of shared frames:\n%s\nof copies:\n%s", got, want)
	}
	if rows := Table(tasks); rows[1].CoroutineStack != "sleep -> work" || rows[2].AwaiterChain != "work -> main" || rows[2].TID != "2" {
		t.Errorf("rows %+v", rows[1:3])
	}
}
