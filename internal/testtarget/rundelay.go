package testtarget

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// RunDelays records how long a process's main thread has waited for a CPU — run_delay, the
// second field of /proc/PID/task/PID/schedstat — every few milliseconds, from WatchRunDelay
// until the test ends. A test that times a live target's callbacks tells with it a callback
// that ran long from one whose thread was not given a CPU (a busy machine): only the second
// leaves the run delay grown.
type RunDelays struct {
	mu     sync.Mutex
	at     []time.Time
	delays []time.Duration
}

// runDelayEvery is how often WatchRunDelay reads the run delay.
const runDelayEvery = 5 * time.Millisecond

// WatchRunDelay starts recording the run delay of pid's main thread until the test ends.
func WatchRunDelay(t testing.TB, pid int) *RunDelays {
	t.Helper()
	path := fmt.Sprintf("/proc/%d/task/%d/schedstat", pid, pid)
	if _, err := readRunDelay(path); err != nil {
		t.Fatalf("reading the run delay of process %d: %v", pid, err)
	}
	r := &RunDelays{}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(runDelayEvery)
		defer tick.Stop()
		for {
			d, err := readRunDelay(path)
			if err != nil {
				return // the process has exited
			}
			r.mu.Lock()
			r.at, r.delays = append(r.at, time.Now()), append(r.delays, d)
			r.mu.Unlock()
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() {
		close(done)
		<-stopped
	})
	return r
}

// RunDelayTotal returns how long pid's main thread has waited for a CPU since it started.
func RunDelayTotal(t testing.TB, pid int) time.Duration {
	t.Helper()
	d, err := readRunDelay(fmt.Sprintf("/proc/%d/task/%d/schedstat", pid, pid))
	if err != nil {
		t.Fatalf("reading the run delay of process %d: %v", pid, err)
	}
	return d
}

// During returns how much longer the thread waited for a CPU from start to end, as far as the
// readings around them tell: from the last reading before start to the first after end, so
// never less than it did.
func (r *RunDelays) During(start, end time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	first, last := -1, -1
	for i, at := range r.at {
		if !at.After(start) {
			first = i
		}
		if last < 0 && !at.Before(end) {
			last = i
		}
	}
	if first < 0 {
		first = 0
	}
	if last < 0 {
		last = len(r.at) - 1
	}
	if last < first {
		return 0
	}
	return r.delays[last] - r.delays[first]
}

func readRunDelay(path string) (time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, fmt.Errorf("%s: %q has no run delay", path, b)
	}
	ns, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return time.Duration(ns), nil
}
