// Package live follows a running Python process with tracking: full snapshots at an interval,
// fed to a tracking.Tracker, and samples of its threads' current frames many times a second, fed
// to a tracking.LoopDetector, with events as things happen (a snapshot's summary, a task found
// stuck, an event loop that was blocked). It only reads the process, as every snapshot does.
package live

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/inspector/values"
	"github.com/aioscope/aioscope/snapshot"
	"github.com/aioscope/aioscope/tracking"
)

// Config sets what a Monitor watches and how often.
type Config struct {
	Interval       time.Duration // between snapshots (default 1 s)
	SampleInterval time.Duration // between thread samples (default 10 ms: 100 a second)
	Stuck          time.Duration // a leaf task waiting this long at one place is stuck (default 30 s)
	Blocked        time.Duration // a callback running this long blocks its loop (default 100 ms)
	Retries        int           // snapshot retries (inspector.Options.Retries)
	// TimerReads bounds the sleeping tasks whose timer is read per snapshot, longest waiting
	// first (tracking.Tracker.UntimedSleepers), to learn exactly when their sleep began
	// (default 16; negative: none).
	TimerReads int
	// NoSummary leaves Event.Summary nil: for consumers that only want stuck tasks and blocks.
	NoSummary bool
	// SummaryWaits is how many of the longest waits Summary.Waits holds, and SummaryGroupWaits
	// how many each of Summary.Groups holds (0: none, negative: every task's). A consumer asks
	// for what it shows: copying every task's wait after each snapshot is most of what a
	// summary of many tasks costs.
	SummaryWaits, SummaryGroupWaits int
}

// Defaults.
const (
	DefaultInterval       = time.Second
	DefaultSampleInterval = 10 * time.Millisecond
	DefaultStuck          = 30 * time.Second
	DefaultTimerReads     = 16
)

func (c *Config) fill() {
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.SampleInterval <= 0 {
		c.SampleInterval = DefaultSampleInterval
	}
	if c.Stuck <= 0 {
		c.Stuck = DefaultStuck
	}
	if c.Blocked <= 0 {
		c.Blocked = tracking.DefaultBlockThreshold
	}
	if c.TimerReads == 0 {
		c.TimerReads = DefaultTimerReads
	}
}

// EventKind says what an Event reports.
type EventKind uint8

const (
	// SnapshotTaken: a snapshot was taken and tracked; Summary describes the state after it.
	SnapshotTaken EventKind = iota + 1
	// TaskStuck: a task has just waited longer than Config.Stuck (Wait); once per wait.
	TaskStuck
	// LoopBlocked: a callback ran longer than Config.Blocked (Block), reported when it ended.
	LoopBlocked
)

// Event is something the Monitor saw.
type Event struct {
	Kind     EventKind
	At       time.Time
	Summary  *Summary        // SnapshotTaken
	Wait     *tracking.Wait  // TaskStuck
	Block    *tracking.Block // LoopBlocked
	TaskName string          // LoopBlocked: the name of Block.Task, "" when unknown
}

// Summary is the state of the watch after a snapshot.
type Summary struct {
	At            time.Time
	PID           int
	PythonVersion string
	Tasks         int
	Threads       int
	Loops         []tracking.LoopInfo
	Groups        []tracking.Group // largest first, with Config.SummaryGroupWaits waits each
	Waits         []tracking.Wait  // the longest (Config.SummaryWaits), longest first
	Sites         []tracking.SiteStats
	Names         map[uint64]string // names of the tasks of Loops' ongoing blocks
	Stats         Stats
}

// Stats counts the Monitor's reads.
type Stats struct {
	Snapshots, SnapshotsFailed int // failed: the target changed too fast every time
	Samples, SamplesFailed     int
	TimerReads                 int
}

// Monitor watches one process.
type Monitor struct {
	cfg     Config
	pid     int
	version string
	snaps   *inspector.Process // for snapshots and timer reads
	sampler *inspector.Process // for thread samples and step reads, so that neither waits for the other

	mu       sync.Mutex
	tracker  *tracking.Tracker
	loops    *tracking.LoopDetector
	stats    Stats
	reported map[tracking.TaskKey]time.Time // stuck waits reported, by their start
	threads  int

	emitMu sync.Mutex
}

// Attach attaches to process pid (twice: snapshots and samples run side by side). Its errors
// are those of inspector.Attach, for inspector.Explain.
func Attach(pid int, cfg Config) (*Monitor, error) {
	cfg.fill()
	opts := inspector.Options{Retries: cfg.Retries}
	snaps, err := inspector.Attach(pid, opts)
	if err != nil {
		return nil, err
	}
	sampler, err := inspector.Attach(pid, opts)
	if err != nil {
		return nil, err
	}
	return &Monitor{
		cfg: cfg, pid: pid, version: snaps.PythonVersion(), snaps: snaps, sampler: sampler,
		tracker:  tracking.NewTracker(tracking.Options{}),
		loops:    tracking.NewLoopDetector(cfg.Blocked),
		reported: map[tracking.TaskKey]time.Time{},
	}, nil
}

// PythonVersion is the target's CPython version.
func (m *Monitor) PythonVersion() string { return m.version }

// Config is the configuration in force, defaults filled in.
func (m *Monitor) Config() Config { return m.cfg }

// Run watches until ctx is done (returning nil) or the process cannot be read any more (returning
// why: the process exited, permission was lost, it has not imported asyncio). A snapshot or sample
// that meets a target changing too fast is counted and skipped. emit is called for every event,
// one at a time, from the Monitor's goroutines.
func (m *Monitor) Run(ctx context.Context, emit func(Event)) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// The first snapshot comes before sampling starts: a process that cannot be read at all fails
	// here, with the error ps would give.
	if err := m.snapshot(emit); err != nil {
		return err
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := m.sample(ctx, emit); err != nil {
			cancel(err)
		}
	}()
	tick := time.NewTicker(m.cfg.Interval)
	defer tick.Stop()
	var err error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
			if err = m.snapshot(emit); err != nil {
				cancel(err)
				break loop
			}
		}
	}
	wg.Wait()
	if cause := context.Cause(ctx); err == nil && cause != nil && !errors.Is(cause, context.Canceled) && !errors.Is(cause, context.DeadlineExceeded) {
		err = cause
	}
	return err
}

// SnapshotNow takes a snapshot at once, as Run does at every interval: for a last look when Run
// has returned.
func (m *Monitor) SnapshotNow(emit func(Event)) error { return m.snapshot(emit) }

func (m *Monitor) emit(emit func(Event), e Event) {
	m.emitMu.Lock()
	defer m.emitMu.Unlock()
	emit(e)
}

// transient reports whether a failed read is worth no more than a skipped snapshot or sample.
func transient(err error) bool {
	var changed *inspector.TargetChangedError
	return errors.As(err, &changed)
}

func (m *Monitor) snapshot(emit func(Event)) error {
	s, err := m.snaps.Snapshot()
	if err != nil {
		if transient(err) {
			m.mu.Lock()
			m.stats.SnapshotsFailed++
			m.mu.Unlock()
			return nil
		}
		return err
	}
	m.mu.Lock()
	m.stats.Snapshots++
	m.threads = len(s.Threads)
	m.tracker.Observe(s)
	m.mu.Unlock()

	m.readTimers(s)

	m.mu.Lock()
	var stuck []tracking.Wait
	live := map[tracking.TaskKey]bool{}
	for _, w := range m.tracker.Stuck(m.cfg.Stuck) {
		live[w.Task] = true
		if since, ok := m.reported[w.Task]; ok && since.Equal(w.Since) {
			continue
		}
		m.reported[w.Task] = w.Since
		stuck = append(stuck, w)
	}
	for k := range m.reported {
		if !live[k] {
			delete(m.reported, k)
		}
	}
	var sum *Summary
	if !m.cfg.NoSummary {
		sum = m.summaryLocked()
	}
	m.mu.Unlock()

	for i := range stuck {
		m.emit(emit, Event{Kind: TaskStuck, At: s.CapturedAt, Wait: &stuck[i]})
	}
	m.emit(emit, Event{Kind: SnapshotTaken, At: s.CapturedAt, Summary: sum})
	return nil
}

// readTimers reads the timers of the sleeping tasks waiting longest whose sleep's start is not
// known yet. The tasks are those of s, the snapshot just tracked.
func (m *Monitor) readTimers(s *snapshot.Snapshot) {
	if m.cfg.TimerReads < 0 {
		return
	}
	m.mu.Lock()
	want := m.tracker.UntimedSleepers(m.cfg.TimerReads)
	m.mu.Unlock()
	if len(want) == 0 {
		return
	}
	ReadSleepTimers(m.snaps, s, want, func(k tracking.TaskKey, tm tracking.Timer, ok bool) {
		m.mu.Lock()
		m.stats.TimerReads++
		if ok {
			m.tracker.SetTimer(k, tm)
		}
		m.mu.Unlock()
	})
}

// ReadSleepTimers reads the sleep timers (ReadSleepTimer) of the tasks of want that snapshot s
// of p has, and hands each result to found, with ok false for a timer that could not be read.
func ReadSleepTimers(p FrameReader, s *snapshot.Snapshot, want []tracking.Wait, found func(key tracking.TaskKey, tm tracking.Timer, ok bool)) {
	byKey := make(map[tracking.TaskKey]*snapshot.Task, len(want))
	for _, w := range want {
		byKey[w.Task] = nil
	}
	for i := range s.Tasks {
		k := tracking.TaskKey{ID: s.Tasks[i].ID, Name: s.Tasks[i].Name}
		if _, ok := byKey[k]; ok {
			byKey[k] = &s.Tasks[i]
		}
	}
	for k, task := range byKey {
		if task != nil {
			tm, ok := ReadSleepTimer(p, task)
			found(k, tm, ok)
		}
	}
}

// ReadSleepTimer reads when the asyncio.sleep() a task of a snapshot of p is suspended in began
// and when it ends: the variables delay and h (its TimerHandle) of the sleep's frame, and the
// target's clock. ok is false when the task has moved on or the values cannot be read.
//
// When snapshots carry the time until a sleeping task wakes, the deadline can come from there;
// the delay, and so the start, is still the frame's.
func ReadSleepTimer(p FrameReader, task *snapshot.Task) (tracking.Timer, bool) {
	if !tracking.Sleeping(task.Frames) {
		return tracking.Timer{}, false
	}
	var tm tracking.Timer
	err := p.InTaskFrame(task, 0, func(r *values.Reader, frame uint64) error {
		delay, err := r.Lookup(frame, "delay")
		if err != nil {
			return err
		}
		h, err := r.Lookup(frame, "h")
		if err != nil {
			return err
		}
		if delay.Err != nil || h.Err != nil {
			return errors.New("unreadable")
		}
		d, err := strconv.ParseFloat(delay.Repr, 64)
		if err != nil {
			return err
		}
		left, ok, err := r.TimeLeft(values.Ref(h.Addr))
		if err != nil || !ok {
			return errors.New("no deadline")
		}
		deadline := time.Now().Add(seconds(left))
		tm = tracking.Timer{Started: deadline.Add(-seconds(d)), Deadline: deadline}
		return nil
	})
	return tm, err == nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// sample samples the threads until ctx is done.
func (m *Monitor) sample(ctx context.Context, emit func(Event)) error {
	tick := time.NewTicker(m.cfg.SampleInterval)
	defer tick.Stop()
	var threads []tracking.ThreadSample
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		var (
			at  time.Time
			err error
		)
		at, threads, err = Sample(m.sampler, threads[:0])
		if err != nil {
			if transient(err) {
				m.mu.Lock()
				m.stats.SamplesFailed++
				m.mu.Unlock()
				continue
			}
			return err
		}
		m.mu.Lock()
		m.stats.Samples++
		for _, th := range threads {
			m.tracker.Ran(th.RunningTask, at)
		}
		blocks := m.loops.Observe(at, threads)
		names := make([]string, len(blocks))
		for i, b := range blocks {
			names[i], _ = m.tracker.Name(b.Task)
		}
		m.mu.Unlock()
		for i := range blocks {
			m.emit(emit, Event{Kind: LoopBlocked, At: blocks[i].End, Block: &blocks[i], TaskName: names[i]})
		}
	}
}

// FrameReader finds a frame of a snapshot again in the live process and reads its values, if it
// is still there (see inspector.Process.InTaskFrame); *inspector.Process is one.
type FrameReader interface {
	InTaskFrame(task *snapshot.Task, i int, f func(r *values.Reader, frame uint64) error) error
	InThreadFrame(thread *snapshot.Thread, i int, f func(r *values.Reader, frame uint64) error) error
}

// ThreadSampler samples a live process's threads; *inspector.Process is one.
type ThreadSampler interface {
	FrameReader
	SampleThreads() (*inspector.ThreadsSample, error)
}

// Sample takes one sample of p's threads for a tracking.LoopDetector, as the Monitor does: each
// thread's current frames and running task, and for a loop in a callback the step it runs
// (ReadStep). The samples are appended to buf. Errors are those of SampleThreads: a
// *inspector.TargetChangedError is worth no more than a skipped sample.
func Sample(p ThreadSampler, buf []tracking.ThreadSample) (time.Time, []tracking.ThreadSample, error) {
	s, err := p.SampleThreads()
	if err != nil {
		return time.Time{}, buf, err
	}
	for i := range s.Threads {
		th := &s.Threads[i]
		ts := tracking.ThreadSample{TID: th.TID, HasLoop: th.HasLoop, Frames: th.Frames, RunningTask: th.RunningTask}
		if th.HasLoop {
			if ls := tracking.ReadLoopStack(th.Frames); ls.State == tracking.InCallback {
				ts.Step, ts.StepEnded = ReadStep(p, th, ls.RunOnce)
			}
		}
		buf = append(buf, ts)
	}
	return s.At, buf, nil
}

// ReadStep reads what identifies the callback run a loop thread of a sample is in: the loop
// iteration's end_time (a float of the loop's clock, new every iteration) and the index i of the
// callback in it, variables of BaseEventLoop._run_once, the frame at runOnce. ended is true when
// the loop had left the run by the time of the read.
func ReadStep(p FrameReader, th *snapshot.Thread, runOnce int) (step string, ended bool) {
	err := p.InThreadFrame(th, runOnce, func(r *values.Reader, frame uint64) error {
		end, err := r.Lookup(frame, "end_time")
		if err != nil {
			return err
		}
		i, err := r.Lookup(frame, "i")
		if err != nil {
			return err
		}
		if end.Err != nil || i.Err != nil {
			return errors.New("unreadable")
		}
		step = end.Repr + "#" + i.Repr
		return nil
	})
	var left *inspector.FrameLeftError
	if errors.As(err, &left) {
		return "", true
	}
	if err != nil {
		return "", false
	}
	return step, false
}

// summaryLocked builds the summary; m.mu is held.
func (m *Monitor) summaryLocked() *Summary {
	s := &Summary{
		At: m.tracker.LastAt(), PID: m.pid, PythonVersion: m.version,
		Tasks: m.tracker.Tasks(), Threads: m.threads,
		Loops: m.loops.Loops(), Groups: m.tracker.Groups(m.cfg.SummaryGroupWaits),
		Sites: m.loops.Sites(), Stats: m.stats, Names: map[uint64]string{},
	}
	switch n := m.cfg.SummaryWaits; {
	case n > 0:
		s.Waits = m.tracker.Longest(n, nil)
	case n < 0:
		s.Waits = m.tracker.Waits()
	}
	for _, l := range s.Loops {
		if l.Blocked != nil && l.Blocked.Task != 0 {
			if n, ok := m.tracker.Name(l.Blocked.Task); ok {
				s.Names[l.Blocked.Task] = n
			}
		}
	}
	return s
}

// Stuck returns the tasks stuck for at least threshold as of the latest snapshot.
func (m *Monitor) Stuck(threshold time.Duration) []tracking.Wait {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tracker.Stuck(threshold)
}

// Sites returns the blocks counted so far per loop and site.
func (m *Monitor) Sites() []tracking.SiteStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.loops.Sites()
}

// Ongoing returns the loops blocked right now for at least the threshold.
func (m *Monitor) Ongoing() []tracking.Block {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.loops.Ongoing()
}

// TaskName returns the name of a task of the latest snapshot.
func (m *Monitor) TaskName(id uint64) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tracker.Name(id)
}

// Stats returns the counts of reads so far.
func (m *Monitor) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats
}
