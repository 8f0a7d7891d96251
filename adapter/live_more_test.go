package adapter

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-dap"

	"github.com/aioscope/aioscope/internal/testtarget"
)

// TestLiveUnicodeColumns: non-ASCII function, task and file names (unicode.py), with columns
// converted from CPython's UTF-8 byte offsets to the protocol's UTF-16 code units, against
// CPython 3.15's own reader (3.14's garbles non-ASCII strings).
func TestLiveUnicodeColumns(t *testing.T) {
	tg, c := liveSession(t, "3.15", "unicode.py")
	_, g := c.attachAndStop(map[string]any{"processId": tg.PID})
	if n := checkTaskFramesAgainstUnwinder(t, c, tg, g); n != len(g.Tasks) || n < 9 {
		t.Errorf("compared the frames of %d of %d tasks with CPython's get_all_awaited_by", n, len(g.Tasks))
	}
	byName := threadsByName(t, c.threads())
	for _, name := range []string{"café-crème", "λάμβδα-task", "🚀-launch", "𐌀𐌁𐌂𐌃", "naïve-名前", "Ünïcode-grupo", "niño-1"} {
		if _, ok := byName[name]; !ok {
			t.Errorf("no thread named %q", name)
		}
	}
	st := c.stackTrace(byName["naïve-名前"], 0, 0).StackFrames
	found := false
	for _, f := range st {
		if f.Source != nil && strings.HasSuffix(f.Source.Path, "/unicodé/módulo.py") {
			found = true
		}
	}
	if !found {
		t.Errorf("naïve-名前 has no frame in unicodé/módulo.py: %s", frameNames(st))
	}
	c.ok("disconnect", nil, nil)
}

// TestLiveBlockedLoop: a task that freezes the event loop with a blocking call (blocked.py). The
// main thread's stack shows the blocking call inside the task's coroutines, the task is reported
// as running on that thread, and its stack still leads up to the task awaiting it.
func TestLiveBlockedLoop(t *testing.T) {
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			tg, c := liveSession(t, version, "blocked.py")
			_, g := c.attachAndStop(map[string]any{"processId": tg.PID})
			byName := threadsByName(t, c.threads())
			mainID := byName[fmt.Sprintf("Thread %d (MainThread)", tg.PID)]
			if mainID == 0 {
				t.Fatalf("no main thread in %v", byName)
			}
			agreeWithUnwinder(t, c, tg, map[uint64]int{uint64(tg.PID): mainID})
			st := c.stackTrace(mainID, 0, 0).StackFrames
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
			fst := c.stackTrace(freezer, 0, 0).StackFrames
			// The running coroutine awaits nothing yet, so, as for CPython, the task's own chain
			// ends at it: the calls it is making are on the thread's stack.
			if len(fst) < 2 || fst[0].Name != "freezer" || fst[1].Name != "awaited by Task-1" {
				t.Errorf("freezer's stack %s", frameNames(fst))
			}
			vars := varsByName(c.variables(c.scopes(fst[0].Id)[0].VariablesReference))
			if want := fmt.Sprintf("running on Thread %d (MainThread)", tg.PID); vars["state"].Value != want {
				t.Errorf("freezer's state %q, want %q", vars["state"].Value, want)
			}
			if n := checkStacksAgainstPSTree(t, c, tg, byName, nil); n < 4 {
				t.Errorf("compared %d stacks with pstree, want at least 4", n)
			}
			c.ok("disconnect", nil, nil)
			testtarget.ExpectRunning(t, tg.PID)
		})
	}
}

// linesMatching returns the 1-based number of the only line of file containing text.
func linesMatching(t *testing.T, file, text string) int {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, text) {
			if found != 0 {
				t.Fatalf("%s has %q on lines %d and %d", file, text, found, i+1)
			}
			found = i + 1
		}
	}
	if found == 0 {
		t.Fatalf("%s has no line with %q", file, text)
	}
	return found
}

// TestLiveChurnThreadIDs follows churn.py, which creates and finishes thousands of tasks a
// second (Python reuses a finished task's memory for the next one), through the refresh events:
// a thread id always stands for the same task (address and name), never for another one, and a
// task keeps its id from one snapshot to the next.
func TestLiveChurnThreadIDs(t *testing.T) {
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			tg, c := liveSession(t, version, "churn.py")
			_, first := c.attachAndStop(map[string]any{"processId": tg.PID, "refreshInterval": 20, "retries": 10})
			c.ok("continue", nil, nil)
			graphs := []awaitGraph{first}
			deadline := time.Now().Add(2 * time.Second)
			for time.Now().Before(deadline) {
				m, err := c.next(deadline)
				if err != nil {
					break
				}
				if m.Type == "event" && m.Event == "aioscope/awaitGraph" {
					var g awaitGraph
					decode(t, m.Body, &g)
					graphs = append(graphs, g)
				}
			}
			c.ok("pause", nil, nil)
			c.event("stopped")
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
			c.ok("disconnect", nil, nil)
			testtarget.ExpectRunning(t, tg.PID)
		})
	}
}

// TestLiveOtherMountNamespace: the program's file exists only in the target's mount namespace
// (as in a container): the stack frames name it through /proc/PID/root, where a client on this
// machine can open it, with lines and columns read from it there. Files both see keep their name.
func TestLiveOtherMountNamespace(t *testing.T) {
	unshare, err := exec.LookPath("unshare")
	if err != nil || os.Geteuid() != 0 {
		testtarget.Unavailable(t, "needs root and unshare(1) to create a mount namespace (euid %d, %v)", os.Geteuid(), err)
	}
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			python := testtarget.Python(t, version)
			dir := t.TempDir()
			// Inside the new namespace a private tmpfs hides dir; the program's copy lives only there.
			script := `mount -t tmpfs tmpfs "$1" && cp "$2" "$1/app.py" && exec "$3" -B -E -s "$1/app.py"`
			tg := testtarget.StartCommand(t, version, nil, unshare, "--mount", "--propagation", "private", "--",
				"sh", "-c", script, "sh", dir, testtarget.ScenarioPath("tree.py"), python)
			testtarget.WatchState(t, tg.PID)
			app := filepath.Join(dir, "app.py")
			if _, err := os.Stat(app); err == nil {
				t.Fatal("the program's copy is visible outside the target's mount namespace")
			}
			mapped := filepath.Join("/proc", strconv.Itoa(tg.PID), "root", app)

			c := startSession(t, NewServer(Config{}))
			_, g := c.attachAndStop(map[string]any{"processId": tg.PID})
			byName := threadsByName(t, c.threads())
			st := c.stackTrace(byName["A-leaf-1"], 0, 0).StackFrames
			var own, stdlib []dap.StackFrame
			for _, f := range st {
				switch {
				case f.Source == nil:
				case f.Source.Path == mapped:
					own = append(own, f)
				case strings.Contains(f.Source.Path, "/asyncio/"):
					stdlib = append(stdlib, f)
				}
			}
			if len(own) != 4 || len(stdlib) == 0 {
				t.Fatalf("A-leaf-1's frames %s: %d in %s, %d in asyncio; sources %v", frameNames(st), len(own), mapped, len(stdlib), sources(st))
			}
			for _, f := range stdlib {
				if strings.HasPrefix(f.Source.Path, "/proc/") || f.PresentationHint != "subtle" {
					t.Errorf("asyncio frame %s: path %s hint %q, want the path both see and subtle", f.Name, f.Source.Path, f.PresentationHint)
				}
			}
			// deep() awaits asyncio.sleep: line and column come from the file seen through
			// /proc/PID/root.
			if want := linesMatching(t, mapped, "await asyncio.sleep(10_000)"); own[0].Name != "deep" || own[0].Line != want || own[0].Column != 5 {
				t.Errorf("deep's frame %+v, want line %d column 5", own[0], want)
			}
			for _, task := range g.Tasks {
				if task.Name != "A-leaf-1" {
					continue
				}
				for _, f := range task.Frames {
					if f.Name == "deep" && f.Path != mapped {
						t.Errorf("awaitGraph: deep's path %q, want %q", f.Path, mapped)
					}
				}
			}
			c.ok("disconnect", nil, nil)
			testtarget.ExpectRunning(t, tg.PID)
		})
	}
}

func sources(frames []dap.StackFrame) []string {
	var out []string
	for _, f := range frames {
		if f.Source != nil {
			out = append(out, f.Source.Path)
		}
	}
	return out
}
