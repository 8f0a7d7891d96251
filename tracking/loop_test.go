package tracking

import (
	"testing"
	"time"

	"github.com/aioscope/aioscope/snapshot"
)

// The frames of a thread running asyncio's loop, as CPython 3.14 and 3.15 show them (the live
// tests in tracking/live read them from real processes).
var (
	runOnce    = fr("BaseEventLoop._run_once", asyncioDir+"base_events.py", 2064)
	loopOuter  = []snapshot.Frame{runOnce, fr("BaseEventLoop.run_forever", asyncioDir+"base_events.py", 683), fr("<module>", "/srv/app.py", 40)}
	inSelector = append([]snapshot.Frame{fr("EpollSelector.select", "/usr/lib/python3.14/selectors.py", 452)}, loopOuter...)
	handleRun  = fr("Handle._run", asyncioDir+"events.py", 94)
)

func inCallback(inner ...snapshot.Frame) []snapshot.Frame {
	return append(append(inner, handleRun), loopOuter...)
}

func TestReadLoopStack(t *testing.T) {
	blocking := inCallback(fr("blocking_call", "/srv/app.py", 23), fr("again", "/srv/app.py", 21))
	userRunOnce := []snapshot.Frame{fr("EpollSelector.select", "/usr/lib/python3.14/selectors.py", 452), fr("BaseEventLoop._run_once", "/srv/myloop.py", 10)}
	for _, tc := range []struct {
		name     string
		frames   []snapshot.Frame
		state    LoopState
		callback int
	}{
		{"idle", inSelector, InSelector, 0},
		{"a callback", blocking, InCallback, 2},
		{"a step implemented in C", inCallback(), InCallback, 0},
		{"between callbacks", loopOuter, InLoop, 0},
		{"scheduling", append([]snapshot.Frame{fr("BaseEventLoop.call_soon", asyncioDir+"base_events.py", 832)}, loopOuter...), InLoop, 0},
		{"no loop", []snapshot.Frame{fr("worker", "/srv/app.py", 3)}, NoLoop, 0},
		{"not asyncio's loop", userRunOnce, NoLoop, 0},
	} {
		ls := ReadLoopStack(tc.frames)
		if ls.State != tc.state || len(ls.Callback) != tc.callback {
			t.Errorf("%s: %v with %d callback frames, want %v with %d", tc.name, ls.State, len(ls.Callback), tc.state, tc.callback)
		}
	}
}

// sampler feeds a detector samples of one loop thread every 10 ms.
type sampler struct {
	d   *LoopDetector
	at  time.Time
	out []Block
}

const sampleGap = 10 * time.Millisecond

func (s *sampler) take(n int, frames []snapshot.Frame, task uint64, step func(i int) string) {
	for i := 0; i < n; i++ {
		st := ""
		if step != nil {
			st = step(i)
		}
		s.out = append(s.out, s.d.Observe(s.at, []ThreadSample{{TID: 42, HasLoop: true, Frames: frames, RunningTask: task, Step: st}})...)
		s.at = s.at.Add(sampleGap)
	}
}

// steady is the step of one long run.
func steady(int) string { return "7.5#0" }

func TestBlockMeasured(t *testing.T) {
	s := &sampler{d: NewLoopDetector(100 * time.Millisecond), at: t0}
	blocking := inCallback(fr("blocking_call", "/srv/app.py", 23), fr("again", "/srv/app.py", 21))
	s.take(5, inSelector, 0, nil)
	s.take(30, blocking, 0, steady) // 30 samples: the run lasted 290 to 310 ms
	if len(s.out) != 0 {
		t.Fatalf("a block reported before it ended: %+v", s.out)
	}
	if on := s.d.Ongoing(); len(on) != 1 || !on[0].Ongoing {
		t.Fatalf("ongoing: %+v", on)
	}
	s.take(3, inSelector, 0, nil)
	if len(s.out) != 1 {
		t.Fatalf("blocks: %+v", s.out)
	}
	b := s.out[0]
	if b.Duration != 300*time.Millisecond || b.Precision != 10*time.Millisecond || b.Site.Function != "blocking_call" || b.Ongoing || b.Task != 0 {
		t.Errorf("block: %+v", b)
	}
	sites := s.d.Sites()
	if len(sites) != 1 || sites[0].Count != 1 || sites[0].Longest.Duration != b.Duration {
		t.Errorf("sites: %+v", sites)
	}
}

// A task that computes a little and yields, again and again, is found in a callback by every
// sample, at the same line: only the step tells its steps apart.
func TestStepsOfOneTaskNotMerged(t *testing.T) {
	hog := inCallback(fr("compute", "/srv/app.py", 19), fr("hog", "/srv/app.py", 25))
	s := &sampler{d: NewLoopDetector(20 * time.Millisecond), at: t0}
	s.take(100, hog, 0x77, func(i int) string { return time.Duration(i).String() + "#0" })
	s.take(1, inSelector, 0, nil)
	if len(s.out) != 0 {
		t.Errorf("steps told apart by their step reported as blocks: %+v", s.out)
	}
	// Without the step, consecutive samples of the same task at the same place are one run: the
	// limit of sampling the stack alone.
	s = &sampler{d: NewLoopDetector(20 * time.Millisecond), at: t0}
	s.take(100, hog, 0x77, nil)
	s.take(1, inSelector, 0, nil)
	if len(s.out) != 1 || s.out[0].Task != 0x77 {
		t.Errorf("without steps: %+v", s.out)
	}
	// Another task at the same place is another run, step or not.
	s = &sampler{d: NewLoopDetector(20 * time.Millisecond), at: t0}
	for i := 0; i < 50; i++ {
		s.take(1, hog, uint64(0x70+i%2), nil)
	}
	if len(s.out) != 0 {
		t.Errorf("alternating tasks: %+v", s.out)
	}
}

// A run seen by a single sample, however far apart the samples around it, is not proof of a
// block.
func TestSparseSamplesProveNothing(t *testing.T) {
	d := NewLoopDetector(100 * time.Millisecond)
	cb := inCallback(fr("work", "/srv/app.py", 5))
	var out []Block
	for i, frames := range [][]snapshot.Frame{inSelector, cb, inSelector} {
		out = append(out, d.Observe(t0.Add(time.Duration(i)*time.Second), []ThreadSample{{TID: 42, HasLoop: true, Frames: frames}})...)
	}
	if len(out) != 0 {
		t.Errorf("a run seen once between samples a second apart: %+v", out)
	}
}

func TestStepEndedAndThreadGone(t *testing.T) {
	d := NewLoopDetector(20 * time.Millisecond)
	cb := inCallback(fr("work", "/srv/app.py", 5))
	d.Observe(t0, []ThreadSample{{TID: 42, HasLoop: true, Frames: inSelector}})
	d.Observe(t0.Add(10*time.Millisecond), []ThreadSample{{TID: 42, HasLoop: true, Frames: cb, Step: "1#0"}})
	out := d.Observe(t0.Add(40*time.Millisecond), []ThreadSample{{TID: 42, HasLoop: true, Frames: cb, Step: "", StepEnded: true}})
	// Seen at 10 and 40 ms and over right after: 35 ms from the midpoint before it.
	if len(out) != 1 || out[0].Duration != 35*time.Millisecond {
		t.Fatalf("a run that ended right after its last sample: %+v", out)
	}
	d.Observe(t0.Add(50*time.Millisecond), []ThreadSample{{TID: 42, HasLoop: true, Frames: cb, Step: "2#0"}})
	d.Observe(t0.Add(80*time.Millisecond), []ThreadSample{{TID: 42, HasLoop: true, Frames: cb, Step: "2#0"}})
	if out := d.Observe(t0.Add(90*time.Millisecond), nil); len(out) != 1 {
		t.Errorf("the run of a thread gone from the sample: %+v", out)
	}
	if len(d.Loops()) != 0 {
		t.Errorf("a thread gone is still listed: %+v", d.Loops())
	}
}

func TestLoopInfo(t *testing.T) {
	s := &sampler{d: NewLoopDetector(100 * time.Millisecond), at: t0}
	cb := inCallback(fr("work", "/srv/app.py", 5))
	s.take(50, inSelector, 0, nil)
	s.take(20, cb, 0, steady)
	s.take(30, inSelector, 0, nil)
	li := s.d.Loops()
	if len(li) != 1 || li[0].State != InSelector || li[0].Lag != 200*time.Millisecond || li[0].Busy != 0.2 || li[0].Blocked != nil {
		t.Errorf("loops: %+v", li)
	}
	s.take(15, cb, 0, func(int) string { return "9#1" })
	li = s.d.Loops()
	if li[0].State != InCallback || li[0].Blocked == nil || li[0].Blocked.Duration != 145*time.Millisecond {
		t.Errorf("blocked now: %+v", li)
	}
}
