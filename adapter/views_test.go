package adapter

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-dap"

	"github.com/aioscope/aioscope/internal/daptest"
	"github.com/aioscope/aioscope/internal/faketarget"
	"github.com/aioscope/aioscope/snapshot"
)

// Tests of how every snapshot reaches every view: stops, thread events and invalidated events,
// the task a stop shows, the rows of the thread list and a capped list, with made-up targets.

// initializeInvalidating initializes like VS Code, which understands the invalidated event.
func initializeInvalidating(c *client) {
	c.T().Helper()
	c.OK("initialize", map[string]any{"clientID": "vscode", "adapterID": "aioscope", "linesStartAt1": true,
		"columnsStartAt1": true, "pathFormat": "path", "supportsInvalidatedEvent": true}, nil)
}

func stoppedBody(t testing.TB, m *daptest.Message) dap.StoppedEventBody {
	t.Helper()
	var b dap.StoppedEventBody
	daptest.Decode(t, m.Body, &b)
	return b
}

var (
	userSleep = fr("wait_for_work", "/srv/app/worker.py", 12, 8)
	stdSleep  = fr("sleep", stdlibTasks, 725, 8)
	rootMain  = fr("main", appMain, 30, 8)
)

// TestFirstStopShowsTellingTask: the first stop names the task running on the loop, else one
// waiting in the program's own code, else the root task, else the main thread.
func TestFirstStopShowsTellingTask(t *testing.T) {
	root := task(0x100, "root", []snapshot.Frame{fr("TaskGroup._aexit", "/usr/lib/python3.15/asyncio/taskgroups.py", 121, 8), rootMain})
	lib := task(0x200, "in-lib", []snapshot.Frame{stdSleep, fr("get", "/srv/venv/lib/python3.15/site-packages/httpx/_client.py", 40, 8)},
		awaiter(0x100, true, rootMain))
	user := task(0x300, "in-user", []snapshot.Frame{userSleep}, awaiter(0x100, true, rootMain))
	running := fakeSnapshot(root, lib, user)
	running.Threads[0].RunningTask = 0x200
	for _, tc := range []struct {
		name string
		snap *snapshot.Snapshot
		want string
	}{
		{"running", running, "▶ in-lib · get _client.py:40"},
		{"user code", fakeSnapshot(root, lib, user), "in-user · wait_for_work worker.py:12"},
		{"root", fakeSnapshot(root, lib), "root · main main.py:30"},
		{"no tasks", fakeSnapshot(), fmt.Sprintf("Thread %d (main) · event loop", os.Getpid())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startSession(t, fakeServer(faketarget.New(tc.snap), Config{}))
			stopped, _ := c.attachAndStop(map[string]any{"processId": os.Getpid()})
			var name string
			for _, th := range c.Threads() {
				if th.Id == stopped.ThreadId {
					name = th.Name
				}
			}
			if name != tc.want || stopped.PreserveFocusHint {
				t.Errorf("first stop on %q (preserveFocusHint %v), want %q", name, stopped.PreserveFocusHint, tc.want)
			}
			// The client is to focus the innermost frame of the program's own code: library
			// frames are subtle.
			st := c.StackTrace(stopped.ThreadId, 0, 0).StackFrames
			for _, f := range st {
				lib := f.Source != nil && (strings.Contains(f.Source.Path, "/python3.15/") || strings.Contains(f.Source.Path, "site-packages"))
				if f.PresentationHint != "label" && lib != (f.PresentationHint == "subtle") {
					t.Errorf("frame %s %+v: presentationHint %q", f.Name, f.Source, f.PresentationHint)
				}
			}
			c.OK("disconnect", nil, nil)
		})
	}
}

// TestRowNames: a task's row says where it waits and marks tasks on await cycles and the one
// running; an OS thread is named after its threading.Thread.
func TestRowNames(t *testing.T) {
	a := task(0xa0, "A", []snapshot.Frame{fr("a", "/srv/app/cycle.py", 8, 8)}, awaiter(0xb0, true))
	b := task(0xb0, "B", []snapshot.Frame{fr("b", "/srv/app/cycle.py", 11, 8)}, awaiter(0xa0, true))
	run := task(0xc0, "Task-3", []snapshot.Frame{fr("produce", "/srv/app/pipeline.py", 20, 8)})
	unnamed := task(0xd0, "", []snapshot.Frame{stdSleep, fr("fetch_url", "/srv/app/crawler.py", 6, 8)})
	noFrames := task(0xe0, "fresh", nil)
	s := fakeSnapshot(a, b, run, unnamed, noFrames)
	s.Threads[0].Name = "MainThread"
	s.Threads[0].RunningTask = 0xc0
	s.Threads = append(s.Threads, snapshot.Thread{TID: 4243, ThreadID: 99, Name: "db-worker"},
		snapshot.Thread{TID: 4244, ThreadID: 98, HasLoop: true})
	c := startSession(t, fakeServer(faketarget.New(s), Config{}))
	c.attachAndStop(map[string]any{"processId": os.Getpid()})
	var names []string
	for _, th := range c.Threads() {
		names = append(names, th.Name)
	}
	want := []string{
		fmt.Sprintf(`Thread %d "MainThread" · event loop`, os.Getpid()),
		`Thread 4243 "db-worker"`,
		`Thread 4244 · event loop`,
		"⚠ A · a cycle.py:8",
		"⚠ B · b cycle.py:11",
		"▶ Task-3 · produce pipeline.py:20",
		"Task 0xd0 · fetch_url crawler.py:6",
		"fresh",
	}
	if strings.Join(names, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	c.OK("disconnect", nil, nil)
}

// cappedSnapshot is a service with 300 identical idle tasks listed first, a producer, three
// stages and a consumer under one root.
func cappedSnapshot() *snapshot.Snapshot {
	var tasks []snapshot.Task
	for i := range 300 {
		tasks = append(tasks, task(uint64(0x10000+i*0x10), fmt.Sprintf("Task-%d", i+2), []snapshot.Frame{stdSleep, userSleep},
			awaiter(0x100, true, rootMain)))
	}
	tasks = append(tasks, task(0x100, "root", []snapshot.Frame{rootMain}))
	tasks = append(tasks, task(0x200, "producer", []snapshot.Frame{fr("produce", "/srv/app/pipeline.py", 20, 8)}, awaiter(0x100, true, rootMain)))
	for i := range 3 {
		tasks = append(tasks, task(uint64(0x300+i), fmt.Sprintf("stage-%d", i), []snapshot.Frame{fr("stage", "/srv/app/pipeline.py", 30+i, 8)},
			awaiter(0x100, true, rootMain)))
	}
	tasks = append(tasks, task(0x400, "consumer", []snapshot.Frame{fr("consume", "/srv/app/pipeline.py", 40, 8)}, awaiter(0x100, true, rootMain)))
	return fakeSnapshot(tasks...)
}

// TestCappedThreadList: under a cap every place tasks wait keeps a task, the task looked at
// stays, and a last row says how many tasks are left out and where to see them.
func TestCappedThreadList(t *testing.T) {
	c := startSession(t, fakeServer(faketarget.New(cappedSnapshot()), Config{}))
	c.attachAndStop(map[string]any{"processId": os.Getpid(), "maxThreads": 20})
	threads := c.Threads()
	if len(threads) != 20 {
		t.Fatalf("%d rows, want 20: %v", len(threads), threads)
	}
	byName := threadsByName(t, threads)
	for _, name := range []string{"root", "producer", "stage-0", "stage-1", "stage-2", "consumer"} {
		if _, ok := byName[name]; !ok {
			t.Errorf("no row for %s: %v", name, threads)
		}
	}
	more := threads[len(threads)-1]
	// The main thread, 6 tasks that each wait somewhere else, 12 of the 300 idle ones.
	if more.Name != "… 288 more tasks in 1 group — see the Await Tree" {
		t.Errorf("last row %q", more.Name)
	}
	if notice := c.WaitOutput("maxThreads"); !strings.Contains(notice, "18 of 306 tasks") || strings.Contains(notice, "awaitGraph") {
		t.Errorf("cap notice %q", notice)
	}
	// The last row's stack is one line saying where the others are; it has no scopes.
	st := c.StackTrace(more.Id, 0, 0)
	if len(st.StackFrames) != 1 || st.StackFrames[0].PresentationHint != "label" ||
		!strings.Contains(st.StackFrames[0].Name, "the Await Tree shows every task") {
		t.Errorf("stack of the last row: %+v", st.StackFrames)
	}
	if scopes := c.Scopes(st.StackFrames[0].Id); len(scopes) != 0 {
		t.Errorf("scopes of the last row: %+v", scopes)
	}
	// A task beyond the cap that the client looks at is listed from then on.
	var g awaitGraph
	c.OK("aioscope/snapshot", nil, &g)
	var hidden int
	for _, tk := range g.Tasks {
		if _, listed := byName[tk.Name]; !listed {
			hidden = tk.ThreadID
		}
	}
	// The awaitGraph numbers the groups from the largest: the 300 idle tasks are group 0, every
	// other task is alone in its group.
	count := map[int]int{}
	for _, tk := range g.Tasks {
		if tk.Group == nil {
			t.Fatalf("task %s has no group", tk.Name)
		}
		count[*tk.Group]++
		if idle := strings.HasPrefix(tk.Name, "Task-"); idle != (*tk.Group == 0) {
			t.Errorf("task %s in group %d", tk.Name, *tk.Group)
		}
	}
	if len(count) != 7 || count[0] != 300 {
		t.Errorf("groups %v, want 7: one of 300 and six of one", count)
	}
	c.StackTrace(hidden, 0, 1)
	again := c.Threads()
	found := false
	for _, th := range again {
		found = found || th.Id == hidden
	}
	if !found || len(again) != 20 || again[len(again)-1].Id != more.Id {
		t.Errorf("after looking at task %d: listed %v, %d rows, last %v", hidden, found, len(again), again[len(again)-1])
	}
	c.OK("disconnect", nil, nil)
}

// TestSnapshotWhileStopped: a new snapshot while stopped (the aioscope/snapshot request, a pause)
// is a stop that keeps the task and frame looked at, and tells a client that understands it that
// its variables are stale; finished tasks leave the list.
func TestSnapshotWhileStopped(t *testing.T) {
	a := task(0xa0, "a", []snapshot.Frame{userSleep})
	b := task(0xb0, "b", []snapshot.Frame{stdSleep, fr("b", appMain, 5, 8)})
	cc := task(0xc0, "c", []snapshot.Frame{stdSleep, fr("c", appMain, 7, 8)})
	moved := task(0xb0, "b", []snapshot.Frame{stdSleep, fr("b", appMain, 6, 8)})
	snaps := []*snapshot.Snapshot{fakeSnapshot(a, b, cc), fakeSnapshot(a, b, cc), fakeSnapshot(moved, cc), fakeSnapshot(cc)}
	c := startSession(t, fakeServer(faketarget.New(snaps...), Config{}))
	initializeInvalidating(c)
	c.OK("attach", map[string]any{"processId": os.Getpid()}, nil)
	c.Event("initialized")
	c.OK("configurationDone", nil, nil)
	first := stoppedBody(t, c.Event("stopped"))
	byName := threadsByName(t, c.Threads())
	if first.ThreadId != byName["a"] {
		t.Errorf("first stop on %d, want a (%d)", first.ThreadId, byName["a"])
	}
	// The user looks at b's second frame.
	frame := c.StackTrace(byName["b"], 0, 0).StackFrames[1]
	c.Scopes(frame.Id)

	var g awaitGraph
	c.OK("aioscope/snapshot", nil, &g)
	if len(g.Tasks) != 2 {
		t.Errorf("snapshot has %d tasks, want 2", len(g.Tasks))
	}
	c.awaitGraphEvent()
	second := stoppedBody(t, c.Event("stopped"))
	if second.ThreadId != byName["b"] || !second.PreserveFocusHint || !second.AllThreadsStopped {
		t.Errorf("stop after a snapshot while stopped: %+v, want b (%d) with preserveFocusHint", second, byName["b"])
	}
	var inv dap.InvalidatedEventBody
	daptest.Decode(t, c.Event("invalidated").Body, &inv)
	if len(inv.Areas) != 1 || inv.Areas[0] != "variables" {
		t.Errorf("invalidated %+v, want the variables", inv)
	}
	now := threadsByName(t, c.Threads())
	if _, ok := now["a"]; ok {
		t.Errorf("finished task a is still listed: %v", now)
	}
	// The frame id the client kept is b's second frame in the new snapshot.
	st := c.StackTrace(byName["b"], 0, 0).StackFrames
	if st[1].Id != frame.Id || st[1].Line != 6 {
		t.Errorf("b's frame 1 is %+v, want id %d at line 6", st[1], frame.Id)
	}
	if vars := varsByName(c.Variables(scopeNamed(t, c.Scopes(frame.Id), "Task").VariablesReference)); vars["name"].Value != "b" {
		t.Errorf("variables of the kept frame id: %+v, want task b's", vars)
	}

	// A pause while stopped: b has finished, so the stop shows the telling task and takes the
	// focus.
	c.OK("pause", nil, nil)
	third := stoppedBody(t, c.Event("stopped"))
	if third.ThreadId != byName["c"] || third.PreserveFocusHint {
		t.Errorf("stop after b finished: %+v, want c (%d) without preserveFocusHint", third, byName["c"])
	}
	if msg := c.Fail("scopes", map[string]any{"frameId": frame.Id}); !strings.Contains(msg, "earlier snapshot") {
		t.Errorf("scopes of a frame of a finished task: %q", msg)
	}
	c.OK("disconnect", nil, nil)
}

// TestSnapshotWhileRunning: while continued, a new snapshot (the aioscope/snapshot request, or
// the refresh interval) tells the client which listed tasks have finished and which have started.
func TestSnapshotWhileRunning(t *testing.T) {
	a := task(0xa0, "a", []snapshot.Frame{userSleep})
	b := task(0xb0, "b", []snapshot.Frame{userSleep})
	cc := task(0xc0, "c", []snapshot.Frame{userSleep})
	d := task(0xd0, "d", []snapshot.Frame{userSleep})
	snaps := []*snapshot.Snapshot{fakeSnapshot(a, b), fakeSnapshot(a, b), fakeSnapshot(b, cc), fakeSnapshot(b, d)}
	c := startSession(t, fakeServer(faketarget.New(snaps...), Config{}))
	c.attachAndStop(map[string]any{"processId": os.Getpid(), "refreshInterval": 0})
	byName := threadsByName(t, c.Threads())
	c.OK("continue", nil, nil)
	c.Event("continued")

	c.OK("aioscope/snapshot", nil, nil)
	c.awaitGraphEvent()
	events := threadEvents(t, c, 2)
	if events[0] != (dap.ThreadEventBody{Reason: "exited", ThreadId: byName["a"]}) || events[1].Reason != "started" {
		t.Errorf("thread events %+v, want a exited and c started", events)
	}
	now := threadsByName(t, c.Threads())
	if now["c"] != events[1].ThreadId {
		t.Errorf("started thread %d, c is %d", events[1].ThreadId, now["c"])
	}
	if msgs := c.Drain(50 * time.Millisecond); len(msgs) != 0 {
		for _, m := range msgs {
			if m.IsEvent("stopped") {
				t.Errorf("a stopped event while running: %s", m.Raw)
			}
		}
	}
	c.OK("disconnect", nil, nil)
}

func threadEvents(t *testing.T, c *client, n int) []dap.ThreadEventBody {
	t.Helper()
	out := make([]dap.ThreadEventBody, n)
	for i := range out {
		daptest.Decode(t, c.Event("thread").Body, &out[i])
	}
	return out
}

// TestLiveRefreshThreadEvents: the refresh loop sends the thread events too, and no stop.
func TestLiveRefreshThreadEvents(t *testing.T) {
	var snaps []*snapshot.Snapshot
	snaps = append(snaps, fakeSnapshot(task(0x1, "t1", nil)), fakeSnapshot(task(0x1, "t1", nil)))
	for i := 2; i < 6; i++ {
		snaps = append(snaps, fakeSnapshot(task(uint64(i), fmt.Sprintf("t%d", i), nil)))
	}
	c := startSession(t, fakeServer(faketarget.New(snaps...), Config{}))
	c.attachAndStop(map[string]any{"processId": os.Getpid(), "refreshInterval": 20})
	c.Threads()
	c.OK("continue", nil, nil)
	ev := threadEvents(t, c, 2)
	if ev[0].Reason != "exited" || ev[1].Reason != "started" {
		t.Errorf("refresh thread events %+v", ev)
	}
	c.OK("disconnect", nil, nil)
}

// TestErrorResponsesShowUser: errors are shown where the request came from (showUser false),
// except a failed attach, which the client shows as it sees fit, with the link it asked for.
func TestErrorResponsesShowUser(t *testing.T) {
	srv := fakeServer(faketarget.New(fakeSnapshot()), Config{})
	c := startSession(t, srv)
	c.Initialize()
	m := c.Request("attach", map[string]any{"processId": 0, "errorLink": map[string]any{"url": "command:aioscope.attach", "label": "Pick Another Process…"}})
	var body struct {
		Error map[string]any `json:"error"`
	}
	if err := json.Unmarshal(m.Body, &body); err != nil || m.Success {
		t.Fatalf("attach: %s", m.Raw)
	}
	if _, ok := body.Error["showUser"]; ok || body.Error["url"] != "command:aioscope.attach" || body.Error["urlLabel"] != "Pick Another Process…" {
		t.Errorf("failed attach's error %v: want no showUser and the link", body.Error)
	}
	m = c.Request("attach", map[string]any{"processId": 0})
	body.Error = nil
	_ = json.Unmarshal(m.Body, &body)
	if _, ok := body.Error["url"]; ok {
		t.Errorf("failed attach without errorLink: %v", body.Error)
	}
	c.OK("attach", map[string]any{"processId": os.Getpid()}, nil)
	for _, req := range []struct {
		command string
		args    any
	}{{"stackTrace", map[string]any{"threadId": 999}}, {"next", nil}, {"scopes", map[string]any{"frameId": 999}}} {
		m := c.Request(req.command, req.args)
		body.Error = nil
		_ = json.Unmarshal(m.Body, &body)
		if show, ok := body.Error["showUser"]; !ok || show != false {
			t.Errorf("%s error %v: want showUser false", req.command, body.Error)
		}
	}
	c.OK("disconnect", nil, nil)
}
