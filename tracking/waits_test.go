package tracking

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/aioscope/aioscope/snapshot"
)

// Unit tests over hand-made snapshots: the logic of waits, groups and stuck tasks. The live
// tests (tracking/live, cmd/aioscope) hold the same logic against real CPython processes.

const asyncioDir = "/usr/lib/python3.14/asyncio/"

func fr(fn, file string, line int) snapshot.Frame {
	return snapshot.Frame{Function: fn, File: file, Line: line, HasLine: true, EndLine: line, Column: 4, EndColumn: 20}
}

var (
	t0          = time.Date(2026, 11, 21, 14, 0, 0, 0, time.UTC)
	eventWait   = []snapshot.Frame{fr("Event.wait", asyncioDir+"locks.py", 213), fr("worker", "/srv/app.py", 12)}
	queueGet    = []snapshot.Frame{fr("Queue.get", asyncioDir+"queues.py", 186), fr("worker", "/srv/app.py", 14)}
	sleeping    = []snapshot.Frame{fr("sleep", asyncioDir+"tasks.py", 716), fr("napper", "/srv/app.py", 20)}
	groupAexit  = []snapshot.Frame{fr("TaskGroup._aexit", asyncioDir+"taskgroups.py", 121), fr("TaskGroup.__aexit__", asyncioDir+"taskgroups.py", 72), fr("main", "/srv/app.py", 30)}
	mainID      = uint64(0x1000)
	awaitedMain = []snapshot.Awaiter{{ID: mainID, IsTask: true, Frames: groupAexit}}
)

func task(id uint64, name string, frames []snapshot.Frame, awaitedBy ...snapshot.Awaiter) snapshot.Task {
	return snapshot.Task{ID: id, Name: name, TID: 42, Frames: frames, AwaitedBy: awaitedBy}
}

func snap(at time.Duration, tasks ...snapshot.Task) *snapshot.Snapshot {
	return &snapshot.Snapshot{PID: 42, PythonVersion: "3.14.10", CapturedAt: t0.Add(at), Tasks: tasks}
}

func mustWait(t *testing.T, tr *Tracker, id uint64) Wait {
	t.Helper()
	w, ok := tr.Wait(id)
	if !ok {
		t.Fatalf("no wait for task 0x%x", id)
	}
	return w
}

func TestWaitAcrossSnapshots(t *testing.T) {
	tr := NewTracker(Options{})
	tr.Observe(snap(0, task(1, "a", eventWait)))
	tr.Observe(snap(time.Second, task(1, "a", eventWait)))
	w := mustWait(t, tr, 1)
	if !w.Since.Equal(t0) || w.Age() != time.Second || w.Precision() != -1 {
		t.Errorf("a task there from the start: since %v, age %v, precision %v; want since the first snapshot, 1s, unknown",
			w.Since, w.Age(), w.Precision())
	}
	// It moves on: a new wait, which began after the snapshot before.
	tr.Observe(snap(2*time.Second, task(1, "a", queueGet)))
	tr.Observe(snap(3*time.Second, task(1, "a", queueGet)))
	w = mustWait(t, tr, 1)
	if !w.Since.Equal(t0.Add(2*time.Second)) || w.Age() != time.Second || w.Precision() != time.Second {
		t.Errorf("after moving: since %v, age %v, precision %v", w.Since, w.Age(), w.Precision())
	}
}

func TestWaitIdentity(t *testing.T) {
	moved := append([]snapshot.Frame(nil), eventWait...)
	moved[1].Column = 8 // the same line, another instruction
	for _, tc := range []struct {
		name string
		next snapshot.Task
		same bool
	}{
		{"same task, same place", task(1, "a", eventWait), true},
		{"equal frames in another slice", task(1, "a", append([]snapshot.Frame(nil), eventWait...)), true},
		{"id reused by another task", task(1, "b", eventWait), false},
		{"another instruction on the same line", task(1, "a", moved), false},
	} {
		tr := NewTracker(Options{})
		tr.Observe(snap(0, task(1, "a", eventWait)))
		tr.Observe(snap(time.Second, tc.next))
		w := mustWait(t, tr, 1)
		if same := w.Since.Equal(t0); same != tc.same {
			t.Errorf("%s: since %v, want the same wait: %v", tc.name, w.Since, tc.same)
		}
	}
}

func TestStuckOnlyLeaves(t *testing.T) {
	tr := NewTracker(Options{})
	tasks := func() []snapshot.Task {
		return []snapshot.Task{
			task(mainID, "main", groupAexit),
			task(2, "waiter", eventWait, awaitedMain...),
			task(3, "napper", sleeping, awaitedMain...),
			task(4, "worker", queueGet),
		}
	}
	for i := 0; i <= 40; i++ {
		tr.Observe(snap(time.Duration(i)*time.Second, tasks()...))
	}
	var names []string
	for _, w := range tr.Stuck(30 * time.Second) {
		names = append(names, w.Task.Name)
	}
	// main awaits its TaskGroup's tasks: not stuck itself. napper sleeps: it wakes by itself.
	if len(names) != 2 || names[0] != "waiter" && names[0] != "worker" || names[0] == names[1] {
		t.Errorf("stuck: %v, want waiter and worker", names)
	}
	if got := tr.Stuck(41 * time.Second); len(got) != 0 {
		t.Errorf("stuck past the time watched: %v", got)
	}
}

func TestRanRestartsTheWait(t *testing.T) {
	tr := NewTracker(Options{})
	tr.Observe(snap(0, task(1, "a", queueGet)))
	tr.Ran(1, t0.Add(1500*time.Millisecond))
	tr.Observe(snap(2*time.Second, task(1, "a", queueGet)))
	w := mustWait(t, tr, 1)
	if !w.Since.Equal(t0.Add(2*time.Second)) || !w.Earliest.Equal(t0.Add(1500*time.Millisecond)) {
		t.Errorf("a task seen running between snapshots: since %v, earliest %v", w.Since, w.Earliest)
	}
	tr.Observe(snap(3*time.Second, task(1, "a", queueGet)))
	if w := mustWait(t, tr, 1); !w.Since.Equal(t0.Add(2 * time.Second)) {
		t.Errorf("the next snapshot restarted the wait again: since %v", w.Since)
	}
}

func TestSetTimer(t *testing.T) {
	tr := NewTracker(Options{})
	tr.Observe(snap(0, task(3, "napper", sleeping)))
	start := t0.Add(-time.Hour)
	if !tr.SetTimer(TaskKey{3, "napper"}, Timer{Started: start, Deadline: start.Add(90 * time.Minute)}) {
		t.Fatal("SetTimer refused a sleeping task")
	}
	w := mustWait(t, tr, 3)
	if !w.Exact || !w.Since.Equal(start) || w.Precision() != 0 || w.Age() != time.Hour {
		t.Errorf("after its timer was read: %+v", w)
	}
	if tr.SetTimer(TaskKey{3, "other"}, Timer{Started: start}) {
		t.Error("SetTimer accepted a task that is not there")
	}
	// Past its deadline the sleep is over: found at the same place, the task sleeps there again,
	// since its deadline.
	deadline := start.Add(90 * time.Minute)
	tr.Observe(snap(31*time.Minute, task(3, "napper", sleeping)))
	if w := mustWait(t, tr, 3); w.Exact || !w.Since.Equal(t0.Add(31*time.Minute)) || !w.Earliest.Equal(deadline) {
		t.Errorf("a sleep past its deadline: %+v; want a wait since the snapshot, begun after %v", w, deadline)
	}
}

// TestShortSleepsAtOnePlace: a task that sleeps a few milliseconds at one line again and again is
// found there by every snapshot, but its timer, read after each, shows a sleep begun since: it
// never waits for longer than an interval.
func TestShortSleepsAtOnePlace(t *testing.T) {
	tr := NewTracker(Options{})
	key := TaskKey{3, "napper"}
	for i := range 5 {
		at := time.Duration(i) * time.Second
		tr.Observe(snap(at, task(3, "napper", sleeping)))
		w := mustWait(t, tr, 3)
		if i > 0 && (w.Age() != 0 || w.Precision() < 0 || w.Precision() > time.Second) {
			t.Fatalf("snapshot %d: waited %v, precision %v: want a wait begun since the snapshot before", i, w.Age(), w.Precision())
		}
		started := t0.Add(at + 20*time.Millisecond)
		if !tr.SetTimer(key, Timer{Started: started, Deadline: started.Add(5 * time.Millisecond)}) {
			t.Fatal("SetTimer refused the sleeping task")
		}
		if w := mustWait(t, tr, 3); w.Exact || !w.Since.Equal(t0.Add(at)) && i == 0 {
			t.Fatalf("snapshot %d: a sleep begun after it was taken for the one it saw: %+v", i, w)
		}
	}
}

func TestGroups(t *testing.T) {
	tr := NewTracker(Options{})
	// Two workers wait at the same place under main; one waits at the same place with no awaiter:
	// another group.
	tr.Observe(snap(0,
		task(mainID, "main", groupAexit),
		task(2, "w1", eventWait, awaitedMain...),
		task(3, "w2", eventWait, awaitedMain...),
		task(4, "w3", eventWait),
	))
	gs := tr.Groups(-1)
	if len(gs) != 3 || gs[0].Count != 2 || len(gs[0].Awaiters) != 1 || gs[0].Awaiters[0].Name != "main" {
		t.Fatalf("groups: %+v", gs)
	}
	if w2, w3 := mustWait(t, tr, 2), mustWait(t, tr, 4); w2.Group != gs[0].ID || w3.Group == gs[0].ID {
		t.Error("tasks are not in the groups listed")
	}

	// w2 moves on and comes back: w1 has waited longer. Each group lists its waits longest first,
	// as many as asked.
	tr.Observe(snap(time.Second, task(mainID, "main", groupAexit), task(2, "w1", eventWait, awaitedMain...),
		task(3, "w2", queueGet, awaitedMain...), task(4, "w3", eventWait)))
	tr.Observe(snap(2*time.Second, task(mainID, "main", groupAexit), task(2, "w1", eventWait, awaitedMain...),
		task(3, "w2", eventWait, awaitedMain...), task(4, "w3", eventWait)))
	names := func(ws []Wait) (out []string) {
		for _, w := range ws {
			out = append(out, w.Task.Name)
		}
		return out
	}
	for _, tc := range []struct {
		n    int
		want []string
	}{{-1, []string{"w1", "w2"}}, {5, []string{"w1", "w2"}}, {1, []string{"w1"}}, {0, nil}} {
		gs := tr.Groups(tc.n)
		if got := names(gs[0].Waits); !slices.Equal(got, tc.want) || gs[0].Count != 2 {
			t.Errorf("Groups(%d): the first group has %d tasks, waits of %v; want 2, %v", tc.n, gs[0].Count, got, tc.want)
		}
		for _, g := range gs[1:] {
			if tc.n != 0 && len(g.Waits) != 1 || tc.n == 0 && g.Waits != nil {
				t.Errorf("Groups(%d): group of %d tasks has %d waits", tc.n, g.Count, len(g.Waits))
			}
		}
	}
}

func TestTrend(t *testing.T) {
	for _, tc := range []struct {
		name    string
		count   func(i int) int
		growing bool
	}{
		{"a leak", func(i int) int { return 10 + i }, true},
		{"steady", func(i int) int { return 10 }, false},
		{"churn", func(i int) int { return 10 + (i*7)%5 }, false},
		{"a burst that ended", func(i int) int { return 10 + min(i, 20-i, 5) }, false},
	} {
		tr := NewTracker(Options{})
		for i := 0; i <= 20; i++ {
			var tasks []snapshot.Task
			for k := 0; k < tc.count(i); k++ {
				tasks = append(tasks, task(uint64(100+k), "w", queueGet))
			}
			tr.Observe(snap(time.Duration(i)*time.Second, tasks...))
		}
		g := tr.Groups(0)[0]
		if g.Trend.Growing != tc.growing {
			t.Errorf("%s: growing %v (trend %+v), want %v", tc.name, g.Trend.Growing, g.Trend, tc.growing)
		}
	}
}

// TestOrderKept: the order the Tracker keeps from one snapshot to the next (longest first) is the
// order a sort of every wait gives, through tasks that come, go, move on, are renamed, reuse an
// id and get their timers read.
func TestOrderKept(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	chains := [][]snapshot.Frame{eventWait, queueGet, sleeping}
	names := []string{"a", "b", "c"}
	tr := NewTracker(Options{})
	type state struct {
		name   string
		frames []snapshot.Frame
	}
	live := map[uint64]state{}
	for step := range 200 {
		for range 8 {
			id := uint64(1 + rng.IntN(60))
			switch rng.IntN(4) {
			case 0:
				delete(live, id)
			case 1:
				live[id] = state{names[rng.IntN(len(names))], chains[rng.IntN(len(chains))]}
			case 2:
				if st, ok := live[id]; ok {
					st.frames = chains[rng.IntN(len(chains))]
					live[id] = st
				}
			}
		}
		var tasks []snapshot.Task
		for id, st := range live {
			tasks = append(tasks, task(id, st.name, st.frames))
		}
		at := time.Duration(step) * time.Second
		tr.Observe(snap(at, tasks...))
		for range 3 {
			if len(tasks) == 0 {
				break
			}
			tk := tasks[rng.IntN(len(tasks))]
			started := t0.Add(at - time.Duration(rng.IntN(100))*time.Second)
			tr.SetTimer(TaskKey{tk.ID, tk.Name}, Timer{Started: started, Deadline: started.Add(time.Hour)})
		}
		if rng.IntN(3) == 0 {
			continue // several snapshots may pass before the order is asked for
		}
		var want []Wait
		for _, task := range tasks {
			want = append(want, mustWait(t, tr, task.ID))
		}
		slices.SortFunc(want, func(a, b Wait) int { return CompareWaits(&a, &b) })
		got := tr.Waits()
		if len(got) != len(want) {
			t.Fatalf("step %d: %d waits, want %d", step, len(got), len(want))
		}
		for i := range got {
			if got[i].Task != want[i].Task || !got[i].Since.Equal(want[i].Since) {
				t.Fatalf("step %d: wait %d is %v since %v, want %v since %v", step, i, got[i].Task, got[i].Since, want[i].Task, want[i].Since)
			}
		}
		if top := tr.Longest(5, func(w *Wait) bool { return w.Sleeping }); len(top) > 5 {
			t.Fatalf("step %d: Longest(5) gave %d", step, len(top))
		}
	}
}

// TestUntimedSleepers: the sleeps whose timers are worth reading are those not known exactly
// among the longest waits, and only among them.
func TestUntimedSleepers(t *testing.T) {
	tr := NewTracker(Options{})
	var tasks []snapshot.Task
	for i := range 100 {
		chain := sleeping
		if i%10 == 9 {
			chain = eventWait
		}
		tasks = append(tasks, task(uint64(1000+i), fmt.Sprintf("t%03d", i), chain))
	}
	tr.Observe(snap(0, tasks...))
	got := tr.UntimedSleepers(1000)
	// The 64 longest waits (all began before tracking; by name then) hold 58 sleepers.
	if len(got) != 58 || got[0].Task.Name != "t000" || got[len(got)-1].Task.Name != "t063" {
		t.Fatalf("%d sleepers to time, %v … %v", len(got), got[0].Task, got[len(got)-1].Task)
	}
	if n := len(tr.UntimedSleepers(5)); n != 5 {
		t.Errorf("UntimedSleepers(5) gave %d", n)
	}
	// Once timed, a sleep leaves the list; the timed ones, begun before tracking, stay the
	// longest, so no sleep further down comes into reach while they last.
	for _, w := range got {
		tr.SetTimer(w.Task, Timer{Started: t0.Add(-time.Hour), Deadline: t0.Add(time.Hour)})
	}
	if rest := tr.UntimedSleepers(1000); len(rest) != 0 {
		t.Errorf("after timing the sleepers within reach: %d more, from %v", len(rest), rest[0].Task)
	}
	// When they end, the next ones do.
	tr.Observe(snap(time.Second, tasks[64:]...))
	if rest := tr.UntimedSleepers(1000); len(rest) != 32 || rest[0].Task.Name != "t064" {
		t.Errorf("after the first 64 tasks ended: %d sleepers to time", len(rest))
	}
}
