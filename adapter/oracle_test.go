package adapter

import (
	"context"
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aioscope/aioscope/internal/testtarget"
)

// The oracles: what CPython's own tools say about the same live process.

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
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, tg.Python, "-I", "-c", unwinderScript, strconv.Itoa(tg.PID)).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("CPython's RemoteUnwinder on %d: %v\n%s", tg.PID, err, stderr)
	}
	var threads []unwoundThread
	if err := json.Unmarshal(out, &threads); err != nil {
		t.Fatalf("decoding the unwinder's output: %v: %s", err, out)
	}
	return threads
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
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, tg.Python, "-I", "-c", awaitedByScript, strconv.Itoa(tg.PID)).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("CPython's get_all_awaited_by on %d: %v\n%s", tg.PID, err, stderr)
	}
	var tasks []awaitedTask
	if err := json.Unmarshal(out, &tasks); err != nil {
		t.Fatalf("decoding get_all_awaited_by's output: %v: %s", err, out)
	}
	return tasks
}
