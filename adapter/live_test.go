package adapter

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/google/go-dap"

	"github.com/aioscope/aioscope/internal/testtarget"
)

// The live tests attach the adapter to real CPython processes running the scenarios of
// testdata/scenarios and check what a DAP client sees against CPython's own tools run on the
// same process.

var versions = []string{"3.14", "3.15"}

// liveSession starts a scenario and an in-process adapter session, and watches the target's
// state for the whole test.
func liveSession(t *testing.T, version, scenario string, args ...string) (*testtarget.Target, *client) {
	t.Helper()
	tg := testtarget.Start(t, version, scenario, args...)
	testtarget.WatchState(t, tg.PID)
	return tg, startSession(t, NewServer(Config{}))
}

// threadsByName maps thread names to ids, failing on a name listed twice.
func threadsByName(t *testing.T, threads []dap.Thread) map[string]int {
	t.Helper()
	m := make(map[string]int, len(threads))
	for _, th := range threads {
		if _, dup := m[th.Name]; dup {
			t.Fatalf("two threads are named %q", th.Name)
		}
		m[th.Name] = th.Id
	}
	return m
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
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
		st := c.stackTrace(id, 0, 0)
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

func frameNames(frames []dap.StackFrame) string {
	var b strings.Builder
	for i, f := range frames {
		if i > 0 {
			b.WriteString(" | ")
		}
		b.WriteString(f.Name)
	}
	return b.String()
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

func TestLiveTree(t *testing.T) {
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			tg, c := liveSession(t, version, "tree.py")
			caps := c.initialize()
			if !caps.SupportsConfigurationDoneRequest || caps.SupportsStepBack || caps.SupportsSetVariable ||
				caps.SupportsEvaluateForHovers || caps.SupportsTerminateRequest || caps.SupportTerminateDebuggee ||
				caps.SupportsFunctionBreakpoints || caps.SupportsConditionalBreakpoints || len(caps.ExceptionBreakpointFilters) > 0 {
				t.Errorf("capabilities claim more than a read-only viewer can do: %+v", caps)
			}
			c.ok("attach", map[string]any{"processId": tg.PID}, nil)
			c.event("initialized")
			// Generic clients send these; they must be answered, with no breakpoints.
			var bps dap.SetBreakpointsResponseBody
			c.ok("setBreakpoints", map[string]any{"source": map[string]any{"path": testtarget.ScenarioPath("tree.py")},
				"breakpoints": []map[string]any{{"line": 7}}}, &bps)
			if len(bps.Breakpoints) != 0 {
				t.Errorf("setBreakpoints answered %+v, want no breakpoints", bps.Breakpoints)
			}
			c.ok("configurationDone", nil, nil)
			g := c.awaitGraphEvent()
			var stopped dap.StoppedEventBody
			decode(t, c.event("stopped").Body, &stopped)
			if stopped.Reason != "pause" || !stopped.AllThreadsStopped || !strings.Contains(stopped.Description, "keeps running") {
				t.Errorf("stopped event %+v: want reason pause, allThreadsStopped and a description saying the process keeps running", stopped)
			}

			threads := c.threads()
			byName := threadsByName(t, threads)
			mainName := fmt.Sprintf("Thread %d (MainThread)", tg.PID)
			mainID, ok := byName[mainName]
			if !ok {
				t.Fatalf("no thread %q in %v", mainName, threads)
			}
			if stopped.ThreadId != mainID {
				t.Errorf("stopped on thread %d, want the main thread %d", stopped.ThreadId, mainID)
			}
			for _, name := range []string{"Task-1", "Task-A", "Task-B", "A-leaf-1", "A-leaf-2", "B-leaf-1", "B-leaf-2",
				"gatherer", "tâche-ünïcode", "emoji-😀", "Task-2", "Task-3", "Task-4"} {
				if _, ok := byName[name]; !ok {
					t.Errorf("no thread named %q", name)
				}
			}
			if len(threads) != 14 {
				t.Errorf("%d threads, want 13 tasks and the main thread: %v", len(threads), threads)
			}
			for _, th := range threads {
				if th.Id <= 0 || th.Id > 100 {
					t.Errorf("thread %q has id %d, want a small positive integer", th.Name, th.Id)
				}
			}

			if n := checkStacksAgainstPSTree(t, c, tg, byName, nil); n < 11 {
				t.Errorf("compared the stacks of %d tasks with pstree, want at least 11", n)
			}

			checkGraph(t, g, tg, byName)
			checkPaging(t, c, byName["A-leaf-1"])
			checkScopes(t, c, tg, byName)
			checkMainThread(t, c, tg, mainID)
			if n := checkTaskFramesAgainstUnwinder(t, c, tg, g); n != 13 {
				t.Errorf("compared the frames of %d tasks with CPython's get_all_awaited_by, want 13", n)
			}

			// A new snapshot: ids stay with their tasks, references of the old one are stale.
			old := c.stackTrace(byName["Task-A"], 0, 1).StackFrames[0].Id
			c.ok("pause", map[string]any{"threadId": mainID}, nil)
			if again := c.awaitGraphEvent(); !capturedAt(t, again).After(capturedAt(t, g)) {
				t.Errorf("pause: snapshot captured at %s, the first one at %s: want a new snapshot", again.CapturedAt, g.CapturedAt)
			}
			c.event("stopped")
			if again := threadsByName(t, c.threads()); fmt.Sprint(again) != fmt.Sprint(byName) {
				t.Errorf("thread ids changed between snapshots:\nbefore %v\nafter  %v", byName, again)
			}
			if msg := c.fail("scopes", map[string]any{"frameId": old}); !strings.Contains(msg, "stale reference") {
				t.Errorf("scopes of a frame of an earlier snapshot: %q, want a stale reference error", msg)
			}

			// The custom request answers with a new awaitGraph and publishes it too.
			var snap awaitGraph
			c.ok("aioscope/snapshot", nil, &snap)
			checkGraph(t, snap, tg, byName)
			checkGraph(t, c.awaitGraphEvent(), tg, byName)

			c.ok("disconnect", map[string]any{"terminateDebuggee": false}, nil)
			if err := c.waitServed(); err != nil {
				t.Errorf("Serve after disconnect: %v", err)
			}
			testtarget.ExpectRunning(t, tg.PID)
		})
	}
}

// checkGraph checks an awaitGraph body of tree.py against the thread list.
func checkGraph(t *testing.T, g awaitGraph, tg *testtarget.Target, byName map[string]int) {
	t.Helper()
	if g.PID != tg.PID || !strings.HasPrefix(g.PythonVersion, tg.Version+".") {
		t.Errorf("awaitGraph pid %d python %q, want %d %s.x", g.PID, g.PythonVersion, tg.PID, tg.Version)
	}
	if _, err := time.Parse(time.RFC3339Nano, g.CapturedAt); err != nil {
		t.Errorf("awaitGraph capturedAt %q: %v", g.CapturedAt, err)
	}
	if len(g.Tasks) != 13 || len(g.Cycles) != 0 {
		t.Errorf("awaitGraph has %d tasks and %d cycles, want 13 and none", len(g.Tasks), len(g.Cycles))
	}
	names := map[int]string{}
	for _, task := range g.Tasks {
		names[task.ThreadID] = task.Name
		if byName[task.Name] != task.ThreadID {
			t.Errorf("awaitGraph task %q has threadId %d, the threads response %d", task.Name, task.ThreadID, byName[task.Name])
		}
		if !strings.HasPrefix(task.TaskID, "0x") || task.TID != uint64(tg.PID) {
			t.Errorf("awaitGraph task %q: taskId %q tid %d", task.Name, task.TaskID, task.TID)
		}
		for _, f := range task.Frames {
			if f.Path == "" || f.Line <= 0 {
				t.Errorf("awaitGraph task %q frame %+v: want a path and a line", task.Name, f)
			}
		}
	}
	want := map[string][]string{"Task-1": nil, "Task-A": {"Task-1"}, "A-leaf-1": {"Task-A"}, "B-leaf-2": {"Task-B"},
		"Task-3": {"gatherer"}, "emoji-😀": {"Task-1"}}
	for _, task := range g.Tasks {
		w, ok := want[task.Name]
		if !ok {
			continue
		}
		var got []string
		for _, id := range task.AwaitedBy {
			got = append(got, names[id])
		}
		if fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("awaitGraph: %q awaited by %v, want %v", task.Name, got, w)
		}
	}
	for _, th := range g.Threads {
		if th.Main && (th.TID != uint64(tg.PID) || th.ThreadID != byName[th.Name]) {
			t.Errorf("awaitGraph main thread %+v", th)
		}
	}
}

func checkPaging(t *testing.T, c *client, id int) {
	t.Helper()
	full := c.stackTrace(id, 0, 0)
	if len(full.StackFrames) < 8 {
		t.Fatalf("A-leaf-1 has only %d frames", len(full.StackFrames))
	}
	for _, p := range [][2]int{{0, 1}, {1, 3}, {2, 100}, {len(full.StackFrames) - 1, 0}} {
		part := c.stackTrace(id, p[0], p[1])
		end := len(full.StackFrames)
		if p[1] > 0 && p[0]+p[1] < end {
			end = p[0] + p[1]
		}
		want := full.StackFrames[p[0]:end]
		if part.TotalFrames != full.TotalFrames || frameKeys(part.StackFrames) != frameKeys(want) {
			t.Errorf("stackTrace startFrame %d levels %d: %d frames (total %d), want frames %d..%d of %d",
				p[0], p[1], len(part.StackFrames), part.TotalFrames, p[0], end, full.TotalFrames)
		}
	}
	if beyond := c.stackTrace(id, 1000, 5); len(beyond.StackFrames) != 0 {
		t.Errorf("stackTrace beyond the end returned %d frames", len(beyond.StackFrames))
	}
}

// frameKeys identifies frames by id, name and location, for comparing pages of a stack.
func frameKeys(frames []dap.StackFrame) string {
	var b strings.Builder
	for _, f := range frames {
		path := ""
		if f.Source != nil {
			path = f.Source.Path
		}
		fmt.Fprintf(&b, "%d %s %s:%d:%d|", f.Id, f.Name, path, f.Line, f.Column)
	}
	return b.String()
}

func varsByName(vars []dap.Variable) map[string]dap.Variable {
	m := map[string]dap.Variable{}
	for _, v := range vars {
		m[v.Name] = v
	}
	return m
}

func checkScopes(t *testing.T, c *client, tg *testtarget.Target, byName map[string]int) {
	t.Helper()
	st := c.stackTrace(byName["Task-A"], 0, 0).StackFrames
	scopes := c.scopes(st[0].Id)
	if len(scopes) != 2 || scopes[0].Name != "Task" || scopes[1].Name != "Frame" {
		t.Fatalf("scopes of Task-A's first frame: %+v, want Task and Frame", scopes)
	}
	task := varsByName(c.variables(scopes[0].VariablesReference))
	if task["name"].Value != "Task-A" || !strings.HasPrefix(task["id"].Value, "0x") ||
		task["threadId"].Value != strconv.Itoa(byName["Task-A"]) ||
		task["thread"].Value != fmt.Sprintf("Thread %d (MainThread)", tg.PID) || task["state"].Value == "" {
		t.Errorf("Task-A's variables: %+v", task)
	}
	awaitedBy := task["awaited by"]
	if awaitedBy.Value != "Task-1" || awaitedBy.VariablesReference == 0 || awaitedBy.IndexedVariables != 1 {
		t.Errorf("Task-A awaited by: %+v", awaitedBy)
	} else {
		list := c.variables(awaitedBy.VariablesReference)
		if len(list) != 1 || !strings.HasPrefix(list[0].Value, "Task-1 (0x") || list[0].VariablesReference == 0 {
			t.Errorf("Task-A's awaiters: %+v", list)
		} else if parent := varsByName(c.variables(list[0].VariablesReference)); parent["name"].Value != "Task-1" {
			t.Errorf("expanding Task-A's awaiter: %+v", parent)
		}
	}
	awaiting := task["awaiting"]
	if awaiting.VariablesReference == 0 || awaiting.IndexedVariables != 2 {
		t.Errorf("Task-A awaiting: %+v", awaiting)
	} else {
		var names []string
		for _, v := range c.variables(awaiting.VariablesReference) {
			names = append(names, strings.SplitN(v.Value, " (", 2)[0])
		}
		sort.Strings(names)
		if fmt.Sprint(names) != "[A-leaf-1 A-leaf-2]" {
			t.Errorf("Task-A awaits %v, want A-leaf-1 and A-leaf-2", names)
		}
		var page dap.VariablesResponseBody
		c.ok("variables", map[string]any{"variablesReference": awaiting.VariablesReference, "start": 1, "count": 1}, &page)
		if len(page.Variables) != 1 || page.Variables[0].Name != "[1]" {
			t.Errorf("second page of Task-A's awaited tasks: %+v", page.Variables)
		}
	}
	frame := varsByName(c.variables(scopes[1].VariablesReference))
	if frame["function"].Value != st[0].Name || frame["line"].Value != strconv.Itoa(st[0].Line) {
		t.Errorf("frame variables %+v for frame %+v", frame, st[0])
	}
	// The label frame stands for the awaiting task.
	for _, f := range st {
		if f.PresentationHint != "label" {
			continue
		}
		scopes := c.scopes(f.Id)
		if len(scopes) != 1 || scopes[0].Name != "Task" {
			t.Fatalf("scopes of label %q: %+v", f.Name, scopes)
		}
		if got := varsByName(c.variables(scopes[0].VariablesReference))["name"].Value; "awaited by "+got != f.Name {
			t.Errorf("scope of label %q is task %q", f.Name, got)
		}
		break
	}
	if msg := c.fail("variables", map[string]any{"variablesReference": 987654321}); !strings.Contains(msg, "stale reference") {
		t.Errorf("unknown variablesReference: %q", msg)
	}
}

// checkMainThread compares the main thread's stack with CPython's RemoteUnwinder, and its
// Thread scope with what the thread is.
func checkMainThread(t *testing.T, c *client, tg *testtarget.Target, mainID int) {
	t.Helper()
	agreeWithUnwinder(t, c, tg, map[uint64]int{uint64(tg.PID): mainID})
	st := c.stackTrace(mainID, 0, 0).StackFrames
	scopes := c.scopes(st[0].Id)
	if len(scopes) != 2 || scopes[0].Name != "Thread" {
		t.Fatalf("scopes of the main thread's frame: %+v", scopes)
	}
	facts := varsByName(c.variables(scopes[0].VariablesReference))
	if facts["native id"].Value != strconv.Itoa(tg.PID) || facts["main thread"].Value != "True" ||
		facts["event loop running"].Value != "True" {
		t.Errorf("main thread facts: %+v", facts)
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
			c.ok("pause", nil, nil)
			c.event("stopped")
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
		st := c.stackTrace(id, 0, 0).StackFrames
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

func TestLiveCycle(t *testing.T) {
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			tg, c := liveSession(t, version, "cycle.py")
			c.initialize()
			c.ok("attach", map[string]any{"processId": tg.PID}, nil)
			c.ok("configurationDone", nil, nil)
			g := c.awaitGraphEvent()
			var cycles struct {
				Cycles [][]struct {
					ThreadID int    `json:"threadId"`
					Name     string `json:"name"`
				} `json:"cycles"`
			}
			decode(t, c.event("aioscope/cycles").Body, &cycles)
			c.event("stopped")

			// CPython's pstree refuses the graph and names the cycles.
			_, stderr, code := tg.AsyncioTool(t, "pstree")
			if code != 1 {
				t.Fatalf("pstree exited with %d, want 1 (cycle): %s", code, stderr)
			}
			var want [][]string
			for _, line := range strings.Split(string(stderr), "\n") {
				if rest, ok := strings.CutPrefix(line, "cycle: "); ok {
					want = append(want, strings.Split(rest, " → "))
				}
			}
			var got [][]string
			for i, cyc := range cycles.Cycles {
				var names []string
				for k, m := range cyc {
					names = append(names, m.Name)
					if i < len(g.Cycles) && k < len(g.Cycles[i]) && g.Cycles[i][k] != m.ThreadID {
						t.Errorf("cycle %d member %d: threadId %d in cycles, %d in awaitGraph", i, k, m.ThreadID, g.Cycles[i][k])
					}
				}
				got = append(got, names)
			}
			if len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("cycles %v, CPython's pstree reports %v", got, want)
			}

			byName := threadsByName(t, c.threads())
			st := c.stackTrace(byName["A"], 0, 0).StackFrames
			var names []string
			for _, f := range st {
				names = append(names, f.Name)
			}
			wantNames := "[main.<locals>.a awaited by B main.<locals>.b awaited by A (await cycle)]"
			if fmt.Sprint(names) != wantNames {
				t.Errorf("stack of A: %v, want %s", names, wantNames)
			}
			c.ok("disconnect", nil, nil)
			testtarget.ExpectRunning(t, tg.PID)
		})
	}
}

func TestLiveManyTasks(t *testing.T) {
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			tg, c := liveSession(t, version, "many.py", "2000")
			_, g := c.attachAndStop(map[string]any{"processId": tg.PID})
			if len(g.Tasks) != 2001 {
				t.Fatalf("awaitGraph has %d tasks, want 2001", len(g.Tasks))
			}
			threads := c.threads()
			if len(threads) != DefaultMaxThreads {
				t.Errorf("%d threads listed, want the default cap %d", len(threads), DefaultMaxThreads)
			}
			notice := c.waitFor("the output event about the cap", msgTimeout, func(m *message) bool {
				return m.Type == "event" && m.Event == "output" && strings.Contains(string(m.Body), "maxThreads")
			})
			if !strings.Contains(string(notice.Body), fmt.Sprintf("%d of 2002", DefaultMaxThreads)) {
				t.Errorf("cap notice %s", notice.Body)
			}
			listed := map[int]bool{}
			for _, th := range threads {
				listed[th.Id] = true
			}
			// A task beyond the cap that the client looks at stays in the list.
			last := g.Tasks[len(g.Tasks)-1]
			if listed[last.ThreadID] {
				t.Fatalf("the last task %q is listed although the list is capped", last.Name)
			}
			c.stackTrace(last.ThreadID, 0, 1)
			again := c.threads()
			found := false
			for _, th := range again {
				found = found || th.Id == last.ThreadID
			}
			if !found || len(again) != DefaultMaxThreads {
				t.Errorf("after looking at %q: %d threads, selected listed: %v", last.Name, len(again), found)
			}

			// Every 97th task and the selected one, against pstree.
			byName := map[string]int{}
			for i, task := range g.Tasks {
				if i%97 == 0 || task.ThreadID == last.ThreadID {
					byName[task.Name] = task.ThreadID
				}
			}
			only := func(name string) bool { _, ok := byName[name]; return ok }
			if n := checkStacksAgainstPSTree(t, c, tg, byName, only); n != len(byName) {
				t.Errorf("compared %d stacks with pstree, want %d", n, len(byName))
			}
			c.ok("disconnect", nil, nil)

			// No cap.
			c2 := startSession(t, NewServer(Config{}))
			c2.attachAndStop(map[string]any{"processId": tg.PID, "maxThreads": 0})
			if n := len(c2.threads()); n != 2002 {
				t.Errorf("maxThreads 0: %d threads, want 2002", n)
			}
			c2.ok("disconnect", nil, nil)
		})
	}
}

func TestLivePauseContinueRefresh(t *testing.T) {
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			tg, c := liveSession(t, version, "tree.py")
			c.attachAndStop(map[string]any{"processId": tg.PID, "refreshInterval": 100})
			var cont dap.ContinueResponseBody
			c.ok("continue", map[string]any{"threadId": 1}, &cont)
			if !cont.AllThreadsContinued {
				t.Errorf("continue response %+v", cont)
			}
			c.event("continued")
			msgs := c.drain(time.Second)
			graphs := 0
			for _, m := range msgs {
				if m.Type == "event" && m.Event == "stopped" {
					t.Errorf("stopped event while continued: %s", m.raw)
				}
				if m.Type == "event" && m.Event == "aioscope/awaitGraph" {
					graphs++
				}
			}
			if graphs < 2 {
				t.Errorf("%d awaitGraph events in 1s with refreshInterval 100ms, want at least 2", graphs)
			}
			// The thread list follows the refreshes while continued.
			if n := len(c.threads()); n != 14 {
				t.Errorf("%d threads while continued", n)
			}
			// Broken messages while refresh events are being written: answered, and the session
			// goes on.
			c.sendRaw(frameMessage(`{"seq":1000,"type":"request","command":"threads"`))
			c.waitFor("an output event about the broken message", msgTimeout, func(m *message) bool {
				return m.Type == "event" && m.Event == "output" && strings.Contains(string(m.Body), "not a JSON object")
			})
			if msg := c.fail("frobnicate", map[string]any{}); !strings.Contains(msg, "frobnicate") {
				t.Errorf("unknown request: %q", msg)
			}
			if msg := c.fail("stackTrace", map[string]any{"threadId": "main"}); !strings.Contains(msg, "invalid arguments") {
				t.Errorf("stackTrace with a bad threadId: %q", msg)
			}
			c.ok("pause", map[string]any{"threadId": 1}, nil)
			c.event("stopped")
			// Refresh events sent before the pause may still be in the backlog; whatever comes
			// after stopped would be a refresh that did not stop.
			c.backlog = nil
			for _, m := range c.drain(400 * time.Millisecond) {
				if m.Type == "event" && m.Event == "aioscope/awaitGraph" {
					t.Errorf("awaitGraph event after pause: refreshing did not stop")
				}
			}
			// Without refreshInterval, continue publishes nothing.
			c.ok("continue", map[string]any{"threadId": 1}, nil)
			c.event("continued")
			c.ok("pause", nil, nil)
			c.awaitGraphEvent()
			c.event("stopped")
			c.ok("disconnect", nil, nil)
			if err := c.waitServed(); err != nil {
				t.Errorf("Serve: %v", err)
			}
			testtarget.ExpectRunning(t, tg.PID)
		})
	}
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
				c.ok("continue", nil, nil)
				c.awaitGraphEvent()
			}
			if err := syscall.Kill(tg.PID, syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			c.event("exited")
			c.event("terminated")
			if msg := c.fail("pause", nil); !strings.Contains(msg, "exited") {
				t.Errorf("pause after the target exited: %q", msg)
			}
			c.ok("disconnect", nil, nil)
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
	c.initialize()

	for _, args := range []any{nil, map[string]any{}, map[string]any{"processId": nil}, "1234", []int{1}} {
		if msg := c.fail("attach", args); !strings.Contains(msg, "processId") {
			t.Errorf("attach %v: %q, want a message about processId", args, msg)
		}
	}
	for _, pid := range []any{"1234", strconv.Itoa(tg.PID), 12.5, -3, 0, true, 1 << 40} {
		if msg := c.fail("attach", map[string]any{"processId": pid}); !strings.HasPrefix(msg, "invalid processId") {
			t.Errorf("attach processId %v: %q", pid, msg)
		}
	}
	for _, bad := range []map[string]any{{"refreshInterval": -1}, {"refreshInterval": "100"}, {"retries": -1}, {"maxThreads": "x"}, {"mainThreadOnly": 1}} {
		bad["processId"] = tg.PID
		if msg := c.fail("attach", bad); !strings.HasPrefix(msg, "invalid ") {
			t.Errorf("attach %v: %q", bad, msg)
		}
	}
	// Requests that need a process fail politely before attach.
	for _, cmd := range []string{"threads", "stackTrace", "scopes", "variables", "pause", "continue", "aioscope/snapshot"} {
		if msg := c.fail(cmd, map[string]any{"threadId": 1, "frameId": 1, "variablesReference": 1}); !strings.Contains(msg, "not attached") {
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
			parent := c.t
			c.t = t
			defer func() { c.t = parent }()
			pid := tc.pid(t)
			msg := c.fail("attach", map[string]any{"processId": pid})
			if cli := cliMessage(t, pid); msg != cli {
				t.Errorf("adapter says %q, the CLI %q", msg, cli)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("%q does not mention %q", msg, tc.want)
			}
		})
	}

	// The adapter is still there for a good attach, and only one.
	c.ok("attach", map[string]any{"processId": tg.PID}, nil)
	c.ok("configurationDone", nil, nil)
	c.event("stopped")
	if msg := c.fail("attach", map[string]any{"processId": tg.PID}); !strings.Contains(msg, "already attached") {
		t.Errorf("second attach: %q", msg)
	}
	c.ok("disconnect", nil, nil)
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

// TestLiveEdgeScenario runs edge.py (async generators, a 1200-line function, a 50-deep await
// chain, shared awaiters, futures) through the adapter: every thread must have a stack whose
// frames look sane, and the custom request must agree with the threads.
func TestLiveEdgeScenario(t *testing.T) {
	tg, c := liveSession(t, "3.15", "edge.py")
	_, g := c.attachAndStop(map[string]any{"processId": tg.PID})
	threads := c.threads()
	if len(threads) != len(g.Tasks)+len(g.Threads) {
		t.Errorf("%d threads for %d tasks and %d OS threads", len(threads), len(g.Tasks), len(g.Threads))
	}
	for _, th := range threads {
		st := c.stackTrace(th.Id, 0, 0)
		for _, f := range st.StackFrames {
			if f.Name == "" {
				t.Errorf("thread %q has a frame without a name", th.Name)
			}
			if f.PresentationHint != "label" && f.Source == nil {
				t.Errorf("thread %q frame %q has no source", th.Name, f.Name)
			}
			if f.Source != nil && f.Source.Path == "" && f.Source.PresentationHint != "deemphasize" {
				t.Errorf("thread %q frame %q: a source without a path must be deemphasized: %+v", th.Name, f.Name, f.Source)
			}
		}
	}
	byName := map[string]int{}
	for _, th := range threads {
		byName[th.Name] = th.Id
	}
	// big_linetable was compiled from a string under a relative name: no path to open.
	st := c.stackTrace(byName["biglinetable"], 0, 0).StackFrames
	found := false
	for _, f := range st {
		if f.Name == "big_linetable" {
			found = true
			if f.Source == nil || f.Source.Path != "" || f.Source.Name != "big_linetable.py" || f.Source.PresentationHint != "deemphasize" {
				t.Errorf("big_linetable's source: %+v", f.Source)
			}
		}
	}
	if !found {
		t.Errorf("no big_linetable frame in %s", frameNames(st))
	}
	// chain50 is one task 51 coroutines deep: paging through it.
	deep := c.stackTrace(byName["chain50"], 10, 20)
	if len(deep.StackFrames) != 20 || deep.TotalFrames < 52 {
		t.Errorf("chain50 page: %d frames of %d", len(deep.StackFrames), deep.TotalFrames)
	}
	// The shared task is awaited by several waiters.
	scopes := c.scopes(c.stackTrace(byName["shared"], 0, 1).StackFrames[0].Id)
	vars := varsByName(c.variables(scopes[0].VariablesReference))
	if vars["awaited by"].IndexedVariables < 2 {
		t.Errorf("shared is awaited by %+v", vars["awaited by"])
	}
	c.ok("disconnect", nil, nil)
}

// TestLiveThreads checks the OS threads of threads.py (three event loops, one in a thread that
// has exited) against CPython's unwinder.
func TestLiveThreads(t *testing.T) {
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			tg, c := liveSession(t, version, "threads.py")
			_, g := c.attachAndStop(map[string]any{"processId": tg.PID})
			threads := c.threads()
			var osThreads []dap.Thread
			for _, th := range threads {
				if strings.HasPrefix(th.Name, "Thread ") {
					osThreads = append(osThreads, th)
				}
			}
			unwound := unwindThreads(t, tg)
			if len(osThreads) != len(unwound) || len(g.Threads) != len(unwound) {
				t.Fatalf("%d OS threads listed (%d in awaitGraph), CPython's unwinder sees %d", len(osThreads), len(g.Threads), len(unwound))
			}
			byTID := map[uint64]int{}
			for _, u := range unwound {
				for _, th := range osThreads {
					if strings.HasPrefix(th.Name, fmt.Sprintf("Thread %d ", u.TID)) || th.Name == fmt.Sprintf("Thread %d", u.TID) {
						byTID[u.TID] = th.Id
					}
				}
				if byTID[u.TID] == 0 {
					t.Errorf("no thread for TID %d in %v", u.TID, osThreads)
				}
			}
			agreeWithUnwinder(t, c, tg, byTID)
			// The task of the thread that exited has no thread.
			for _, task := range g.Tasks {
				if task.Name != "orphan-from-dead-thread" {
					continue
				}
				scopes := c.scopes(c.stackTrace(task.ThreadID, 0, 1).StackFrames[0].Id)
				v := varsByName(c.variables(scopes[0].VariablesReference))
				if !strings.Contains(v["thread"].Value, "exited") {
					t.Errorf("orphan task's thread: %+v", v["thread"])
				}
			}
			c.ok("disconnect", nil, nil)
		})
	}
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
		for _, f := range c.stackTrace(id, 0, 0).StackFrames {
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

// utf16Column converts a 0-based byte offset into a line of a file into a 0-based offset in
// UTF-16 code units, the protocol's measure.
func utf16Column(t *testing.T, file string, line, byteCol int) int {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("reading %s: %v", file, err)
	}
	lines := strings.Split(string(data), "\n")
	if line < 1 || line > len(lines) || byteCol > len(lines[line-1]) {
		t.Fatalf("%s has no line %d with %d bytes", file, line, byteCol)
	}
	return len(utf16.Encode([]rune(lines[line-1][:byteCol])))
}

func capturedAt(t *testing.T, g awaitGraph) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, g.CapturedAt)
	if err != nil {
		t.Fatalf("awaitGraph capturedAt %q: %v", g.CapturedAt, err)
	}
	return at
}
