package testtarget

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aioscope/aioscope/internal/procfs"
)

// sampleEvery is how often WatchState samples the target: often enough to see a stop that lasts
// as long as a snapshot, seldom enough to leave the machine to the test.
const sampleEvery = 2 * time.Millisecond

// StateWatch samples a target's state while a test reads it and records every sample that shows
// the target stopped (state t or T, as ptrace attaching or SIGSTOP leave it) or traced (a
// TracerPid in /proc/PID/status): aioscope must never do either to the process it reads.
type StateWatch struct {
	pid   int
	every time.Duration
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once

	// Written by the sampling goroutine until done is closed.
	samples int
	states  map[byte]int
	bad     []string
}

// WatchState starts sampling the state of process pid every few milliseconds. The watch is
// checked when the test ends, or earlier with Check.
func WatchState(t testing.TB, pid int) *StateWatch {
	return watchState(t, pid, sampleEvery)
}

// WatchStateClosely samples back to back, for the tests whose very point is that the target is
// never stopped; it keeps a core busy while it runs.
func WatchStateClosely(t testing.TB, pid int) *StateWatch {
	return watchState(t, pid, 0)
}

func watchState(t testing.TB, pid int, every time.Duration) *StateWatch {
	w := &StateWatch{pid: pid, every: every, stop: make(chan struct{}), done: make(chan struct{}), states: map[byte]int{}}
	go w.run()
	t.Cleanup(func() { w.Check(t, "the test") })
	return w
}

func (w *StateWatch) run() {
	defer close(w.done)
	for {
		// A process that has gone (or cannot be read) is not counted: the test sees that itself.
		if st, err := procfs.ReadStat("/proc", w.pid); err == nil {
			w.samples++
			w.states[st.State]++
			if st.State == 't' || st.State == 'T' {
				w.bad = append(w.bad, fmt.Sprintf("state %c at %s", st.State, time.Now().Format("15:04:05.000000")))
			}
		}
		if tracer := tracerPID(w.pid); tracer != 0 {
			w.bad = append(w.bad, fmt.Sprintf("traced by %d at %s", tracer, time.Now().Format("15:04:05.000000")))
		}
		if w.every == 0 {
			select {
			case <-w.stop:
				return
			default:
			}
			continue
		}
		select {
		case <-w.stop:
			return
		case <-time.After(w.every):
		}
	}
}

// Check stops sampling, logs what was seen during what (e.g. "200 CLI snapshots"), and fails the
// test if the target was ever stopped or traced, or could not be sampled at all. It returns the
// number of samples. Only the first call (or the check when the test ends) does this; later ones
// return 0.
func (w *StateWatch) Check(t testing.TB, what string) int {
	t.Helper()
	checked := false
	w.once.Do(func() {
		checked = true
		close(w.stop)
		<-w.done
	})
	if !checked {
		return 0
	}
	t.Logf("%s: sampled the state of target %d %d times: %s", what, w.pid, w.samples, stateCounts(w.states))
	if len(w.bad) > 0 {
		t.Errorf("%s: target %d was seen stopped or traced %d times out of %d samples: %v",
			what, w.pid, len(w.bad), w.samples, w.bad[:min(len(w.bad), 10)])
	}
	if w.samples == 0 {
		t.Errorf("%s: target %d: /proc/%d/stat could not be read at all", what, w.pid, w.pid)
	}
	return w.samples
}

// ExpectRunning fails the test unless process pid is alive and neither stopped, traced nor a
// zombie.
func ExpectRunning(t testing.TB, pid int) {
	t.Helper()
	st, err := procfs.ReadStat("/proc", pid)
	if err != nil {
		t.Fatalf("target %d is gone: %v", pid, err)
	}
	switch st.State {
	case 't', 'T', 'Z', 'X':
		t.Fatalf("target %d is in state %c, want it running", pid, st.State)
	}
	if tracer := tracerPID(pid); tracer != 0 {
		t.Fatalf("target %d is traced by %d", pid, tracer)
	}
}

// tracerPID returns the TracerPid field of /proc/PID/status: 0 when untraced or unreadable.
func tracerPID(pid int) int {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "TracerPid:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// stateCounts shows how often each state was seen, e.g. "R:120 S:80".
func stateCounts(m map[byte]int) string {
	var parts []string
	for _, s := range []byte("RSDZtTXI") {
		if n := m[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%c:%d", s, n))
		}
	}
	return strings.Join(parts, " ")
}
