package testtarget

import (
	"os/exec"
	"testing"
	"time"
)

// TestRunDelay: a process that sleeps waits for no CPU; two busy processes pinned to one CPU
// take turns, each waiting for it about half the time.
func TestRunDelay(t *testing.T) {
	start := func(args ...string) *exec.Cmd {
		cmd := exec.Command(args[0], args[1:]...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	sleeper := start("sleep", "5")
	busy := []*exec.Cmd{
		start("taskset", "-c", "0", "sh", "-c", "while :; do :; done"),
		start("taskset", "-c", "0", "sh", "-c", "while :; do :; done"),
	}
	time.Sleep(50 * time.Millisecond) // taskset has become sh
	asleep, waiting := WatchRunDelay(t, sleeper.Process.Pid), WatchRunDelay(t, busy[0].Process.Pid)
	from := time.Now()
	time.Sleep(500 * time.Millisecond)
	to := time.Now()
	if d := asleep.During(from, to); d > 50*time.Millisecond {
		t.Errorf("a sleeping process waited %v for a CPU", d)
	}
	if d := waiting.During(from, to); d < 100*time.Millisecond {
		t.Errorf("a busy process sharing one CPU with another waited only %v for it in 0.5 s", d)
	}
}
