package adapter

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-dap"

	"github.com/aioscope/aioscope/internal/daptest"
	"github.com/aioscope/aioscope/internal/testtarget"
)

func TestLiveTree(t *testing.T) {
	liveTest(t, "tree.py", nil, func(t *testing.T, tg *testtarget.Target, c *client) {
		caps := c.Initialize()
		if !caps.SupportsConfigurationDoneRequest || caps.SupportsStepBack || caps.SupportsSetVariable ||
			caps.SupportsSetExpression || caps.SupportsTerminateRequest || caps.SupportTerminateDebuggee ||
			caps.SupportsFunctionBreakpoints || caps.SupportsConditionalBreakpoints || len(caps.ExceptionBreakpointFilters) > 0 {
			t.Errorf("capabilities claim more than a read-only viewer can do: %+v", caps)
		}
		c.OK("attach", map[string]any{"processId": tg.PID}, nil)
		c.Event("initialized")
		// Generic clients send these; they must be answered, with no breakpoints.
		var bps dap.SetBreakpointsResponseBody
		c.OK("setBreakpoints", map[string]any{"source": map[string]any{"path": testtarget.ScenarioPath("tree.py")},
			"breakpoints": []map[string]any{{"line": 7}}}, &bps)
		if len(bps.Breakpoints) != 0 {
			t.Errorf("setBreakpoints answered %+v, want no breakpoints", bps.Breakpoints)
		}
		c.OK("configurationDone", nil, nil)
		g := c.awaitGraphEvent()
		var stopped dap.StoppedEventBody
		daptest.Decode(t, c.Event("stopped").Body, &stopped)
		if stopped.Reason != "snapshot" || !stopped.AllThreadsStopped || !strings.HasPrefix(stopped.Description, "snapshot ") ||
			len(stopped.Description) > len("snapshot 15:04:05") || !strings.Contains(stopped.Text, "of 13 tasks") ||
			!strings.Contains(stopped.Text, "keeps running") || stopped.PreserveFocusHint {
			t.Errorf("stopped event %+v: want reason snapshot, allThreadsStopped, a short description, a text saying the process keeps running", stopped)
		}

		threads := c.Threads()
		byName := threadsByName(t, threads)
		mainName := mainThreadRow(tg.PID)
		mainID, ok := byName[mainName]
		if !ok {
			t.Fatalf("no thread %q in %v", mainName, threads)
		}
		// Nothing runs and the tasks wait in asyncio's code, except gatherer, which waits in
		// gather_part: the first stop shows it.
		if stopped.ThreadId != byName["gatherer"] {
			t.Errorf("stopped on thread %d, want gatherer %d, the first task waiting in the program's code", stopped.ThreadId, byName["gatherer"])
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

		// A new snapshot while stopped: ids stay with their tasks, the stop keeps the task
		// looked at last, and its frame ids stand for the same place in the new snapshot;
		// variables references of the old one are stale.
		old := c.StackTrace(byName["Task-A"], 0, 1).StackFrames[0].Id
		oldVars := scopeNamed(t, c.Scopes(old), "Task").VariablesReference
		c.OK("pause", map[string]any{"threadId": mainID}, nil)
		if again := c.awaitGraphEvent(); !capturedAt(t, again).After(capturedAt(t, g)) {
			t.Errorf("pause: snapshot captured at %s, the first one at %s: want a new snapshot", again.CapturedAt, g.CapturedAt)
		}
		daptest.Decode(t, c.Event("stopped").Body, &stopped)
		if stopped.ThreadId != byName["Task-A"] || !stopped.PreserveFocusHint {
			t.Errorf("second stop %+v: want Task-A (%d), the task looked at, with preserveFocusHint", stopped, byName["Task-A"])
		}
		// (By name only: a row's text also says how long the task has waited, which a slow
		// machine can make grow between the two snapshots.)
		if before, again := shortNames(byName), shortNames(threadsByName(t, c.Threads())); fmt.Sprint(again) != fmt.Sprint(before) {
			t.Errorf("thread ids changed between snapshots:\nbefore %v\nafter  %v", before, again)
		}
		if scopes := c.Scopes(old); varsByName(c.Variables(scopeNamed(t, scopes, "Task").VariablesReference))["name"].Value != "Task-A" {
			t.Errorf("scopes of Task-A's frame id after a new snapshot: %+v, want Task-A's", scopes)
		}
		if msg := c.Fail("variables", map[string]any{"variablesReference": oldVars}); !strings.Contains(msg, "earlier snapshot") {
			t.Errorf("variables of an earlier snapshot: %q, want an error saying so", msg)
		}

		// The custom request answers with a new awaitGraph and publishes it too.
		var snap awaitGraph
		c.OK("aioscope/snapshot", nil, &snap)
		checkGraph(t, snap, tg, byName)
		checkGraph(t, c.awaitGraphEvent(), tg, byName)

		c.OK("disconnect", map[string]any{"terminateDebuggee": false}, nil)
		if err := c.waitServed(); err != nil {
			t.Errorf("Serve after disconnect: %v", err)
		}
		testtarget.ExpectRunning(t, tg.PID)
	})
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
	full := c.StackTrace(id, 0, 0)
	if len(full.StackFrames) < 8 {
		t.Fatalf("A-leaf-1 has only %d frames", len(full.StackFrames))
	}
	for _, p := range [][2]int{{0, 1}, {1, 3}, {2, 100}, {len(full.StackFrames) - 1, 0}} {
		part := c.StackTrace(id, p[0], p[1])
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
	if beyond := c.StackTrace(id, 1000, 5); len(beyond.StackFrames) != 0 {
		t.Errorf("stackTrace beyond the end returned %d frames", len(beyond.StackFrames))
	}
}

func checkScopes(t *testing.T, c *client, tg *testtarget.Target, byName map[string]int) {
	t.Helper()
	st := c.StackTrace(byName["Task-A"], 0, 0).StackFrames
	scopes := c.Scopes(st[0].Id)
	if got := scopeNames(scopes); got != "Arguments,Locals,Task" {
		t.Fatalf("scopes of Task-A's first frame: %s, want Arguments, Locals and Task", got)
	}
	task := varsByName(c.Variables(scopes[2].VariablesReference))
	if task["name"].Value != "Task-A" || !strings.HasPrefix(task["id"].Value, "0x") ||
		task["thread"].Value != mainThreadRow(tg.PID) || task["state"].Value == "" {
		t.Errorf("Task-A's variables: %+v", task)
	}
	awaitedBy := task["awaited by"]
	if awaitedBy.Value != "Task-1" || awaitedBy.VariablesReference == 0 || awaitedBy.IndexedVariables != 1 {
		t.Errorf("Task-A awaited by: %+v", awaitedBy)
	} else {
		list := c.Variables(awaitedBy.VariablesReference)
		if len(list) != 1 || !strings.HasPrefix(list[0].Value, "Task-1 (0x") || list[0].VariablesReference == 0 {
			t.Errorf("Task-A's awaiters: %+v", list)
		} else if parent := varsByName(c.Variables(list[0].VariablesReference)); parent["name"].Value != "Task-1" {
			t.Errorf("expanding Task-A's awaiter: %+v", parent)
		}
	}
	awaiting := task["awaiting"]
	if awaiting.VariablesReference == 0 || awaiting.IndexedVariables != 2 {
		t.Errorf("Task-A awaiting: %+v", awaiting)
	} else {
		var names []string
		for _, v := range c.Variables(awaiting.VariablesReference) {
			names = append(names, strings.SplitN(v.Value, " (", 2)[0])
		}
		sort.Strings(names)
		if fmt.Sprint(names) != "[A-leaf-1 A-leaf-2]" {
			t.Errorf("Task-A awaits %v, want A-leaf-1 and A-leaf-2", names)
		}
		var page dap.VariablesResponseBody
		c.OK("variables", map[string]any{"variablesReference": awaiting.VariablesReference, "start": 1, "count": 1}, &page)
		if len(page.Variables) != 1 || page.Variables[0].Name != "[1]" {
			t.Errorf("second page of Task-A's awaited tasks: %+v", page.Variables)
		}
	}
	// Task-A waits for its task group's tasks, at the end of the async with block.
	if args := c.Variables(scopes[0].VariablesReference); st[0].Name != "TaskGroup._aexit" || len(args) != 3 ||
		args[0].Name != "self" || args[1].Name != "et" || args[1].Value != "None" {
		t.Errorf("arguments %+v of frame %+v, want TaskGroup._aexit's self, et and exc", args, st[0])
	}
	// The label frame stands for the awaiting task.
	for _, f := range st {
		if f.PresentationHint != "label" {
			continue
		}
		scopes := c.Scopes(f.Id)
		if len(scopes) != 1 || scopes[0].Name != "Task" {
			t.Fatalf("scopes of label %q: %+v", f.Name, scopes)
		}
		if got := varsByName(c.Variables(scopes[0].VariablesReference))["name"].Value; "awaited by "+got != f.Name {
			t.Errorf("scope of label %q is task %q", f.Name, got)
		}
		break
	}
	if msg := c.Fail("variables", map[string]any{"variablesReference": 987654321}); !strings.Contains(msg, "earlier snapshot") {
		t.Errorf("unknown variablesReference: %q", msg)
	}
}

// checkMainThread compares the main thread's stack with CPython's RemoteUnwinder, and its
// Thread scope with what the thread is.
func checkMainThread(t *testing.T, c *client, tg *testtarget.Target, mainID int) {
	t.Helper()
	agreeWithUnwinder(t, c, tg, map[uint64]int{uint64(tg.PID): mainID})
	st := c.StackTrace(mainID, 0, 0).StackFrames
	scopes := c.Scopes(st[0].Id)
	if got := scopeNames(scopes); got != "Arguments,Locals,Thread" {
		t.Fatalf("scopes of the main thread's frame: %s", got)
	}
	facts := varsByName(c.Variables(scopes[2].VariablesReference))
	if facts["native id"].Value != strconv.Itoa(tg.PID) || facts["main thread"].Value != "True" ||
		facts["event loop running"].Value != "True" {
		t.Errorf("main thread facts: %+v", facts)
	}
}
