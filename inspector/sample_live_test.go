package inspector_test

import (
	"testing"
	"time"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/internal/testtarget"
)

// TestSampleThreads samples the threads of a target whose threads never stop running Python code:
// every sample has both threads, each with a whole stack, and some sample catches a thread running a
// task. The samples go on for a while rather than a count: on a busy machine a burst of samples can
// all land while the target waits for a CPU, in one moment where neither thread runs a task.
func TestSampleThreads(t *testing.T) {
	for _, version := range []string{"3.14", "3.15"} {
		t.Run(version, func(t *testing.T) {
			tg := testtarget.Start(t, version, "pipeline.py")
			p := attach(t, tg.PID, inspector.Options{Retries: inspector.DefaultRetries})
			running := 0
			deadline := time.Now().Add(10 * time.Second)
			for i := 0; i < 200 || running == 0 && time.Now().Before(deadline); i++ {
				s, err := p.SampleThreads()
				if err != nil {
					t.Fatal(err)
				}
				if len(s.Threads) != 2 {
					t.Fatalf("sample %d: %d threads", i, len(s.Threads))
				}
				for _, th := range s.Threads {
					want := "Thread._bootstrap"
					if th.Main {
						want = "<module>"
					}
					if n := len(th.Frames); n == 0 || th.Frames[n-1].Function != want {
						t.Fatalf("sample %d: thread %d's stack ends at %v, not %s", i, th.TID, functions(th.Frames), want)
					}
					if th.RunningTask != 0 {
						running++
					}
					if !th.HasLoop {
						t.Errorf("sample %d: thread %d runs no event loop", i, th.TID)
					}
				}
			}
			if running == 0 {
				t.Error("no sample caught a thread running a task")
			}
		})
	}
}
