package adapter

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aioscope/aioscope/internal/procfs"
)

func TestExitStatus(t *testing.T) {
	for status, want := range map[int]int{0: 0, 3 << 8: 3, 15: 143, 9: 137, 0x7f: 0} {
		if got := exitStatus(status); got != want {
			t.Errorf("exitStatus(%#x) = %d, want %d", status, got, want)
		}
	}
}

// TestWatchExit: the watcher reports an exit, with the status a zombie still holds, and returns
// when its context ends.
func TestWatchExit(t *testing.T) {
	// A command name with spaces and parentheses must not confuse the /proc/PID/stat parser.
	dir := t.TempDir()
	bin := filepath.Join(dir, "we (ird) name")
	if err := os.Symlink("/bin/sh", bin); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", "read x; exit 7")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	st, err := procfs.ReadStat("/proc", cmd.Process.Pid)
	if err != nil || st.State == 'Z' || st.StartTime == 0 {
		t.Fatalf("readProcState: %+v, %v", st, err)
	}

	// Cancelled before the exit: returns at once, reporting nothing.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan bool, 1)
	go func() { _, exited := watchExit(ctx, cmd.Process.Pid, st.StartTime); done <- exited }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case exited := <-done:
		if exited {
			t.Error("watchExit reported an exit after its context was cancelled")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watchExit did not return after its context was cancelled")
	}

	// The exit, seen while the process is a zombie (not reaped until Wait below).
	go func() {
		code, exited := watchExit(context.Background(), cmd.Process.Pid, st.StartTime)
		done <- exited && code == 7
	}()
	stdin.Write([]byte("\n"))
	select {
	case ok := <-done:
		if !ok {
			t.Error("watchExit did not report exit code 7")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watchExit did not notice the exit")
	}

	// A recycled PID (another start time) counts as gone.
	if g, _ := gone(os.Getpid(), st.StartTime+12345); !g {
		t.Error("a process with another start time is not reported gone")
	}
}
