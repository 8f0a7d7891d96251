package lsp

import (
	"context"
	"sync"
	"time"

	"github.com/aioscope/aioscope/snapshot"
	"github.com/aioscope/aioscope/tracking"
	"github.com/aioscope/aioscope/tracking/live"
)

// What the server knows of the target over time (package tracking): how long each task has
// waited where it waits and which tasks are stuck, from a tracking.Tracker fed with every
// snapshot of the attachment; and, while snapshots are taken on a timer, which event loops are
// blocked, from a tracking.LoopDetector fed with samples of the threads' current frames, taken
// at live.SampleAdaptively's intervals.

// DefaultStuckThreshold is how long a leaf task must wait at one place to be shown as stuck
// unless stuckThreshold says otherwise.
const DefaultStuckThreshold = live.DefaultStuck

// blockShownFor is how long a blocked event loop stays a diagnostic after the block ended: long
// enough to be seen at the next snapshots, short enough to go away once the loop runs freely.
const blockShownFor = 5 * time.Second

// timerReads bounds the sleeping tasks whose timer is read per snapshot, longest waiting first,
// to learn exactly when their sleep began (as aioscope watch does).
const timerReads = live.DefaultTimerReads

// threadSampler is what a Target offers when its threads can be sampled many times a second:
// a second reader of the process, so that a sample never waits for a snapshot being read.
type threadSampler interface {
	newSampler() (live.ThreadSampler, error)
}

// watch follows one attachment's target over time. Its lock is taken after snapMu (a snapshot
// being observed) and never together with the session's mu.
type watch struct {
	mu      sync.Mutex
	tracker *tracking.Tracker
	stuck   time.Duration
	loops   *tracking.LoopDetector // nil when the loops are not sampled
}

func newWatch(stuck, blocked time.Duration, sampled bool) *watch {
	w := &watch{tracker: tracking.NewTracker(tracking.Options{}), stuck: stuck}
	if sampled && blocked > 0 {
		w.loops = tracking.NewLoopDetector(blocked)
	}
	return w
}

// observed is what the watch knows as of one snapshot.
type observed struct {
	waits  []wait       // each task's, by index in the snapshot's Tasks
	blocks []shownBlock // the blocked loops to show
}

// shownBlock is a place where an event loop is blocked now, or was within blockShownFor.
type shownBlock struct {
	tracking.Block      // the block going on, or the longest one at this place
	ongoing        bool // Block goes on
	count          int  // the blocks that ended here since the sampling began
	last           time.Time
	taskName       string // the name of Block.Task, "" when unknown
}

type blockKey struct {
	tid            uint64
	function, file string
	line           int
}

func keyOfBlock(b *tracking.Block) blockKey {
	return blockKey{b.TID, b.Site.Function, b.Site.File, b.Site.Line}
}

// observe tracks a new snapshot of the target; timers, when set, reads the timers of the
// sleeping tasks waiting longest whose start is not known yet.
func (w *watch) observe(s *snapshot.Snapshot, timers live.FrameReader) *observed {
	w.mu.Lock()
	w.tracker.Observe(s)
	var want []tracking.Wait
	if timers != nil {
		want = w.tracker.UntimedSleepers(timerReads)
	}
	w.mu.Unlock()
	if len(want) > 0 {
		readTimers(s, want, timers, w)
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	o := &observed{waits: make([]wait, len(s.Tasks))}
	for i := range s.Tasks {
		t := &s.Tasks[i]
		tw, ok := w.tracker.Wait(t.ID)
		if !ok || tw.Task.Name != t.Name {
			continue
		}
		o.waits[i] = wait{d: tw.Age(), atLeast: tw.AtLeast(), stuck: tw.IsStuck(w.stuck), wakes: tw.Deadline}
	}
	if w.loops == nil {
		return o
	}
	at := map[blockKey]int{}
	for _, b := range w.loops.Ongoing() {
		at[keyOfBlock(&b)] = len(o.blocks)
		o.blocks = append(o.blocks, shownBlock{Block: b, ongoing: true})
	}
	for _, st := range w.loops.Sites() {
		k := keyOfBlock(&st.Longest)
		if i, ok := at[k]; ok {
			o.blocks[i].count, o.blocks[i].last = st.Count, st.Last
			continue
		}
		if s.CapturedAt.Sub(st.Last) > blockShownFor {
			continue
		}
		o.blocks = append(o.blocks, shownBlock{Block: st.Longest, count: st.Count, last: st.Last})
	}
	for i := range o.blocks {
		if id := o.blocks[i].Task; id != 0 {
			o.blocks[i].taskName, _ = w.tracker.Name(id)
		}
	}
	return o
}

// readTimers reads the timers of want, tasks of s, and tells the tracker their sleeps' starts.
func readTimers(s *snapshot.Snapshot, want []tracking.Wait, timers live.FrameReader, w *watch) {
	live.ReadSleepTimers(timers, s, want, func(k tracking.TaskKey, tm tracking.Timer, ok bool) {
		if ok {
			w.mu.Lock()
			w.tracker.SetTimer(k, tm)
			w.mu.Unlock()
		}
	})
}

// sampled takes in one sample of the threads.
func (w *watch) sampled(at time.Time, threads []tracking.ThreadSample) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range threads {
		w.tracker.Ran(threads[i].RunningTask, at)
	}
	w.loops.Observe(at, threads)
}

// sampleLoops samples the threads of the target until ctx is done or sampling fails for good (a
// target gone is noticed by the snapshots).
func (s *session) sampleLoops(ctx context.Context, w *watch, sampler live.ThreadSampler) {
	if err := live.SampleAdaptively(ctx.Done(), sampler, w.sampled); err != nil {
		s.log.Info("sampling the event loops stopped", "err", err)
	}
}
