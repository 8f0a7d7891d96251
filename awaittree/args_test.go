package awaittree

import (
	"strings"
	"testing"

	"github.com/aioscope/aioscope/snapshot"
)

func args(vars ...string) snapshot.FrameLocals {
	var fl snapshot.FrameLocals
	for i := 0; i+1 < len(vars); i += 2 {
		fl.Vars = append(fl.Vars, snapshot.Variable{Name: vars[i], Kind: "argument", Type: "str", Repr: vars[i+1]})
	}
	return fl
}

func TestFormatFrameArgs(t *testing.T) {
	f := fr("crawl", "/app/crawler.py", 12)
	long := "'https://example.com/" + strings.Repeat("x", 50) + "/end'"
	withLocal := args("site", "'https://example.com'")
	withLocal.Vars = append(withLocal.Vars, snapshot.Variable{Name: "page", Kind: "local", Type: "int", Repr: "3"},
		snapshot.Variable{Name: "depth", Kind: "argument", Err: "the value changed while it was read"})
	for _, c := range []struct {
		locals *snapshot.FrameLocals
		want   string
	}{
		{nil, "crawl /app/crawler.py:12"},
		{&snapshot.FrameLocals{}, "crawl() /app/crawler.py:12"},
		{&withLocal, "crawl(site='https://example.com', depth=?) /app/crawler.py:12"},
		{&snapshot.FrameLocals{Err: "the frame moved on"}, "crawl(?) /app/crawler.py:12"},
		{ptr(args("site", long)), "crawl(site='https://example.c...xxxxxxxxxxxxxx/end') /app/crawler.py:12"},
	} {
		if got := FormatFrameArgs(f, c.locals); got != c.want {
			t.Errorf("FormatFrameArgs(%+v) = %q, want %q", c.locals, got, c.want)
		}
	}
	if got := FormatFrameArgs(noLine("big", ""), ptr(args("n", "1"))); got != "big(n=1)" {
		t.Errorf("without a location: %q", got)
	}
	if got := ShortRepr("'"+strings.Repeat("é", 60)+"'", 10); got != "'éé...ééé'" || len([]rune(got)) != 10 {
		t.Errorf("ShortRepr counts characters: %q", got)
	}
}

func ptr(fl snapshot.FrameLocals) *snapshot.FrameLocals { return &fl }

// TestBuildArgs: the frames of tasks and of awaiters are labelled with the arguments of the task
// they belong to; the tree has the shape Build gives it.
func TestBuildArgs(t *testing.T) {
	mainChain := []snapshot.Frame{fr("TaskGroup._aexit", "taskgroups.py", 121), fr("main", "app.py", 19)}
	workerChain := []snapshot.Frame{fr("sleep", "tasks.py", 702), fr("worker", "app.py", 8)}
	mainLocals := []snapshot.FrameLocals{args("self", "<TaskGroup>"), args("n", "2")}
	tasks := []snapshot.Task{
		{ID: 1, Name: "Task-1", Frames: mainChain, Values: &snapshot.TaskValues{Locals: mainLocals}},
		{ID: 2, Name: "w1", Frames: workerChain, Values: &snapshot.TaskValues{Locals: []snapshot.FrameLocals{args("delay", "5"), args("url", "'a'")}},
			AwaitedBy: []snapshot.Awaiter{{ID: 1, IsTask: true, Frames: mainChain}}},
		{ID: 3, Name: "w2", Frames: workerChain, Values: &snapshot.TaskValues{Locals: []snapshot.FrameLocals{args("delay", "5"), args("url", "'b'")}},
			AwaitedBy: []snapshot.Awaiter{{ID: 1, IsTask: true, Frames: mainChain}}},
		// No locals: plain labels.
		{ID: 4, Name: "w3", Frames: workerChain, AwaitedBy: []snapshot.Awaiter{{ID: 1, IsTask: true, Frames: mainChain}}},
	}
	roots, err := BuildArgs(tasks)
	if err != nil {
		t.Fatal(err)
	}
	want := "└── (T) Task-1\n" +
		"    └──  main(n=2) app.py:19\n" +
		"        └──  TaskGroup._aexit(self=<TaskGroup>) taskgroups.py:121\n" +
		"            ├── (T) w1\n" +
		"            │   └──  worker(url='a') app.py:8\n" +
		"            │       └──  sleep(delay=5) tasks.py:702\n" +
		"            ├── (T) w2\n" +
		"            │   └──  worker(url='b') app.py:8\n" +
		"            │       └──  sleep(delay=5) tasks.py:702\n" +
		"            └── (T) w3\n" +
		"                └──  worker app.py:8\n" +
		"                    └──  sleep tasks.py:702\n"
	if got := Render(roots); got != want {
		t.Errorf("Render\n got %s\nwant %s", got, want)
	}
	n := roots[0].Children[0]
	if n.Locals == nil || n.Locals.Vars[0].Name != "n" || n.Frame.Function != "main" {
		t.Errorf("frame node %+v", n)
	}
	plain, err := Build(tasks)
	if err != nil {
		t.Fatal(err)
	}
	if p := Render(plain); strings.Contains(p, "(") && strings.Contains(p, "(n=") {
		t.Errorf("Build shows arguments:\n%s", p)
	}
	if !sameShape(roots, plain) {
		t.Errorf("BuildArgs and Build differ in shape:\n%s\n%s", Render(roots), Render(plain))
	}
	// An awaiter whose chain is not its task's (the task moved on) gets plain labels.
	moved := append([]snapshot.Task(nil), tasks...)
	moved[1].AwaitedBy = []snapshot.Awaiter{{ID: 1, IsTask: true, Frames: []snapshot.Frame{fr("elsewhere", "app.py", 30)}}}
	moved = moved[:2]
	roots, err = BuildArgs(moved)
	if err != nil {
		t.Fatal(err)
	}
	if got := Render(roots); !strings.Contains(got, "  elsewhere app.py:30\n") {
		t.Errorf("an awaiter chain that is not its task's:\n%s", got)
	}
}

func sameShape(a, b []*Node) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Kind != b[i].Kind || a[i].TaskID != b[i].TaskID || !sameShape(a[i].Children, b[i].Children) {
			return false
		}
		if a[i].Kind == Coroutine && FormatFrame(*a[i].Frame) != b[i].Label {
			return false
		}
	}
	return true
}
