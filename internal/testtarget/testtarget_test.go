package testtarget

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aioscope/aioscope/internal/procfs"
)

func TestRepoRootAndScenarioPath(t *testing.T) {
	root := RepoRoot(t)
	if !filepath.IsAbs(root) {
		t.Errorf("RepoRoot = %q, not absolute", root)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Error(err)
	}
	p := ScenarioPath("tree.py")
	if want := filepath.Join(root, "testdata", "scenarios", "tree.py"); p != want {
		t.Errorf("ScenarioPath = %q, want %q", p, want)
	}
	if _, err := os.Stat(p); err != nil {
		t.Error(err)
	}
}

func TestPython(t *testing.T) {
	for _, v := range []string{"3.14", "3.15"} {
		t.Run(v, func(t *testing.T) {
			py := Python(t, v)
			if !filepath.IsAbs(py) {
				t.Errorf("Python(%s) = %q, not absolute", v, py)
			}
			if again := Python(t, v); again != py {
				t.Errorf("second call returned %q, first %q", again, py)
			}
		})
	}
	t.Run("3.11", func(t *testing.T) {
		// Not one aioscope reads: only for the tests of what it refuses.
		if py := Python(t, "3.11"); !filepath.IsAbs(py) {
			t.Errorf("Python(3.11) = %q, not absolute", py)
		}
	})
	t.Run("unsupported", func(t *testing.T) {
		if _, err := findPython("2.7"); err == nil {
			t.Error("findPython(2.7) succeeded")
		}
	})
}

// gone reports whether no process (not even a zombie) with this pid exists any more.
func gone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// dead reports whether the process has ended, counting a zombie whose reaping is up to someone
// else (an orphan waits for init, which in a container may never reap it).
func dead(pid int) bool {
	if gone(pid) {
		return true
	}
	st, err := procfs.ReadStat("/proc", pid)
	return err != nil || st.State == 'Z'
}

func TestStartAndAsyncioTool(t *testing.T) {
	for _, v := range []string{"3.14", "3.15"} {
		t.Run(v, func(t *testing.T) {
			var pid int
			t.Run("run", func(t *testing.T) {
				tg := Start(t, v, "tree.py")
				pid = tg.PID
				if tg.Version != v || tg.Scenario != "tree.py" || tg.Python == "" {
					t.Errorf("target = %+v", tg)
				}
				out, errOut, code := tg.AsyncioTool(t, "ps")
				if code != 0 || len(errOut) != 0 {
					t.Fatalf("ps: exit %d, stderr %q", code, errOut)
				}
				s := string(out)
				if !strings.HasPrefix(s, "tid        task id") || !strings.Contains(s, " Task-A ") ||
					!strings.Contains(s, "\n"+strconv.Itoa(pid)+" ") {
					t.Errorf("unexpected ps output:\n%s", s)
				}
				out, _, code = tg.AsyncioTool(t, "pstree")
				if code != 0 || !strings.HasPrefix(string(out), "└── (T) Task-1\n") {
					t.Errorf("pstree: exit %d, output:\n%s", code, out)
				}
			})
			if pid == 0 {
				t.Fatal("no target was started")
			}
			if !gone(pid) {
				t.Errorf("target %d still exists (or was not reaped) after its test ended", pid)
			}
		})
	}
}

// fakeTB records what a harness function reports, so that failures of Start itself can be
// tested. Fatal* and Skip* end the calling goroutine, as the real ones do.
type fakeTB struct {
	testing.TB // methods not overridden are not expected to be called
	mu         sync.Mutex
	failed     bool
	skipped    bool
	logs       []string
	cleanups   []func()
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) record(failed bool, s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed = f.failed || failed
	f.logs = append(f.logs, s)
}
func (f *fakeTB) Logf(format string, args ...any)   { f.record(false, fmt.Sprintf(format, args...)) }
func (f *fakeTB) Errorf(format string, args ...any) { f.record(true, fmt.Sprintf(format, args...)) }
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.record(true, fmt.Sprintf(format, args...))
	runtime.Goexit()
}
func (f *fakeTB) Skip(args ...any) {
	f.record(false, fmt.Sprint(args...))
	f.mu.Lock()
	f.skipped = true
	f.mu.Unlock()
	runtime.Goexit()
}
func (f *fakeTB) Failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}
func (f *fakeTB) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

// runFake runs fn as a test body and then its cleanups, like the testing package does.
func runFake(fn func(tb testing.TB)) *fakeTB {
	f := &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
	return f
}

func (f *fakeTB) text() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.logs, "\n")
}

func TestStartFailures(t *testing.T) {
	py := Python(t, "3.14")
	run := func(t *testing.T, code string, timeout time.Duration) (*fakeTB, int) {
		var pid int
		f := runFake(func(tb testing.TB) {
			tg := start(tb, py, "3.14", []string{"-c", code}, nil, timeout)
			pid = tg.PID
		})
		return f, pid
	}

	t.Run("no READY", func(t *testing.T) {
		begin := time.Now()
		f, _ := run(t, "import os, time\nprint('pid', os.getpid(), flush=True)\ntime.sleep(60)", time.Second)
		if !f.failed || !strings.Contains(f.text(), "printed no READY line within 1s") {
			t.Errorf("failed=%v, log:\n%s", f.failed, f.text())
		}
		if d := time.Since(begin); d > 10*time.Second {
			t.Errorf("took %v", d)
		}
		pid := pidFromLog(t, f.text())
		if !gone(pid) {
			t.Errorf("target %d still exists after the timeout", pid)
		}
	})

	t.Run("exits early", func(t *testing.T) {
		f, _ := run(t, "import sys\nsys.stderr.write('boom\\n')\nsys.exit(3)", 30*time.Second)
		text := f.text()
		if !f.failed || !strings.Contains(text, "stdout closed before READY") ||
			!strings.Contains(text, "exit status 3") || !strings.Contains(text, "boom") {
			t.Errorf("failed=%v, log:\n%s", f.failed, text)
		}
	})

	t.Run("wrong pid", func(t *testing.T) {
		f, _ := run(t, "print('READY 1', flush=True)", 30*time.Second)
		if !f.failed || !strings.Contains(f.text(), `printed "READY 1"`) {
			t.Errorf("failed=%v, log:\n%s", f.failed, f.text())
		}
	})

	t.Run("kills the process group", func(t *testing.T) {
		// The target starts a child of its own, which must die with it.
		code := `import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print("child", child.pid, flush=True)
print("READY", os.getpid(), flush=True)
time.sleep(60)`
		var tg *Target
		f := runFake(func(tb testing.TB) {
			tg = start(tb, py, "3.14", []string{"-c", code}, nil, 30*time.Second)
		})
		if f.failed || tg == nil {
			t.Fatalf("start failed:\n%s", f.text())
		}
		var child int
		if _, err := fmt.Sscanf(tg.Stdout(), "child %d\n", &child); err != nil {
			t.Fatalf("no child pid in %q: %v", tg.Stdout(), err)
		}
		if !gone(tg.PID) {
			t.Errorf("target %d still exists", tg.PID)
		}
		// The signal to the group is delivered asynchronously.
		deadline := time.Now().Add(5 * time.Second)
		for !dead(child) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if !dead(child) {
			t.Errorf("the target's child %d survived", child)
		}
	})
}

func pidFromLog(t *testing.T, log string) int {
	t.Helper()
	_, rest, ok := strings.Cut(log, "(pid ")
	if !ok {
		t.Fatalf("no pid in %q", log)
	}
	pid, err := strconv.Atoi(rest[:strings.IndexByte(rest, ')')])
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func TestUnavailable(t *testing.T) {
	t.Setenv("CI", "")
	if f := runFake(func(tb testing.TB) { Unavailable(tb, "no %s", "python") }); f.failed || !f.skipped {
		t.Errorf("without CI: failed=%v skipped=%v", f.failed, f.skipped)
	}
	t.Setenv("CI", "true")
	if f := runFake(func(tb testing.TB) { Unavailable(tb, "no %s", "python") }); !f.failed ||
		!strings.Contains(f.text(), "no python") {
		t.Errorf("with CI: failed=%v log %q", f.failed, f.text())
	}
}
