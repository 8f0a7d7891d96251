package adapter

import (
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/internal/jsonenc"
	"github.com/aioscope/aioscope/snapshot"
	"github.com/aioscope/aioscope/snapshot/groups"
	"github.com/aioscope/aioscope/tracking"
	"github.com/aioscope/aioscope/tracking/live"
)

// What a session knows of the target over time (package tracking): how long each task has waited
// where it waits and which tasks are stuck, from a tracking.Tracker fed with every snapshot the
// session takes; and while a refresh runs, the event loops' blocks and lag, from a
// tracking.LoopDetector fed with samples of the threads' current frames.
//
// Samples are taken by a second reader of the process, so that a sample never waits for a
// snapshot being read, and only while the session refreshes: a session that only stops now and
// then reads nothing between its stops. A new refresh starts a new LoopDetector, since what the
// loop did while nothing watched cannot be known. Samples come at live.SampleAdaptively's
// intervals.

// ongoingReport is how long a block must have gone on to be reported before it ends: a loop
// blocked for good must not wait for its end to be told.
const ongoingReport = time.Second

// watch is the session's tracker and loop detector. Its lock is taken after snapMu (a snapshot
// being observed) and never together with mu.
type watch struct {
	mu      sync.Mutex
	tracker *tracking.Tracker
	stuck   time.Duration
	blocked time.Duration
	// loops is the detector of the sampling going on, nil while none is.
	loops *tracking.LoopDetector
	// reported is the start of the ongoing blocks already sent as events, by thread.
	reported map[uint64]time.Time
}

func newWatch(stuck, blocked time.Duration) *watch {
	return &watch{
		tracker:  tracking.NewTracker(tracking.Options{}),
		stuck:    stuck,
		blocked:  blocked,
		reported: map[uint64]time.Time{},
	}
}

// taskWait is a task's wait as a view shows it.
type taskWait struct {
	known   bool
	age     time.Duration // as of the snapshot
	atLeast bool          // age is a lower bound (tracking.Wait.AtLeast)
	stuck   bool
}

// observe tracks a new snapshot, whose tasks gs groups, and returns each task's wait, by index,
// and the loops' states while sampling goes on.
func (w *watch) observe(s *snapshot.Snapshot, gs []groups.Group) ([]taskWait, []tracking.LoopInfo) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tracker.ObserveGroups(s, gs)
	waits := make([]taskWait, len(s.Tasks))
	for i := range s.Tasks {
		t := &s.Tasks[i]
		tw, ok := w.tracker.Wait(t.ID)
		if !ok || tw.Task.Name != t.Name {
			continue
		}
		waits[i] = taskWait{known: true, age: tw.Age(), atLeast: tw.AtLeast(), stuck: tw.IsStuck(w.stuck)}
	}
	var loops []tracking.LoopInfo // nil: no sampling going on
	if w.loops != nil {
		loops = append([]tracking.LoopInfo{}, w.loops.Loops()...)
	}
	return waits, loops
}

// startSampling starts a new loop detector; stopSampling drops it.
func (w *watch) startSampling() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.loops = tracking.NewLoopDetector(w.blocked)
	clear(w.reported)
}

func (w *watch) stopSampling() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.loops = nil
	clear(w.reported)
}

// sampled takes in one sample and returns the blocks to report: those that ended with it, and
// those going on for ongoingReport that were not reported yet.
func (w *watch) sampled(at time.Time, threads []tracking.ThreadSample) []tracking.Block {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.loops == nil {
		return nil
	}
	for i := range threads {
		w.tracker.Ran(threads[i].RunningTask, at)
	}
	out := w.loops.Observe(at, threads)
	for _, b := range out {
		if start, ok := w.reported[b.TID]; ok && start.Equal(b.Start) {
			delete(w.reported, b.TID)
		}
	}
	for _, b := range w.loops.Ongoing() {
		if b.Duration < ongoingReport {
			continue
		}
		if start, ok := w.reported[b.TID]; ok && start.Equal(b.Start) {
			continue
		}
		w.reported[b.TID] = b.Start
		out = append(out, b)
	}
	return out
}

// sampleLoop samples the target's threads until ctx is done, feeding the watch and sending the
// blocks it finds as aioscope/loopBlocked events. It gives up, saying so once, when the target
// cannot be sampled (a Target that is not a process, or a second reader that cannot attach).
func (s *session) sampleLoop(done <-chan struct{}) {
	sampler, err := s.samplerTarget()
	if err != nil {
		s.log.Info("no loop sampling", "err", err)
		return
	}
	s.watch.startSampling()
	defer s.watch.stopSampling()
	err = live.SampleAdaptively(done, sampler, func(at time.Time, threads []tracking.ThreadSample) {
		for _, b := range s.watch.sampled(at, threads) {
			s.sendLoopBlocked(b)
		}
	})
	if err != nil {
		s.log.Info("loop sampling stopped", "err", err) // the refresh reports what the target has come to
	}
}

// samplerTarget returns the session's second reader of the target, attaching it on first use.
func (s *session) samplerTarget() (live.ThreadSampler, error) {
	s.mu.Lock()
	sampler, target, args := s.sampler, s.target, s.args
	s.mu.Unlock()
	if sampler != nil {
		return sampler, nil
	}
	if _, ok := target.(live.ThreadSampler); !ok {
		return nil, errors.New("the target's threads cannot be sampled")
	}
	t, err := s.srv.attach(args.ProcessID, inspector.Options{Retries: args.Retries, MainThreadOnly: args.MainThreadOnly})
	if err != nil {
		return nil, err
	}
	sampler, ok := t.(live.ThreadSampler)
	if !ok {
		return nil, errors.New("the target's threads cannot be sampled")
	}
	s.mu.Lock()
	s.sampler = sampler
	s.mu.Unlock()
	return sampler, nil
}

// sendLoopBlocked sends the aioscope/loopBlocked event for a block (see appendLoopBlocked).
func (s *session) sendLoopBlocked(b tracking.Block) {
	s.mu.Lock()
	v, src := s.view, s.src
	s.mu.Unlock()
	s.conn.event("aioscope/loopBlocked", json.RawMessage(appendLoopBlocked(nil, b, v, src)))
}

// appendLoopBlocked appends the body of the aioscope/loopBlocked event for b: which loop, for
// how long, in what; schema/loopblocked.schema.json defines it. Thread ids are those of v, the
// latest snapshot (nil: none).
func appendLoopBlocked(buf []byte, b tracking.Block, v *view, src *sourceResolver) []byte {
	j := jsonenc.NewBuffer(buf)
	j.Raw(`{"tid":`)
	j.Uint(b.TID)
	j.Raw(`,"threadId":`)
	j.Int(int64(v.osThreadID(b.TID)))
	j.Raw(`,"milliseconds":`)
	j.Int(b.Duration.Round(time.Millisecond).Milliseconds())
	j.Raw(`,"precisionMs":`)
	j.Int(b.Precision.Round(time.Millisecond).Milliseconds())
	j.Raw(`,"startedAt":`)
	j.Str(b.Start.UTC().Format(time.RFC3339Nano))
	j.Raw(`,"ongoing":`)
	j.Bool(b.Ongoing)
	j.Raw(`,"task":`)
	if b.Task == 0 {
		j.Null()
	} else {
		j.Raw(`{"taskId":`)
		j.HexID(b.Task)
		j.Raw(`,"threadId":`)
		id, name := 0, ""
		if v != nil {
			if i, ok := v.taskIndex[b.Task]; ok {
				id, name = v.taskDAP[i], v.snap.Tasks[i].Name
			}
		}
		j.Int(int64(id))
		j.Raw(`,"name":`)
		j.Str(name)
		j.Raw("}")
	}
	j.Raw(`,"site":`)
	if b.Site == (snapshot.Frame{}) {
		j.Null()
	} else {
		writeGraphFrame(j, &b.Site, src)
	}
	j.Raw(`,"frames":`)
	writeGraphFrames(j, b.Frames, src)
	j.Raw("}")
	return j.Bytes()
}
