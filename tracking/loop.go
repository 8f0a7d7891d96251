package tracking

import (
	"cmp"
	"slices"
	"time"

	"github.com/aioscope/aioscope/snapshot"
)

// Blocked event loops, found by sampling the current frames of each thread that runs a loop many
// times a second.
//
// A run is the time a loop spends in one callback (or one step of a task), from the samples that
// saw it: consecutive samples that found the loop in a callback belong to one run when they show
// the same step. A step is identified by Step, read from the loop iteration's own variables, when
// it could be read; otherwise by the running task and the callback's outermost function — and then
// two steps of one task at the same place in a row, with the loop back in its selector only
// between two samples, cannot be told from one long step.
//
// What sampling can and cannot see: a run is seen only if it lasts across at least one sample,
// and its start and end are known to within the time between two samples. Its duration is taken
// from the midpoints between the last sample before it and the first in it, and between the last
// in it and the first after it; the error is at most half of each of those gaps. It is reported
// as a block only when its own first and last samples are at least the threshold apart — proof
// that it lasted that long — so a run up to one sampling interval longer than the threshold can
// go unreported, and none shorter ever is, however far apart the samples come (a sampler
// starved of CPU). A sample that fails to read (the target changed too fast) is no sample: the
// gap around it widens.

// ThreadSample is one sample of one thread.
type ThreadSample struct {
	TID         uint64
	HasLoop     bool // the thread runs an asyncio event loop
	Frames      []snapshot.Frame
	RunningTask uint64 // id of the task whose step runs, 0 for none
	// Step identifies the callback run the loop is in, when the sampler could read it: different
	// for every run, the same for every sample of one run. "" when unknown.
	Step string
	// StepEnded is true when the loop had already left the run shown by Frames by the time Step
	// was to be read: the run ends with this sample.
	StepEnded bool
}

// Block is a run of one callback or task step that kept an event loop from everything else.
type Block struct {
	TID uint64
	// Start and End are the estimated start and end; End is the latest sample's time while the
	// run goes on.
	Start, End time.Time
	Duration   time.Duration
	// Precision bounds the error of Duration (half the gaps around the run's first and last
	// samples).
	Precision time.Duration
	Ongoing   bool // the run was still going on at the latest sample
	Samples   int  // how many samples saw it
	Task      uint64
	// Frames are the callback's frames (innermost first, inside asyncio's Handle._run) in a
	// sample at Site.
	Frames []snapshot.Frame
	// Site is the innermost frame of the program itself in the samples that saw the run (the one
	// seen most often): where the loop was blocked.
	Site snapshot.Frame
}

// SiteStats counts the blocks of one loop at one site.
type SiteStats struct {
	TID     uint64
	Site    snapshot.Frame
	Count   int
	Total   time.Duration
	Longest Block
	Last    time.Time // end of the latest block
}

// LoopInfo is the state of one loop thread.
type LoopInfo struct {
	TID   uint64
	State LoopState // in the latest sample
	// Busy is the share of the last second's samples that found the loop outside its selector.
	Busy float64
	// Lag is the longest run of one callback that ended in the last second or goes on: the longest
	// any other ready callback had to wait for it.
	Lag time.Duration
	// Blocked is the run going on now when it has lasted at least the threshold.
	Blocked *Block
}

// LoopDetector finds blocked event loops in thread samples. It is not safe for concurrent use.
type LoopDetector struct {
	threshold time.Duration
	threads   map[uint64]*loopThread
	sites     map[siteKey]*SiteStats
	samples   int
}

// DefaultBlockThreshold is asyncio's own slow_callback_duration.
const DefaultBlockThreshold = 100 * time.Millisecond

// maxSites bounds the sites remembered; the least recent go first.
const maxSites = 1000

// lagWindow is the time over which LoopInfo's Busy and Lag are taken.
const lagWindow = time.Second

type siteKey struct {
	tid      uint64
	function string
	file     string
	line     int
}

func keyOf(tid uint64, f snapshot.Frame) siteKey {
	return siteKey{tid, f.Function, f.File, f.Line}
}

type loopThread struct {
	lastAt time.Time
	state  LoopState
	run    *run
	// ended holds the end and duration of runs that ended within lagWindow.
	ended []endedRun
	// states of the samples within lagWindow.
	recent []stateAt
}

type endedRun struct {
	at  time.Time
	dur time.Duration
}

type stateAt struct {
	at   time.Time
	busy bool
}

type run struct {
	prevAt, firstAt, lastAt time.Time
	task                    uint64
	outer                   string // the callback's outermost function and file
	step                    string
	samples                 int
	sites                   map[siteKey]*siteSeen
}

type siteSeen struct {
	count  int
	last   int // sample number of the latest sighting
	frame  snapshot.Frame
	frames []snapshot.Frame
}

// maxRunSites bounds the distinct sites one run remembers (a run computing in many functions).
const maxRunSites = 64

// NewLoopDetector returns a detector that reports runs of at least threshold (0: the default).
func NewLoopDetector(threshold time.Duration) *LoopDetector {
	if threshold <= 0 {
		threshold = DefaultBlockThreshold
	}
	return &LoopDetector{threshold: threshold, threads: map[uint64]*loopThread{}, sites: map[siteKey]*SiteStats{}}
}

// Threshold is the shortest run reported as a block.
func (d *LoopDetector) Threshold() time.Duration { return d.threshold }

// Samples is how many samples were observed.
func (d *LoopDetector) Samples() int { return d.samples }

// Observe takes in one sample of the threads, taken at 'at', and returns the blocks that ended
// with it. Threads without an event loop are ignored; a loop thread missing from the sample has
// ended its run.
func (d *LoopDetector) Observe(at time.Time, threads []ThreadSample) []Block {
	d.samples++
	var ended []Block
	seen := make(map[uint64]bool, len(threads))
	for i := range threads {
		s := &threads[i]
		if !s.HasLoop {
			continue
		}
		seen[s.TID] = true
		th := d.threads[s.TID]
		if th == nil {
			th = &loopThread{}
			d.threads[s.TID] = th
		}
		ls := ReadLoopStack(s.Frames)
		th.state = ls.State
		th.recent = append(th.recent, stateAt{at, ls.State == InCallback || ls.State == InLoop})
		if r := th.run; r != nil && !r.continuedBy(s, ls) {
			if b, ok := d.end(s.TID, th, at); ok {
				ended = append(ended, b)
			}
		}
		if ls.State == InCallback {
			if th.run == nil {
				th.run = newRun(th.lastAt, at, s, ls)
			}
			th.run.add(s.TID, at, s.Step, ls.Callback)
			if s.StepEnded {
				if b, ok := d.end(s.TID, th, at); ok {
					ended = append(ended, b)
				}
			}
		}
		th.lastAt = at
		th.trim(at)
	}
	for tid, th := range d.threads {
		if seen[tid] {
			continue
		}
		if b, ok := d.end(tid, th, at); ok {
			ended = append(ended, b)
		}
		delete(d.threads, tid)
	}
	slices.SortFunc(ended, func(a, b Block) int { return cmp.Compare(a.TID, b.TID) })
	return ended
}

func newRun(prevAt, at time.Time, s *ThreadSample, ls LoopStack) *run {
	r := &run{prevAt: prevAt, firstAt: at, task: s.RunningTask, step: s.Step, sites: map[siteKey]*siteSeen{}}
	if n := len(ls.Callback); n > 0 {
		r.outer = ls.Callback[n-1].Function + "\x00" + ls.Callback[n-1].File
	}
	return r
}

// continuedBy reports whether the sample shows the same run.
func (r *run) continuedBy(s *ThreadSample, ls LoopStack) bool {
	if ls.State != InCallback {
		return false
	}
	if r.step != "" && s.Step != "" {
		return r.step == s.Step
	}
	outer := ""
	if n := len(ls.Callback); n > 0 {
		outer = ls.Callback[n-1].Function + "\x00" + ls.Callback[n-1].File
	}
	return s.RunningTask == r.task && outer == r.outer
}

func (r *run) add(tid uint64, at time.Time, step string, callback []snapshot.Frame) {
	r.lastAt = at
	r.samples++
	if r.step == "" {
		// A run whose first step could not be read takes a later sample's, to be told apart
		// from the next run by it.
		r.step = step
	}
	u := snapshot.UserFrame(callback)
	var site snapshot.Frame
	if u >= 0 {
		site = callback[u]
	}
	k := keyOf(tid, site)
	if ss := r.sites[k]; ss != nil {
		ss.count++
		ss.last = r.samples
		ss.frames = callback
		return
	}
	if len(r.sites) < maxRunSites {
		r.sites[k] = &siteSeen{count: 1, last: r.samples, frame: site, frames: callback}
	}
}

// reported reports whether the samples prove the run lasted at least threshold: its first and
// last samples are that far apart. A run seen by few samples far apart may have been much
// shorter than the gaps around it suggest, so the estimate alone is not enough.
func (r *run) reported(threshold time.Duration) bool {
	return r.lastAt.Sub(r.firstAt) >= threshold
}

// block describes the run as of its latest sample; nextAt is the sample that found it over, zero
// while it goes on.
func (r *run) block(tid uint64, nextAt time.Time) Block {
	start, startErr := r.firstAt, time.Duration(0)
	if !r.prevAt.IsZero() {
		startErr = r.firstAt.Sub(r.prevAt) / 2
		start = r.firstAt.Add(-startErr)
	}
	end, endErr := r.lastAt, time.Duration(0)
	if !nextAt.IsZero() && nextAt.After(r.lastAt) {
		endErr = nextAt.Sub(r.lastAt) / 2
		end = r.lastAt.Add(endErr)
	}
	b := Block{TID: tid, Start: start, End: end, Duration: end.Sub(start), Precision: startErr + endErr,
		Ongoing: nextAt.IsZero(), Samples: r.samples, Task: r.task}
	var best *siteSeen
	for _, ss := range r.sites {
		if best == nil || ss.count > best.count || ss.count == best.count && ss.last > best.last {
			best = ss
		}
	}
	if best != nil {
		b.Site, b.Frames = best.frame, best.frames
	}
	return b
}

// end closes the thread's run, if any, at the sample taken at 'at', and returns it as a block
// when it lasted at least the threshold.
func (d *LoopDetector) end(tid uint64, th *loopThread, at time.Time) (Block, bool) {
	r := th.run
	if r == nil {
		return Block{}, false
	}
	th.run = nil
	next := at
	if !r.lastAt.Before(at) {
		// Ended right after its last sample (StepEnded).
		next = time.Time{}
	}
	b := r.block(tid, next)
	b.Ongoing = false
	th.ended = append(th.ended, endedRun{at, b.Duration})
	if !r.reported(d.threshold) {
		return Block{}, false
	}
	d.count(b)
	return b, true
}

func (d *LoopDetector) count(b Block) {
	k := keyOf(b.TID, b.Site)
	st := d.sites[k]
	if st == nil {
		if len(d.sites) >= maxSites {
			var oldest siteKey
			var t time.Time
			for k, s := range d.sites {
				if t.IsZero() || s.Last.Before(t) {
					oldest, t = k, s.Last
				}
			}
			delete(d.sites, oldest)
		}
		st = &SiteStats{TID: b.TID, Site: b.Site}
		d.sites[k] = st
	}
	st.Count++
	st.Total += b.Duration
	st.Last = b.End
	if b.Duration > st.Longest.Duration {
		st.Longest = b
	}
}

func (th *loopThread) trim(now time.Time) {
	cut := now.Add(-lagWindow)
	i := 0
	for i < len(th.ended) && th.ended[i].at.Before(cut) {
		i++
	}
	th.ended = th.ended[i:]
	j := 0
	for j < len(th.recent) && th.recent[j].at.Before(cut) {
		j++
	}
	th.recent = th.recent[j:]
	// Keep the backing arrays from growing without bound as the windows slide.
	if cap(th.ended) > 4*len(th.ended)+64 {
		th.ended = slices.Clone(th.ended)
	}
	if cap(th.recent) > 4*len(th.recent)+64 {
		th.recent = slices.Clone(th.recent)
	}
}

// Ongoing returns the runs going on now that have lasted at least the threshold.
func (d *LoopDetector) Ongoing() []Block {
	var out []Block
	for tid, th := range d.threads {
		if th.run == nil {
			continue
		}
		if th.run.reported(d.threshold) {
			out = append(out, th.run.block(tid, time.Time{}))
		}
	}
	slices.SortFunc(out, func(a, b Block) int { return cmp.Compare(a.TID, b.TID) })
	return out
}

// Loops returns the state of every loop thread of the latest sample.
func (d *LoopDetector) Loops() []LoopInfo {
	var out []LoopInfo
	for tid, th := range d.threads {
		li := LoopInfo{TID: tid, State: th.state}
		busy := 0
		for _, s := range th.recent {
			if s.busy {
				busy++
			}
		}
		if len(th.recent) > 0 {
			li.Busy = float64(busy) / float64(len(th.recent))
		}
		for _, e := range th.ended {
			li.Lag = max(li.Lag, e.dur)
		}
		if th.run != nil {
			b := th.run.block(tid, time.Time{})
			li.Lag = max(li.Lag, b.Duration)
			if th.run.reported(d.threshold) {
				li.Blocked = &b
			}
		}
		out = append(out, li)
	}
	slices.SortFunc(out, func(a, b LoopInfo) int { return cmp.Compare(a.TID, b.TID) })
	return out
}

// Sites returns the blocks counted per loop and site, the most recent first.
func (d *LoopDetector) Sites() []SiteStats {
	out := make([]SiteStats, 0, len(d.sites))
	for _, s := range d.sites {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b SiteStats) int {
		if c := b.Last.Compare(a.Last); c != 0 {
			return c
		}
		return cmp.Compare(a.TID, b.TID)
	})
	return out
}
