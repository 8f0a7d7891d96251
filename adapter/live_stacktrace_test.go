package adapter

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-dap"

	"github.com/aioscope/aioscope/internal/daptest"
	"github.com/aioscope/aioscope/internal/testtarget"
)

// TestLiveEdgeScenario runs edge.py (async generators, a 1200-line function, a 50-deep await
// chain, shared awaiters, futures) through the adapter: every thread must have a stack whose
// frames look sane, and the custom request must agree with the threads.
func TestLiveEdgeScenario(t *testing.T) {
	tg, c := liveSession(t, "3.15", "edge.py")
	_, g := c.attachAndStop(map[string]any{"processId": tg.PID})
	threads := c.Threads()
	if len(threads) != len(g.Tasks)+len(g.Threads) {
		t.Errorf("%d threads for %d tasks and %d OS threads", len(threads), len(g.Tasks), len(g.Threads))
	}
	for _, th := range threads {
		st := c.StackTrace(th.Id, 0, 0)
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
	byName := threadsByName(t, threads)
	// big_linetable was compiled from a string under a relative name: no path to open.
	st := c.StackTrace(byName["biglinetable"], 0, 0).StackFrames
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
	deep := c.StackTrace(byName["chain50"], 10, 20)
	if len(deep.StackFrames) != 20 || deep.TotalFrames < 52 {
		t.Errorf("chain50 page: %d frames of %d", len(deep.StackFrames), deep.TotalFrames)
	}
	// The shared task is awaited by several waiters.
	scopes := c.Scopes(c.StackTrace(byName["shared"], 0, 1).StackFrames[0].Id)
	vars := varsByName(c.Variables(scopeNamed(t, scopes, "Task").VariablesReference))
	if vars["awaited by"].IndexedVariables < 2 {
		t.Errorf("shared is awaited by %+v", vars["awaited by"])
	}
	c.OK("disconnect", nil, nil)
}

// TestLiveUnicodeColumns: non-ASCII function, task and file names (unicode.py), with columns
// converted from CPython's UTF-8 byte offsets to the protocol's UTF-16 code units, against
// CPython 3.15's own reader (3.14's garbles non-ASCII strings).
func TestLiveUnicodeColumns(t *testing.T) {
	tg, c := liveSession(t, "3.15", "unicode.py")
	_, g := c.attachAndStop(map[string]any{"processId": tg.PID})
	if n := checkTaskFramesAgainstUnwinder(t, c, tg, g); n != len(g.Tasks) || n < 9 {
		t.Errorf("compared the frames of %d of %d tasks with CPython's get_all_awaited_by", n, len(g.Tasks))
	}
	byName := threadsByName(t, c.Threads())
	for _, name := range []string{"café-crème", "λάμβδα-task", "🚀-launch", "𐌀𐌁𐌂𐌃", "naïve-名前", "Ünïcode-grupo", "niño-1"} {
		if _, ok := byName[name]; !ok {
			t.Errorf("no thread named %q", name)
		}
	}
	st := c.StackTrace(byName["naïve-名前"], 0, 0).StackFrames
	found := false
	for _, f := range st {
		if f.Source != nil && strings.HasSuffix(f.Source.Path, "/unicodé/módulo.py") {
			found = true
		}
	}
	if !found {
		t.Errorf("naïve-名前 has no frame in unicodé/módulo.py: %s", frameNames(st))
	}
	c.OK("disconnect", nil, nil)
}

// TestLiveOtherMountNamespace: the program's file exists only in the target's mount namespace
// (as in a container): the stack frames name it through /proc/PID/root, where a client on this
// machine can open it, with lines and columns read from it there. Files both see keep their name.
func TestLiveOtherMountNamespace(t *testing.T) {
	unshare := testtarget.Unshare(t)
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
			byName := threadsByName(t, c.Threads())
			st := c.StackTrace(byName["A-leaf-1"], 0, 0).StackFrames
			var own, stdlib []dap.StackFrame
			for _, f := range st {
				switch {
				case f.Source == nil:
				case f.Source.Path == mapped:
					own = append(own, f)
				case strings.Contains(f.Source.Path, "/asyncio/") && f.PresentationHint != "label":
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
			c.OK("disconnect", nil, nil)
			testtarget.ExpectRunning(t, tg.PID)
		})
	}
}

func TestLiveCycle(t *testing.T) {
	liveTest(t, "cycle.py", nil, func(t *testing.T, tg *testtarget.Target, c *client) {
		c.Initialize()
		c.OK("attach", map[string]any{"processId": tg.PID}, nil)
		c.OK("configurationDone", nil, nil)
		g := c.awaitGraphEvent()
		var cycles struct {
			Cycles [][]struct {
				ThreadID int    `json:"threadId"`
				Name     string `json:"name"`
			} `json:"cycles"`
		}
		daptest.Decode(t, c.Event("aioscope/cycles").Body, &cycles)
		c.Event("stopped")

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

		byName := threadsByName(t, c.Threads())
		st := c.StackTrace(byName["A"], 0, 0).StackFrames
		var names []string
		for _, f := range st {
			names = append(names, f.Name)
		}
		wantNames := "[main.<locals>.a awaited by B main.<locals>.b awaited by A (await cycle)]"
		if fmt.Sprint(names) != wantNames {
			t.Errorf("stack of A: %v, want %s", names, wantNames)
		}
		c.OK("disconnect", nil, nil)
		testtarget.ExpectRunning(t, tg.PID)
	})
}
