package inspector

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aioscope/aioscope/internal/testtarget"
	"github.com/aioscope/aioscope/snapshot"
)

// churnSnapshots is how many consecutive snapshots each churn test takes.
const churnSnapshots = 500

// snapshotDeadline bounds one snapshot. A snapshot of the churn target takes milliseconds; the
// deadline only turns a hang into a failure, so it is generous for a loaded machine.
const snapshotDeadline = 30 * time.Second

// TestChurnSnapshots takes consecutive snapshots of a target that never holds still through one
// Process, as a long-lived client (the debug adapter) does: each must come back in bounded time,
// be consistent or fail with TargetChangedError, and most must succeed.
func TestChurnSnapshots(t *testing.T) {
	for _, version := range []string{"3.14", "3.15"} {
		for _, load := range testtarget.ChurnLoads {
			t.Run(version+"/"+load.Name, func(t *testing.T) {
				testChurnSnapshots(t, version, load.Pause, load.MinSuccess, tasksPerBatch)
			})
		}
		// churn.py holds fewer tasks than a batch: batches of four make every snapshot drop
		// page copies between batches while the target changes.
		load := testtarget.ChurnLoads[0]
		t.Run(version+"/"+load.Name+"/batches-of-4", func(t *testing.T) {
			testChurnSnapshots(t, version, load.Pause, load.MinSuccess, 4)
		})
	}
}

func testChurnSnapshots(t *testing.T, version, pause string, minSuccess float64, batchSize int) {
	tg := testtarget.Start(t, version, "churn.py", pause)
	p, err := Attach(tg.PID, Options{Retries: DefaultRetries})
	if err != nil {
		t.Fatal(err)
	}
	p.batchSize = batchSize
	ok, changed := 0, 0
	var lastChange error
	start := time.Now()
	for i := 0; i < churnSnapshots; i++ {
		s, err := snapshotWithin(t, p, snapshotDeadline)
		var tc *TargetChangedError
		switch {
		case err == nil:
			if problems := churnInvariants(s); len(problems) > 0 {
				t.Errorf("snapshot %d is inconsistent: %s", i, strings.Join(problems, "; "))
			}
			ok++
		case errors.As(err, &tc):
			changed++
			lastChange = err
			if msg := Explain(err); !strings.Contains(msg, "changed too fast") || !strings.Contains(msg, "--retries") {
				t.Fatalf("unclear message for a target that changed: %q", msg)
			}
		default:
			t.Fatalf("snapshot %d: unexpected error: %v", i, err)
		}
	}
	// The target reports its rate once a second; a fast run waits for the first report.
	for deadline := time.Now().Add(3 * time.Second); !strings.Contains(tg.Stdout(), "RATE") && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	rate := float64(ok) / churnSnapshots
	t.Logf("Python %s: %d/%d snapshots succeeded (%.1f%%) in %v with %d retries; target %s; last failure: %v",
		p.PythonVersion(), ok, churnSnapshots, 100*rate, time.Since(start).Round(time.Millisecond),
		DefaultRetries, testtarget.ChurnRate(tg.Stdout()), lastChange)
	if rate < minSuccess {
		t.Errorf("only %.1f%% of snapshots succeeded, want at least %.0f%%", 100*rate, 100*minSuccess)
	}
}

// snapshotWithin takes one snapshot and fails the test if it does not return within d.
func snapshotWithin(t *testing.T, p *Process, d time.Duration) (*snapshot.Snapshot, error) {
	t.Helper()
	type result struct {
		s   *snapshot.Snapshot
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := p.Snapshot()
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		return r.s, r.err
	case <-time.After(d):
		t.Fatalf("a snapshot did not return within %v", d)
		return nil, nil
	}
}

// churnInvariants lists what is wrong with a snapshot of churn.py. In any single moment of the
// target:
//   - no task is listed twice, and every task has a name;
//   - an awaiter that is a task and still has a coroutine to run is pending, so it is listed too
//     (churn.py runs one thread, whose list is read in full). A task that has finished may still
//     be in the awaiters of the task it awaited: shield() keeps a cancelled awaiter there until
//     the shielded task ends; it has no frames left;
//   - an awaiter read as a plain future is not listed as a task;
//   - a task that is waiting has frames: churn.py's hubs and leaves sleep. The one exception is
//     the task that is finishing right now, which is the thread's running task.
func churnInvariants(s *snapshot.Snapshot) []string {
	var problems []string
	running := map[uint64]bool{}
	for _, th := range s.Threads {
		running[th.RunningTask] = true
	}
	tasks := make(map[uint64]*snapshot.Task, len(s.Tasks))
	for i := range s.Tasks {
		t := &s.Tasks[i]
		if _, dup := tasks[t.ID]; dup {
			problems = append(problems, fmt.Sprintf("task 0x%x listed twice", t.ID))
		}
		tasks[t.ID] = t
	}
	for i := range s.Tasks {
		t := &s.Tasks[i]
		if !testtarget.ChurnTaskName.MatchString(t.Name) {
			problems = append(problems, fmt.Sprintf("task 0x%x has a name churn.py never gives: %q", t.ID, t.Name))
		}
		if (strings.HasPrefix(t.Name, "hub-") || strings.HasPrefix(t.Name, "leaf-")) && len(t.Frames) == 0 && !running[t.ID] {
			problems = append(problems, fmt.Sprintf("sleeping task %s (0x%x) has no frames", t.Name, t.ID))
		}
		for _, a := range t.AwaitedBy {
			_, listed := tasks[a.ID]
			switch {
			case a.IsTask && !listed && len(a.Frames) > 0:
				problems = append(problems, fmt.Sprintf("task %s is awaited by pending task 0x%x (in %s), which is not listed",
					t.Name, a.ID, a.Frames[len(a.Frames)-1].Function))
			case !a.IsTask && listed:
				problems = append(problems, fmt.Sprintf("task %s is awaited by 0x%x, listed as a task but read as a future", t.Name, a.ID))
			}
		}
	}
	if len(problems) > 5 {
		problems = append(problems[:5], fmt.Sprintf("and %d more", len(problems)-5))
	}
	return problems
}
