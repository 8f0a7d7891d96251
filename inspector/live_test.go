package inspector_test

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aioscope/aioscope/cpython"
	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/internal/procfs"
	"github.com/aioscope/aioscope/internal/testtarget"
	"github.com/aioscope/aioscope/snapshot"
)

var versions = []string{"3.14", "3.15"}

// attach attaches to the process pid, failing the test when it cannot.
func attach(t *testing.T, pid int, opts inspector.Options) *inspector.Process {
	t.Helper()
	p, err := inspector.Attach(pid, opts)
	if err != nil {
		t.Fatalf("Attach(%d): %v", pid, err)
	}
	return p
}

// attachSnapshot attaches to the process pid and takes a snapshot, failing the test when either
// fails.
func attachSnapshot(t *testing.T, pid int, opts inspector.Options) (*inspector.Process, *snapshot.Snapshot) {
	t.Helper()
	p := attach(t, pid, opts)
	s, err := p.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot(%d): %v", pid, err)
	}
	return p, s
}

func snap(t *testing.T, pid int, opts inspector.Options) *snapshot.Snapshot {
	t.Helper()
	_, s := attachSnapshot(t, pid, opts)
	return s
}

func tasksByName(s *snapshot.Snapshot) map[string]*snapshot.Task {
	m := map[string]*snapshot.Task{}
	for i := range s.Tasks {
		m[s.Tasks[i].Name] = &s.Tasks[i]
	}
	return m
}

func functions(fs []snapshot.Frame) string {
	var names []string
	for _, f := range fs {
		names = append(names, f.Function)
	}
	return strings.Join(names, " -> ")
}

// TestSnapshotModel checks the snapshot of a TaskGroup tree beyond what the text output shows:
// names in every string kind, awaiter links, frames with files and lines, the threads.
func TestSnapshotModel(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			tg := testtarget.Start(t, v, "tree.py")
			s := snap(t, tg.PID, inspector.Options{Retries: inspector.DefaultRetries})
			if s.PID != tg.PID || !strings.HasPrefix(s.PythonVersion, v+".") {
				t.Errorf("snapshot of %d says pid %d, version %q", tg.PID, s.PID, s.PythonVersion)
			}
			byName := tasksByName(s)
			for _, name := range []string{"Task-1", "Task-A", "Task-B", "A-leaf-1", "gatherer", "tâche-ünïcode", "emoji-😀"} {
				if byName[name] == nil {
					t.Errorf("task %q missing; have %d tasks", name, len(s.Tasks))
				}
			}
			leaf := byName["A-leaf-1"]
			if leaf != nil {
				if got := functions(leaf.Frames); got != "sleep -> deep -> c1" {
					t.Errorf("A-leaf-1 frames = %q", got)
				}
				if len(leaf.AwaitedBy) != 1 || leaf.AwaitedBy[0].ID != byName["Task-A"].ID || !leaf.AwaitedBy[0].IsTask {
					t.Errorf("A-leaf-1 awaited by %+v, want Task-A", leaf.AwaitedBy)
				}
				// deep() is suspended in its only statement, the line after its def.
				f := leaf.Frames[1]
				want := lineOf(t, testtarget.ScenarioPath("tree.py"), "async def deep():") + 1
				if !strings.HasSuffix(f.File, "tree.py") || !f.HasLine || f.Line != want || f.Column < 0 {
					t.Errorf("deep frame = %+v, want tree.py:%d with a column", f, want)
				}
			}
			if len(s.Cycles) != 0 {
				t.Errorf("cycles in an acyclic tree: %v", s.Cycles)
			}
			if len(s.Threads) != 1 || !s.Threads[0].Main || s.Threads[0].TID != uint64(tg.PID) {
				t.Fatalf("threads = %+v, want the main thread only", s.Threads)
			}
			if got := functions(s.Threads[0].Frames); !strings.Contains(got, "BaseEventLoop.run_forever") {
				t.Errorf("main thread frames %q do not show the event loop", got)
			}
		})
	}
}

// TestAllThreads: aioscope reads every thread's tasks on both versions, while CPython 3.14's tool
// reads only the main thread's; MainThreadOnly reproduces the latter.
func TestAllThreads(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			tg := testtarget.Start(t, v, "threads.py")
			all := snap(t, tg.PID, inspector.Options{Retries: inspector.DefaultRetries})
			byName := tasksByName(all)
			tids := map[uint64]bool{}
			for _, name := range []string{"thrA-t0", "thrA-t1", "thrB-t0", "thrB-t1"} {
				task := byName[name]
				if task == nil {
					t.Fatalf("task %s of a worker thread missing", name)
				}
				if task.TID == 0 || task.TID == uint64(tg.PID) {
					t.Errorf("task %s has tid %d, want its worker thread's", name, task.TID)
				}
				tids[task.TID] = true
			}
			if len(tids) != 2 {
				t.Errorf("worker tasks spread over %d threads, want 2", len(tids))
			}
			if o := byName["orphan-from-dead-thread"]; o == nil || o.TID != 0 {
				t.Errorf("orphan task = %+v, want tid 0", o)
			}
			if len(all.Threads) < 3 {
				t.Errorf("%d threads, want at least 3", len(all.Threads))
			}
			main := tasksByName(snap(t, tg.PID, inspector.Options{Retries: inspector.DefaultRetries, MainThreadOnly: true}))
			if main["thrA-t0"] != nil || main["main-t0"] == nil || main["orphan-from-dead-thread"] == nil {
				t.Errorf("MainThreadOnly snapshot has tasks %v", main)
			}
		})
	}
}

func TestAttachErrors(t *testing.T) {
	t.Run("no such process", func(t *testing.T) {
		_, err := inspector.Attach(1<<22+12345, inspector.Options{})
		var nf *inspector.ProcessNotFoundError
		if !errors.As(err, &nf) {
			t.Fatalf("err = %v, want ProcessNotFoundError", err)
		}
	})
	t.Run("not python", func(t *testing.T) {
		cmd := exec.Command("sleep", "60")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		_, err := inspector.Attach(cmd.Process.Pid, inspector.Options{})
		var np *inspector.NotPythonError
		if !errors.As(err, &np) {
			t.Fatalf("err = %v, want NotPythonError", err)
		}
	})
	t.Run("zombie", func(t *testing.T) {
		cmd := exec.Command("true")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Wait()
		waitState(t, cmd.Process.Pid, 'Z')
		_, err := inspector.Attach(cmd.Process.Pid, inspector.Options{})
		var gone *inspector.ProcessGoneError
		if !errors.As(err, &gone) {
			t.Fatalf("err = %v, want ProcessGoneError", err)
		}
	})
	t.Run("python 3.13", func(t *testing.T) {
		tg := testtarget.Start(t, "3.13", "noasyncio.py")
		_, err := inspector.Attach(tg.PID, inspector.Options{})
		var uv *cpython.UnsupportedVersionError
		if !errors.As(err, &uv) || uv.Version.Minor != 13 || !strings.Contains(err.Error(), "3.13.") {
			t.Fatalf("err = %v, want an unsupported-version error naming 3.13", err)
		}
	})
	t.Run("3.14 without asyncio", func(t *testing.T) {
		tg := testtarget.Start(t, "3.14", "noasyncio.py")
		p, err := inspector.Attach(tg.PID, inspector.Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Snapshot()
		var na *inspector.AsyncioNotLoadedError
		if !errors.As(err, &na) {
			t.Fatalf("err = %v, want AsyncioNotLoadedError", err)
		}
	})
	t.Run("3.15 without asyncio", func(t *testing.T) {
		// _asyncio is built into 3.15: the table is there and the task lists are empty.
		tg := testtarget.Start(t, "3.15", "noasyncio.py")
		s := snap(t, tg.PID, inspector.Options{Retries: inspector.DefaultRetries})
		if len(s.Tasks) != 0 || len(s.Threads) == 0 {
			t.Fatalf("snapshot has %d tasks, %d threads; want no tasks and the main thread", len(s.Tasks), len(s.Threads))
		}
	})
}

func waitState(t *testing.T, pid int, want byte) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if st, err := procfs.ReadStat("/proc", pid); err == nil && st.State == want {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d never reached state %c", pid, want)
}

// lineOf returns the 1-based number of the first line of path that starts with prefix.
func lineOf(t *testing.T, path, prefix string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, prefix) {
			return i + 1
		}
	}
	t.Fatalf("%s has no line starting with %q", path, prefix)
	return 0
}
