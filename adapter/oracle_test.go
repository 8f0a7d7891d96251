package adapter

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-dap"

	"github.com/aioscope/aioscope/internal/testtarget"
)

// The oracles: what CPython's own tools say about the same live process, and the comparisons of
// what the adapter shows with it.

// treeNode is a node of the tree `python -m asyncio pstree` prints.
type treeNode struct {
	task     bool
	label    string // task name, or "function file:line" for a frame
	parent   *treeNode
	children []*treeNode
}

// parsePSTree parses pstree's output: every line is a prefix of 4-character groups ("│   " or
// "    "), a connector ("└── " or "├── "), and "(T) name" for a task or " label" for a frame.
func parsePSTree(t testing.TB, out string) []*treeNode {
	t.Helper()
	var roots []*treeNode
	var stack []*treeNode // stack[d] is the last node seen at depth d
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		rs := []rune(line)
		depth := 0
		for len(rs) >= 4 && (string(rs[:4]) == "│   " || string(rs[:4]) == "    ") {
			rs = rs[4:]
			depth++
		}
		if len(rs) < 4 || (string(rs[:4]) != "└── " && string(rs[:4]) != "├── ") {
			t.Fatalf("unexpected pstree line %q", line)
		}
		rest := string(rs[4:])
		n := &treeNode{}
		switch {
		case strings.HasPrefix(rest, "(T) "):
			n.task, n.label = true, rest[len("(T) "):]
		case strings.HasPrefix(rest, " "):
			n.label = rest[1:]
		default:
			t.Fatalf("unexpected pstree node %q", line)
		}
		if depth > len(stack) {
			t.Fatalf("pstree line %q is deeper than its parent", line)
		}
		stack = stack[:depth]
		if depth == 0 {
			roots = append(roots, n)
		} else {
			p := stack[depth-1]
			n.parent = p
			p.children = append(p.children, n)
		}
		stack = append(stack, n)
	}
	return roots
}

// pstreeFrame is a frame label split into its parts.
type pstreeFrame struct {
	function, file string
	line           int
	label          bool // an "awaited by" label: function holds the awaiting task's name
}

func splitFrameLabel(t testing.TB, label string) pstreeFrame {
	t.Helper()
	fn, loc, ok := strings.Cut(label, " ")
	if !ok {
		return pstreeFrame{function: label}
	}
	if i := strings.LastIndexByte(loc, ':'); i >= 0 {
		if n, err := strconv.Atoi(loc[i+1:]); err == nil {
			return pstreeFrame{function: fn, file: loc[:i], line: n}
		}
	}
	return pstreeFrame{function: fn, file: loc}
}

// expectedStack is the stack the adapter must show for the task at node n: the task's own frames
// (the chain of frame nodes below it; complete is false when that chain forks, so the frames
// cannot be told from the tree alone), then for each task above it a label and that task's
// frames leading down to n, innermost first.
func expectedStack(t testing.TB, n *treeNode) (frames []pstreeFrame, complete bool) {
	t.Helper()
	var own []pstreeFrame
	complete = true
	for cur := n; ; {
		var next *treeNode
		count := 0
		for _, c := range cur.children {
			if !c.task {
				next = c
				count++
			}
		}
		if count == 0 {
			break
		}
		if count > 1 {
			complete = false
			break
		}
		own = append(own, splitFrameLabel(t, next.label))
		cur = next
	}
	for i := len(own) - 1; i >= 0; i-- {
		frames = append(frames, own[i])
	}
	for cur := n.parent; cur != nil; cur = cur.parent {
		if cur.task {
			frames = append(frames, pstreeFrame{function: cur.label, label: true})
			continue
		}
		frames = append(frames, splitFrameLabel(t, cur.label))
	}
	// The labels come before the frames of the task they name: move each label in front of the
	// frame run that precedes it in the walk up (those frames belong to the labelled task).
	var out []pstreeFrame
	var run []pstreeFrame
	ownDone := false
	for _, f := range frames {
		if !ownDone {
			if len(out) < len(own) {
				out = append(out, f)
				continue
			}
			ownDone = true
		}
		if f.label {
			out = append(out, f)
			out = append(out, run...)
			run = nil
			continue
		}
		run = append(run, f)
	}
	if len(run) > 0 {
		t.Fatalf("pstree frames above the root task: %v", run)
	}
	return out, complete
}

// taskNodes returns every task node of the forest.
func taskNodes(roots []*treeNode) []*treeNode {
	var out []*treeNode
	var walk func(n *treeNode)
	walk = func(n *treeNode) {
		if n.task {
			out = append(out, n)
		}
		for _, c := range n.children {
			walk(c)
		}
	}
	for _, r := range roots {
		walk(r)
	}
	return out
}

// unwinderScript prints the Python stacks of every thread as JSON, read by CPython's own
// _remote_debugging module (3.14 reports FrameInfo.lineno, 3.15 a LocationInfo with columns).
const unwinderScript = `
import _remote_debugging, json, sys
u = _remote_debugging.RemoteUnwinder(int(sys.argv[1]), all_threads=True)
def frames(ti):
    out = []
    for f in ti.frame_info:
        loc = getattr(f, "location", None)
        if loc is not None:
            out.append({"name": f.funcname, "file": f.filename, "line": loc.lineno, "col": loc.col_offset})
        else:
            out.append({"name": f.funcname, "file": f.filename, "line": f.lineno, "col": None})
    return out
threads = []
for item in u.get_stack_trace():
    for ti in getattr(item, "threads", [item]):
        threads.append({"tid": ti.thread_id, "frames": frames(ti)})
print(json.dumps(threads))
`

type unwoundThread struct {
	TID    uint64 `json:"tid"`
	Frames []struct {
		Name string `json:"name"`
		File string `json:"file"`
		Line int    `json:"line"`
		Col  *int   `json:"col"`
	} `json:"frames"`
}

// unwindThreads returns CPython's view of the target's thread stacks.
func unwindThreads(t testing.TB, tg *testtarget.Target) []unwoundThread {
	t.Helper()
	var threads []unwoundThread
	readWithCPython(t, tg, "RemoteUnwinder", unwinderScript, &threads)
	return threads
}

// readWithCPython runs script with the target's interpreter: it reads the target, whose PID is
// its argument, with CPython's _remote_debugging module and prints JSON, which is decoded into v.
// what names the reading in failure messages.
func readWithCPython(t testing.TB, tg *testtarget.Target, what, script string, v any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, tg.Python, "-I", "-c", script, strconv.Itoa(tg.PID)).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("CPython's %s on %d: %v\n%s", what, tg.PID, err, stderr)
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("decoding the output of CPython's %s: %v: %s", what, err, out)
	}
}

// awaitedByScript prints every task's own coroutine frames as JSON, read by CPython's own
// _remote_debugging module: the source of the asyncio tools' ps and pstree, with the columns
// 3.15 adds (3.14 reports lines only).
const awaitedByScript = `
import _remote_debugging, json, sys
u = _remote_debugging.RemoteUnwinder(int(sys.argv[1]))
tasks = []
for item in u.get_all_awaited_by():
    for t in item.awaited_by:
        frames = []
        for coro in t.coroutine_stack:
            for f in coro.call_stack:
                loc = getattr(f, "location", None)
                if loc is not None:
                    frames.append({"name": f.funcname, "file": f.filename, "line": loc.lineno,
                                   "endLine": loc.end_lineno, "col": loc.col_offset, "endCol": loc.end_col_offset})
                else:
                    frames.append({"name": f.funcname, "file": f.filename, "line": f.lineno})
        tasks.append({"id": hex(t.task_id), "frames": frames})
print(json.dumps(tasks))
`

type awaitedTask struct {
	ID     string `json:"id"`
	Frames []struct {
		Name    string `json:"name"`
		File    string `json:"file"`
		Line    int    `json:"line"`
		EndLine *int   `json:"endLine"`
		Col     *int   `json:"col"`
		EndCol  *int   `json:"endCol"`
	} `json:"frames"`
}

// awaitedTasks returns CPython's view of the target's tasks and their coroutine frames.
func awaitedTasks(t testing.TB, tg *testtarget.Target) []awaitedTask {
	t.Helper()
	var tasks []awaitedTask
	readWithCPython(t, tg, "get_all_awaited_by", awaitedByScript, &tasks)
	return tasks
}

// checkStacksAgainstPSTree compares the stack of every task pstree shows with the frames pstree
// shows above and below it, and returns how many tasks it compared.
func checkStacksAgainstPSTree(t *testing.T, c *client, tg *testtarget.Target, byName map[string]int, only func(name string) bool) int {
	t.Helper()
	out, stderr, code := tg.AsyncioTool(t, "pstree")
	if code != 0 {
		t.Fatalf("python -m asyncio pstree exited with %d: %s", code, stderr)
	}
	compared := 0
	for _, n := range taskNodes(parsePSTree(t, string(out))) {
		if only != nil && !only(n.label) {
			continue
		}
		id, ok := byName[n.label]
		if !ok {
			if tg.Version == "3.14" && !isASCII(n.label) || !utf8.ValidString(n.label) {
				continue // 3.14's tool prints non-ASCII names as garbage
			}
			if tg.Version == "3.14" && n.label != "" && strings.ContainsRune(n.label, 0) {
				continue
			}
			t.Errorf("pstree shows task %q, but no thread has that name", n.label)
			continue
		}
		want, complete := expectedStack(t, n)
		st := c.StackTrace(id, 0, 0)
		if st.TotalFrames != len(st.StackFrames) {
			t.Errorf("task %q: totalFrames %d for %d frames", n.label, st.TotalFrames, len(st.StackFrames))
		}
		got := st.StackFrames
		if complete && len(got) != len(want) {
			t.Errorf("task %q: %d frames, pstree implies %d:\n got %s\nwant %v", n.label, len(got), len(want), frameNames(got), want)
			continue
		}
		// An incomplete expectation lacks the task's own frames: compare from the first label.
		if !complete {
			first := -1
			for i, f := range got {
				if f.PresentationHint == "label" {
					first = i
					break
				}
			}
			if first < 0 && len(want) > 0 {
				t.Errorf("task %q: no label frame in %s", n.label, frameNames(got))
				continue
			}
			if first >= 0 {
				got = got[first:]
			}
			if len(got) != len(want) {
				t.Errorf("task %q: %d awaiter frames, pstree implies %d", n.label, len(got), len(want))
				continue
			}
		}
		for i, w := range want {
			checkFrame(t, tg, n.label, i, got[i], w)
		}
		compared++
	}
	return compared
}

func checkFrame(t *testing.T, tg *testtarget.Target, task string, i int, got dap.StackFrame, want pstreeFrame) {
	t.Helper()
	if want.label {
		if got.PresentationHint != "label" {
			t.Errorf("task %q frame %d: %q (hint %q), want the label frame for %q", task, i, got.Name, got.PresentationHint, want.function)
			return
		}
		if tg.Version == "3.14" && !isASCII(want.function) {
			return
		}
		if got.Name != "awaited by "+want.function {
			t.Errorf("task %q frame %d: label %q, want %q", task, i, got.Name, "awaited by "+want.function)
		}
		return
	}
	if got.Name != want.function {
		t.Errorf("task %q frame %d: function %q, want %q", task, i, got.Name, want.function)
	}
	if got.Source == nil || got.Source.Path != want.file {
		t.Errorf("task %q frame %d (%s): source %+v, want path %q", task, i, want.function, got.Source, want.file)
	}
	if got.Line != want.line {
		t.Errorf("task %q frame %d (%s): line %d, want %d", task, i, want.function, got.Line, want.line)
	}
	if want.line > 0 && got.Column < 1 {
		t.Errorf("task %q frame %d (%s): column %d, want a 1-based column", task, i, want.function, got.Column)
	}
	wantHint := ""
	if strings.Contains(want.file, "/python"+tg.Version+"/asyncio/") {
		wantHint = "subtle"
	}
	if got.PresentationHint != wantHint {
		t.Errorf("task %q frame %d (%s %s): presentationHint %q, want %q", task, i, want.function, want.file, got.PresentationHint, wantHint)
	}
}

// agreeWithUnwinder compares the stacks of the OS threads (kernel id -> DAP thread id) with
// CPython's RemoteUnwinder. The two read the process at different moments, and a thread may be
// between two waits (a scenario's READY callback, say) at one of them, so a disagreement is
// retried on a new snapshot a few times before it counts.
func agreeWithUnwinder(t *testing.T, c *client, tg *testtarget.Target, threads map[uint64]int) {
	t.Helper()
	var diffs []string
	for attempt := 0; attempt < 10; attempt++ {
		if attempt > 0 {
			time.Sleep(50 * time.Millisecond)
			c.OK("pause", nil, nil)
			c.Event("stopped")
		}
		diffs = threadStackDiffs(t, c, tg, threads)
		if len(diffs) == 0 {
			return
		}
	}
	for _, d := range diffs {
		t.Error(d)
	}
}

func threadStackDiffs(t *testing.T, c *client, tg *testtarget.Target, threads map[uint64]int) []string {
	t.Helper()
	unwound := map[uint64]unwoundThread{}
	for _, u := range unwindThreads(t, tg) {
		unwound[u.TID] = u
	}
	var diffs []string
	for tid, id := range threads {
		u, ok := unwound[tid]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("CPython's unwinder does not see thread %d", tid))
			continue
		}
		st := c.StackTrace(id, 0, 0).StackFrames
		// CPython 3.14's unwinder stops at the first frame entered from C code (threading's
		// bootstrap, a task's step run by the event loop); the frames below it are there, and
		// 3.15's unwinder, compared in full, shows them.
		if tg.Version == "3.14" && len(u.Frames) > 0 && len(st) > len(u.Frames) {
			st = st[:len(u.Frames)]
		}
		if len(st) != len(u.Frames) {
			diffs = append(diffs, fmt.Sprintf("thread %d: %d frames, CPython's unwinder %d: %s", tid, len(st), len(u.Frames), frameNames(st)))
			continue
		}
		for i, w := range u.Frames {
			g := st[i]
			if g.Name != w.Name || g.Source == nil || g.Source.Path != w.File || g.Line != w.Line {
				diffs = append(diffs, fmt.Sprintf("thread %d frame %d: %s %+v:%d, want %s %s:%d", tid, i, g.Name, g.Source, g.Line, w.Name, w.File, w.Line))
			}
			if w.Col != nil && g.Column != *w.Col+1 {
				diffs = append(diffs, fmt.Sprintf("thread %d frame %d (%s): column %d, want %d (0-based %d)", tid, i, w.Name, g.Column, *w.Col+1, *w.Col))
			}
		}
	}
	return diffs
}

// checkTaskFramesAgainstUnwinder compares the own frames of every task (those before the first
// label) with what CPython's get_all_awaited_by reports for it: function, path and line, and on
// 3.15, which reports them, the columns and end line. It returns how many tasks it compared.
func checkTaskFramesAgainstUnwinder(t *testing.T, c *client, tg *testtarget.Target, g awaitGraph) int {
	t.Helper()
	byTaskID := map[string]int{}
	for _, task := range g.Tasks {
		byTaskID[task.TaskID] = task.ThreadID
	}
	compared, columns := 0, 0
	for _, want := range awaitedTasks(t, tg) {
		id, ok := byTaskID[want.ID]
		if !ok {
			t.Errorf("CPython sees task %s, the awaitGraph does not", want.ID)
			continue
		}
		var own []dap.StackFrame
		for _, f := range c.StackTrace(id, 0, 0).StackFrames {
			if f.PresentationHint == "label" {
				break
			}
			own = append(own, f)
		}
		if len(own) != len(want.Frames) {
			t.Errorf("task %s: %d frames (%s), CPython %d", want.ID, len(own), frameNames(own), len(want.Frames))
			continue
		}
		for i, w := range want.Frames {
			got := own[i]
			if got.Name != w.Name || got.Source == nil || got.Source.Path != w.File || got.Line != w.Line {
				t.Errorf("task %s frame %d: %s %+v:%d, CPython %s %s:%d", want.ID, i, got.Name, got.Source, got.Line, w.Name, w.File, w.Line)
				continue
			}
			if w.Col == nil || w.EndLine == nil || w.EndCol == nil {
				continue
			}
			col, endCol := utf16Column(t, w.File, w.Line, *w.Col)+1, utf16Column(t, w.File, *w.EndLine, *w.EndCol)+1
			if got.Column != col || got.EndLine != *w.EndLine || got.EndColumn != endCol {
				t.Errorf("task %s frame %d (%s): %d:%d-%d:%d, CPython %d:%d-%d:%d (1-based UTF-16 columns)", want.ID, i, w.Name,
					got.Line, got.Column, got.EndLine, got.EndColumn, w.Line, col, *w.EndLine, endCol)
			}
			columns++
		}
		compared++
	}
	if tg.Version != "3.14" && columns == 0 {
		t.Errorf("CPython %s reported no columns to compare", tg.Version)
	}
	return compared
}
