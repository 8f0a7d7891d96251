package inspector_test

import (
	"fmt"
	"testing"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/internal/testtarget"
	"github.com/aioscope/aioscope/snapshot"
)

// TestThreadStacksWhole reads a target whose threads never stop running Python code — a
// producer/consumer pipeline at full speed in the main thread and another in a second thread
// with its own loop — hundreds of times. Every thread's stack must reach the thread's first
// frame (the main thread's <module>, the other's Thread._bootstrap), however often frames are
// pushed, popped and suspended during the read; every task a thread runs, and every task that
// awaits another, must be one of the snapshot's tasks; the threads carry their threading names.
func TestThreadStacksWhole(t *testing.T) {
	const snapshots = 300
	for _, version := range []string{"3.14", "3.15"} {
		t.Run(version, func(t *testing.T) {
			tg := testtarget.Start(t, version, "pipeline.py")
			p := attach(t, tg.PID, inspector.Options{Retries: inspector.DefaultRetries, ThreadNames: true})
			failed, running := 0, 0
			for i := 0; i < snapshots; i++ {
				s, err := p.Snapshot()
				if err != nil {
					failed++
					continue
				}
				for _, problem := range pipelineProblems(s) {
					t.Errorf("snapshot %d: %s", i, problem)
				}
				for _, th := range s.Threads {
					if th.RunningTask != 0 {
						running++
					}
				}
				if t.Failed() {
					return
				}
			}
			// A target this busy may defeat a snapshot now and then, never most of them.
			if failed > snapshots/10 {
				t.Errorf("%d of %d snapshots failed", failed, snapshots)
			}
			// The threads run tasks nearly all the time: a test that never catches one running
			// would not test the running task's reference.
			if running == 0 {
				t.Error("no snapshot caught a thread running a task")
			}
			t.Logf("%d snapshots, %d failed, %d running tasks seen", snapshots, failed, running)
		})
	}
}

// pipelineProblems returns what is wrong with a snapshot of pipeline.py.
func pipelineProblems(s *snapshot.Snapshot) []string {
	var problems []string
	tasks := make(map[uint64]bool, len(s.Tasks))
	names := map[string]bool{}
	for _, task := range s.Tasks {
		tasks[task.ID] = true
		names[task.Name] = true
	}
	for _, tag := range []string{"main", "side"} {
		for _, name := range []string{"producer", "stage-0", "stage-1", "stage-2", "consumer"} {
			if !names[tag+"-"+name] {
				problems = append(problems, fmt.Sprintf("task %s-%s is missing", tag, name))
			}
		}
	}
	outermost := func(th snapshot.Thread) string {
		if len(th.Frames) == 0 {
			return "(no frames)"
		}
		return th.Frames[len(th.Frames)-1].Function
	}
	for _, th := range s.Threads {
		want, name := "Thread._bootstrap", "side-loop"
		if th.Main {
			want, name = "<module>", "MainThread"
		}
		if th.Name != name {
			problems = append(problems, fmt.Sprintf("thread %d is named %q, not %q", th.TID, th.Name, name))
		}
		if got := outermost(th); got != want {
			problems = append(problems, fmt.Sprintf("thread %d's stack ends at %s, not %s: %s", th.TID, got, want, functions(th.Frames)))
		}
		if th.RunningTask != 0 && !tasks[th.RunningTask] {
			problems = append(problems, fmt.Sprintf("thread %d runs task %#x, which is not in the snapshot", th.TID, th.RunningTask))
		}
	}
	if len(s.Threads) != 2 {
		problems = append(problems, fmt.Sprintf("%d threads, want 2", len(s.Threads)))
	}
	for _, task := range s.Tasks {
		for _, a := range task.AwaitedBy {
			if a.IsTask && !tasks[a.ID] {
				problems = append(problems, fmt.Sprintf("task %s is awaited by task %#x, which is not in the snapshot", task.Name, a.ID))
			}
		}
	}
	return problems
}
