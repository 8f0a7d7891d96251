package adapter

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-dap"

	"github.com/aioscope/aioscope/internal/daptest"
	"github.com/aioscope/aioscope/internal/testtarget"
)

// TestLiveThreads checks the OS threads of threads.py (three event loops, one in a thread that
// has exited) against CPython's unwinder.
func TestLiveThreads(t *testing.T) {
	liveTest(t, "threads.py", nil, func(t *testing.T, tg *testtarget.Target, c *client) {
		_, g := c.attachAndStop(map[string]any{"processId": tg.PID})
		threads := c.Threads()
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
		// OS threads are named after their threading.Thread; each of them runs an event loop.
		var names []string
		for _, th := range osThreads {
			names = append(names, strings.TrimPrefix(th.Name, strings.Join(strings.Fields(th.Name)[:2], " ")+" "))
		}
		slices.Sort(names)
		if want := []string{`"MainThread" · event loop`, `"Thread-1 (run_loop)" · event loop`, `"Thread-2 (run_loop)" · event loop`}; !slices.Equal(names, want) {
			t.Errorf("OS threads named %q, want %q", names, want)
		}
		// The task of the thread that exited has no thread.
		for _, task := range g.Tasks {
			if task.Name != "orphan-from-dead-thread" {
				continue
			}
			scopes := c.Scopes(c.StackTrace(task.ThreadID, 0, 1).StackFrames[0].Id)
			v := varsByName(c.Variables(scopeNamed(t, scopes, "Task").VariablesReference))
			if !strings.Contains(v["thread"].Value, "exited") {
				t.Errorf("orphan task's thread: %+v", v["thread"])
			}
		}
		c.OK("disconnect", nil, nil)
	})
}

func TestLiveManyTasks(t *testing.T) {
	liveTest(t, "many.py", []string{"2000"}, func(t *testing.T, tg *testtarget.Target, c *client) {
		_, g := c.attachAndStop(map[string]any{"processId": tg.PID})
		if len(g.Tasks) != 2001 {
			t.Fatalf("awaitGraph has %d tasks, want 2001", len(g.Tasks))
		}
		threads := c.Threads()
		if len(threads) != DefaultMaxThreads {
			t.Errorf("%d threads listed, want the default cap %d", len(threads), DefaultMaxThreads)
		}
		// The main thread, 998 tasks, and a row saying how many more there are.
		if notice := c.WaitOutput("maxThreads"); !strings.Contains(notice, thousands(DefaultMaxThreads-2)+" of 2,001 tasks") {
			t.Errorf("cap notice %q", notice)
		}
		if more := threads[len(threads)-1].Name; more != "… 1,003 more tasks in 1 group — see the Await Tree" {
			t.Errorf("the capped list ends with %q", more)
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
		c.StackTrace(last.ThreadID, 0, 1)
		again := c.Threads()
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
		c.OK("disconnect", nil, nil)

		// No cap.
		c2 := startSession(t, NewServer(Config{}))
		c2.attachAndStop(map[string]any{"processId": tg.PID, "maxThreads": 0})
		if n := len(c2.Threads()); n != 2002 {
			t.Errorf("maxThreads 0: %d threads, want 2002", n)
		}
		c2.OK("disconnect", nil, nil)
	})
}

// TestLiveBlockedLoop: a task that freezes the event loop with a blocking call (blocked.py). The
// main thread's stack shows the blocking call inside the task's coroutines, the task is reported
// as running on that thread, and its stack still leads up to the task awaiting it.
func TestLiveBlockedLoop(t *testing.T) {
	liveTest(t, "blocked.py", nil, func(t *testing.T, tg *testtarget.Target, c *client) {
		_, g := c.attachAndStop(map[string]any{"processId": tg.PID})
		byName := threadsByName(t, c.Threads())
		mainID := byName[mainThreadRow(tg.PID)]
		if mainID == 0 {
			t.Fatalf("no main thread in %v", byName)
		}
		agreeWithUnwinder(t, c, tg, map[uint64]int{uint64(tg.PID): mainID})
		st := c.StackTrace(mainID, 0, 0).StackFrames
		want := []string{"block", "inner", "freezer"}
		if len(st) < len(want) || frameNames(st[:len(want)]) != strings.Join(want, " | ") {
			t.Fatalf("main thread's stack %s, want it to start with %v", frameNames(st), want)
		}
		if line := linesMatching(t, testtarget.ScenarioPath("blocked.py"), "time.sleep(3600)"); st[0].Line != line {
			t.Errorf("the blocking call is shown at line %d, want %d", st[0].Line, line)
		}

		freezer := byName["freezer"]
		var running int
		for _, th := range g.Threads {
			if th.Main {
				running = th.RunningThreadID
			}
		}
		if running != freezer {
			t.Errorf("awaitGraph: the main thread runs thread %d, want freezer (%d)", running, freezer)
		}
		fst := c.StackTrace(freezer, 0, 0).StackFrames
		// The running coroutine awaits nothing yet, so, as for CPython, the task's own chain
		// ends at it: the calls it is making are on the thread's stack.
		if len(fst) < 2 || fst[0].Name != "freezer" || fst[1].Name != "awaited by Task-1" {
			t.Errorf("freezer's stack %s", frameNames(fst))
		}
		vars := varsByName(c.Variables(scopeNamed(t, c.Scopes(fst[0].Id), "Task").VariablesReference))
		if want := "running on " + mainThreadRow(tg.PID); vars["state"].Value != want {
			t.Errorf("freezer's state %q, want %q", vars["state"].Value, want)
		}
		if n := checkStacksAgainstPSTree(t, c, tg, byName, nil); n < 4 {
			t.Errorf("compared %d stacks with pstree, want at least 4", n)
		}
		c.OK("disconnect", nil, nil)
		testtarget.ExpectRunning(t, tg.PID)
	})
}

// TestLiveChurnThreadIDs follows churn.py, which creates and finishes thousands of tasks a
// second (Python reuses a finished task's memory for the next one), through the refresh events:
// a thread id always stands for the same task (address and name), never for another one, and a
// task keeps its id from one snapshot to the next.
func TestLiveChurnThreadIDs(t *testing.T) {
	liveTest(t, "churn.py", nil, func(t *testing.T, tg *testtarget.Target, c *client) {
		_, first := c.attachAndStop(map[string]any{"processId": tg.PID, "refreshInterval": 20, "retries": 10})
		// The thread list the client holds, kept up to date by the thread events that follow
		// each refresh.
		known := map[int]bool{}
		for _, th := range c.Threads() {
			known[th.Id] = true
		}
		c.OK("continue", nil, nil)
		graphs := []awaitGraph{first}
		exited, started := 0, 0
		// Two seconds of refreshes, then a pause, which stops them: the last refresh and its
		// thread events come before the pause's response.
		deadline := time.Now().Add(2 * time.Second)
		pause := 0
		for {
			if pause == 0 && time.Now().After(deadline) {
				pause = c.Send("pause", nil)
			}
			m, err := c.Next(time.Now().Add(msgTimeout))
			if err != nil {
				t.Fatalf("waiting for the pause's response: %v", err)
			}
			if pause != 0 && m.Type == "response" && m.RequestSeq == pause {
				break
			}
			switch {
			case m.IsEvent("aioscope/awaitGraph"):
				var g awaitGraph
				daptest.Decode(t, m.Body, &g)
				graphs = append(graphs, g)
			case m.IsEvent("thread"):
				var ev dap.ThreadEventBody
				daptest.Decode(t, m.Body, &ev)
				switch {
				case ev.Reason == "exited" && known[ev.ThreadId]:
					delete(known, ev.ThreadId)
					exited++
				case ev.Reason == "started" && !known[ev.ThreadId]:
					known[ev.ThreadId] = true
					started++
				default:
					t.Errorf("thread event %+v for a thread the client has (%v)", ev, known[ev.ThreadId])
				}
			case m.IsEvent("stopped"):
				t.Errorf("a stopped event while continued: %s", m.Raw)
			}
		}
		// After the events that follow a snapshot, the client holds its threads.
		last := graphs[len(graphs)-1]
		want := map[int]bool{}
		for _, task := range last.Tasks {
			want[task.ThreadID] = true
		}
		for _, th := range last.Threads {
			want[th.ThreadID] = true
		}
		if fmt.Sprint(want) != fmt.Sprint(known) || exited == 0 || started == 0 {
			t.Errorf("after %d exited and %d started events the client holds %d threads, the last snapshot has %d", exited, started, len(known), len(want))
		}
		c.Event("stopped")
		if len(graphs) < 10 {
			t.Fatalf("%d snapshots in 2s with refreshInterval 20ms", len(graphs))
		}

		type identity struct{ taskID, name string }
		owner := map[int]identity{}  // thread id -> the task it stands for
		names := map[string]string{} // address -> a name seen there
		reused, kept, compared := 0, 0, 0
		var prev map[identity]int
		for _, g := range graphs {
			cur := map[identity]int{}
			for _, task := range g.Tasks {
				id := identity{task.TaskID, task.Name}
				if o, ok := owner[task.ThreadID]; ok && o != id {
					t.Errorf("thread %d stood for %v and now for %v", task.ThreadID, o, id)
				}
				owner[task.ThreadID] = id
				if n, ok := names[task.TaskID]; ok && n != task.Name {
					reused++
				}
				names[task.TaskID] = task.Name
				cur[id] = task.ThreadID
				if old, ok := prev[id]; ok {
					compared++
					if old != task.ThreadID {
						t.Errorf("task %v changed thread id from %d to %d between two snapshots", id, old, task.ThreadID)
					} else {
						kept++
					}
				}
			}
			prev = cur
		}
		for _, th := range graphs[len(graphs)-1].Threads {
			if _, ok := owner[th.ThreadID]; ok {
				t.Errorf("OS thread %q has thread id %d, which a task had", th.Name, th.ThreadID)
			}
		}
		if compared == 0 || kept == 0 {
			t.Errorf("no task was seen in two consecutive snapshots (%d snapshots)", len(graphs))
		}
		t.Logf("%d snapshots, %d tasks seen, %d kept their id across snapshots, %d addresses reused by another task",
			len(graphs), len(owner), kept, reused)
		c.OK("disconnect", nil, nil)
		testtarget.ExpectRunning(t, tg.PID)
	})
}

// TestLiveCappedService: service.py's pipeline hides among thousands of identical tasks, the
// first 700 of them in another thread. The capped list still shows every task of the pipeline,
// the lock holder and a few of each crowd, and says how many are left out.
func TestLiveCappedService(t *testing.T) {
	liveTest(t, "service.py", []string{"3000", "700"}, func(t *testing.T, tg *testtarget.Target, c *client) {
		_, g := c.attachAndStop(map[string]any{"processId": tg.PID})
		if len(g.Tasks) < 3700 {
			t.Fatalf("awaitGraph has %d tasks, want at least 3,700", len(g.Tasks))
		}
		threads := c.Threads()
		if len(threads) != DefaultMaxThreads {
			t.Fatalf("%d rows, want %d", len(threads), DefaultMaxThreads)
		}
		byName := threadsByName(t, threads)
		for _, name := range []string{"producer", "stage-0", "stage-1", "stage-2", "consumer", "Task-1"} {
			if _, ok := byName[name]; !ok {
				t.Errorf("no row for %s", name)
			}
		}
		held := fmt.Sprintf(" · Pool.request service.py:%d", linesMatching(t, testtarget.ScenarioPath("service.py"), "# the lock holder"))
		var lockWaiters, idle, holder int
		for _, th := range threads {
			switch {
			case strings.Contains(th.Name, " · handle "):
				t.Errorf("row %q: the innermost frame outside asyncio is Pool.request", th.Name)
			case strings.HasSuffix(th.Name, held):
				holder++
			case strings.Contains(th.Name, " · Pool.request "):
				lockWaiters++
			case strings.Contains(th.Name, " · keepalive.<locals>.idle "):
				idle++
			}
		}
		if holder != 1 || lockWaiters < 100 || idle < 100 {
			t.Errorf("listed the lock holder %d times, %d lock waiters and %d idle tasks", holder, lockWaiters, idle)
		}
		more := threads[len(threads)-1].Name
		left := len(g.Tasks) - (DefaultMaxThreads - 1 - len(g.Threads))
		if want := fmt.Sprintf("… %s more tasks in 2 groups — see the Await Tree", thousands(left)); more != want {
			t.Errorf("last row %q, want %q", more, want)
		}
		c.OK("disconnect", nil, nil)
	})
}
