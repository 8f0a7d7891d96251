package live_test

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/inspector/values"
	"github.com/aioscope/aioscope/internal/testtarget"
	"github.com/aioscope/aioscope/snapshot"
	"github.com/aioscope/aioscope/tracking"
	"github.com/aioscope/aioscope/tracking/live"
)

var versions = []string{"3.14", "3.15"}

// exactWithin is how far a sleep's start read from memory may be from the time the target printed
// just before the sleep: the print's own write and the loop's clock reading come between, and a
// busy machine stretches both (an interval's precision, a second, is what it is measured against).
const exactWithin = 20 * time.Millisecond

// calls reports whether one of frames runs function.
func calls(frames []snapshot.Frame, function string) bool {
	for _, f := range frames {
		if f.Function == function {
			return true
		}
	}
	return false
}

var stepPattern = regexp.MustCompile(`^[0-9]+\.[0-9]+(e[-+]?[0-9]+)?#[0-9]+$`)

// TestReadStep samples a loop that is busy but healthy, with a callback that blocks it for 200
// ms now and then. The target counts the runs of its hog task (its local "step") and of the
// blocking callback (its argument "n"): the step read from the loop must be the same for two
// samples exactly when the count is — one long run, or two runs at the same place.
func TestReadStep(t *testing.T) {
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			tg := testtarget.Start(t, version, "busy.py", "200", "1")
			p, err := inspector.Attach(tg.PID, inspector.Options{Retries: inspector.DefaultRetries})
			if err != nil {
				t.Fatal(err)
			}
			// count reads the counter of the callback's outermost frame, or "".
			count := func(th *snapshot.Thread, i int, name string) string {
				var v string
				_ = p.InThreadFrame(th, i, func(r *values.Reader, frame uint64) error {
					x, err := r.Lookup(frame, name)
					if err == nil && x.Err == nil {
						v = x.Repr
					}
					return nil
				})
				return v
			}
			stepOf := map[string]map[string]string{"hog": {}, "block": {}}  // counter -> step
			countOf := map[string]map[string]string{"hog": {}, "block": {}} // step -> counter
			checked := map[string]int{}
			deadline := time.Now().Add(4 * time.Second)
			for time.Now().Before(deadline) {
				s, err := p.SampleThreads()
				if err != nil {
					t.Fatal(err)
				}
				th := s.Threads[0]
				ls := tracking.ReadLoopStack(th.Frames)
				if ls.State != tracking.InCallback || len(ls.Callback) == 0 {
					continue
				}
				fn, name := ls.Callback[len(ls.Callback)-1].Function, "step"
				if fn == "block" {
					name = "n"
				} else if fn != "hog" || !calls(ls.Callback, "compute") {
					// hog counts a run at its start, a few bytecodes after the run began: only
					// inside compute is its count surely the run's.
					continue
				}
				before := count(&th, ls.RunOnce-2, name)
				step, ended := live.ReadStep(p, &th, ls.RunOnce)
				after := count(&th, ls.RunOnce-2, name)
				if ended || step == "" || before == "" || before != after {
					continue // the run changed during the reads
				}
				if !stepPattern.MatchString(step) {
					t.Fatalf("step %q is not the loop's end_time and index", step)
				}
				if prev, ok := stepOf[fn][before]; ok && prev != step {
					t.Errorf("%s run %s: steps %s and %s", fn, before, prev, step)
				}
				if prev, ok := countOf[fn][step]; ok && prev != before {
					t.Errorf("%s step %s: runs %s and %s", fn, step, prev, before)
				}
				stepOf[fn][before], countOf[fn][step] = step, before
				checked[fn]++
			}
			t.Logf("samples checked: %v; runs seen: hog %d, block %d", checked, len(stepOf["hog"]), len(stepOf["block"]))
			if len(stepOf["hog"]) < 5 || len(stepOf["block"]) < 2 || checked["block"] < 10 {
				t.Errorf("too few runs seen to tell: %v", checked)
			}
		})
	}
}

// TestReadSleepTimer reads when a sleep began, against the time the target printed.
func TestReadSleepTimer(t *testing.T) {
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			tg := testtarget.Start(t, version, "health.py", "60", "")
			p, err := inspector.Attach(tg.PID, inspector.Options{Retries: inspector.DefaultRetries})
			if err != nil {
				t.Fatal(err)
			}
			s, err := p.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			sl := testtarget.Printed(t, tg.Stdout(), "SLEEPING")
			if len(sl) != 1 {
				t.Fatalf("SLEEPING lines: %v", sl)
			}
			for i := range s.Tasks {
				task := &s.Tasks[i]
				tm, ok := live.ReadSleepTimer(p, task)
				if task.Name != "sleeper" {
					if ok && !tracking.Sleeping(task.Frames) {
						t.Errorf("task %s, not sleeping, has a timer", task.Name)
					}
					continue
				}
				if !ok {
					t.Fatalf("no timer for the sleeper (%v)", task.Frames)
				}
				start, delay := testtarget.UnixTime(sl[0][0]), time.Duration(sl[0][1]*float64(time.Second))
				if d := tm.Started.Sub(start); d.Abs() > exactWithin {
					t.Errorf("sleep began at %v, read %v (off by %v)", start, tm.Started, d)
				}
				if got := tm.Deadline.Sub(tm.Started); got != delay {
					t.Errorf("deadline - start = %v, want %v", got, delay)
				}
				return
			}
			t.Fatal("no sleeper task")
		})
	}
}

// TestMonitor watches health.py: the task stuck on an Event is reported once, the sleeper's
// wait is exact, every block is reported with its duration, and no churning task is stuck.
func TestMonitor(t *testing.T) {
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			tg := testtarget.Start(t, version, "health.py", "1", "300,150", "1.5")
			waits := testtarget.WatchRunDelay(t, tg.PID)
			m, err := live.Attach(tg.PID, live.Config{Stuck: 2 * time.Second, SummaryWaits: -1})
			if err != nil {
				t.Fatal(err)
			}
			var stuck []tracking.Wait
			var blocks []tracking.Block
			var last *live.Summary
			ctx, cancel := context.WithTimeout(context.Background(), 5500*time.Millisecond)
			defer cancel()
			err = m.Run(ctx, func(e live.Event) {
				switch e.Kind {
				case live.TaskStuck:
					stuck = append(stuck, *e.Wait)
				case live.LoopBlocked:
					blocks = append(blocks, *e.Block)
				case live.SnapshotTaken:
					last = e.Summary
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			out := tg.Stdout()
			if len(stuck) != 1 || stuck[0].Task.Name != "stuck-forever" {
				t.Errorf("stuck: %+v", stuck)
			} else if st := testtarget.Printed(t, out, "STUCK"); len(st) == 1 {
				// The first snapshot that saw it there comes within one interval of when it began.
				if d := stuck[0].Since.Sub(testtarget.UnixTime(st[0][0])); d < 0 || d > time.Second+50*time.Millisecond {
					t.Errorf("stuck since %v, began at %v", stuck[0].Since, testtarget.UnixTime(st[0][0]))
				}
			}
			truth := testtarget.Printed(t, out, "BLOCK")
			if len(blocks) != len(truth) || len(truth) != 2 {
				t.Fatalf("blocks reported %d, printed %v", len(blocks), truth)
			}
			for i, b := range blocks {
				want := testtarget.UnixTime(truth[i][1]).Sub(testtarget.UnixTime(truth[i][0]))
				starved := waits.During(b.Start, b.Start.Add(b.Duration))
				if d := b.Duration - want; d.Abs() > b.Precision+20*time.Millisecond+starved || b.Site.Function != "blocking_call" || b.Task != 0 {
					t.Errorf("block %d: %v ± %v in %s, truth %v", i, b.Duration, b.Precision, b.Site.Function, want)
				}
			}
			sl := testtarget.Printed(t, out, "SLEEPING")
			found := false
			for _, w := range last.Waits {
				if w.Task.Name == "sleeper" {
					found = true
					// The sleep starts right after the target prints the time, unless its
					// thread waits for a CPU in between (a busy machine).
					began := testtarget.UnixTime(sl[0][0])
					starved := waits.During(began, w.Since)
					if !w.Exact || w.Since.Sub(began).Abs() > exactWithin+starved {
						t.Errorf("sleeper: %+v, began at %v; the thread waited %v for a CPU in between", w, began, starved)
					}
				}
			}
			if !found {
				t.Error("no wait of the sleeper in the summary")
			}
			// The napper sleeps 5 ms at one line again and again: it never waits there for long,
			// though every snapshot finds it at the same place. Its timer, read after a
			// snapshot, shows a sleep begun since.
			napper := false
			for _, w := range last.Waits {
				if w.Task.Name != "napper" {
					continue
				}
				napper = true
				if w.Age() > 1500*time.Millisecond {
					t.Errorf("napper: waited %v (since %v, exact %v), though it sleeps 5 ms at a time", w.Age(), w.Since, w.Exact)
				}
			}
			if !napper {
				t.Error("no wait of the napper in the summary")
			}
			t.Logf("stats: %+v", last.Stats)
		})
	}
}
