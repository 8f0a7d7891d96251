package testtarget

import (
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// startSleeper starts a process that does nothing for a minute, killed when the test ends.
func startSleeper(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// TestStateWatch checks that the watch passes a process left alone and fails one that is stopped
// for a moment or traced without being stopped, however closely it samples.
func TestStateWatch(t *testing.T) {
	for _, tc := range []struct {
		name  string
		watch func(testing.TB, int) *StateWatch
	}{{"every few ms", WatchState}, {"closely", WatchStateClosely}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("left alone", func(t *testing.T) {
				cmd := startSleeper(t)
				f := runFake(func(tb testing.TB) {
					tc.watch(tb, cmd.Process.Pid)
					time.Sleep(100 * time.Millisecond)
				})
				if f.failed || !strings.Contains(f.text(), "S:") {
					t.Errorf("failed=%v, log:\n%s", f.failed, f.text())
				}
			})
			t.Run("stopped", func(t *testing.T) {
				cmd := startSleeper(t)
				f := runFake(func(tb testing.TB) {
					w := tc.watch(tb, cmd.Process.Pid)
					time.Sleep(20 * time.Millisecond)
					if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
						t.Error(err)
					}
					time.Sleep(50 * time.Millisecond)
					if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
						t.Error(err)
					}
					time.Sleep(20 * time.Millisecond)
					if n := w.Check(tb, "a stop"); n == 0 {
						t.Error("Check counted no samples")
					}
				})
				if !f.failed || !strings.Contains(f.text(), "a stop: target") || !strings.Contains(f.text(), "state T") {
					t.Errorf("failed=%v, log:\n%s", f.failed, f.text())
				}
			})
			t.Run("traced", func(t *testing.T) {
				cmd := startSleeper(t)
				var seizeErr error
				f := runFake(func(tb testing.TB) {
					tc.watch(tb, cmd.Process.Pid)
					// PTRACE_SEIZE traces without stopping. The tracer is this goroutine's thread,
					// which ends with it, still locked, and so lets the tracee go.
					runtime.LockOSThread()
					if seizeErr = unix.PtraceSeize(cmd.Process.Pid); seizeErr == nil {
						time.Sleep(50 * time.Millisecond)
					}
				})
				if seizeErr != nil {
					Unavailable(t, "cannot ptrace a child here: %v", seizeErr)
				}
				if !f.failed || !strings.Contains(f.text(), "traced by") {
					t.Errorf("failed=%v, log:\n%s", f.failed, f.text())
				}
			})
		})
	}
	t.Run("gone", func(t *testing.T) {
		f := runFake(func(tb testing.TB) { WatchState(tb, 1<<30) })
		if !f.failed || !strings.Contains(f.text(), "could not be read at all") {
			t.Errorf("failed=%v, log:\n%s", f.failed, f.text())
		}
	})
}

func TestExpectRunning(t *testing.T) {
	cmd := startSleeper(t)
	pid := cmd.Process.Pid
	if f := runFake(func(tb testing.TB) { ExpectRunning(tb, pid) }); f.failed {
		t.Errorf("a sleeping process: %s", f.text())
	}
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if f := runFake(func(tb testing.TB) { ExpectRunning(tb, pid) }); f.failed {
			if !strings.Contains(f.text(), "state T") {
				t.Errorf("a stopped process: %s", f.text())
			}
			return
		}
	}
	t.Error("a stopped process passes")
}
