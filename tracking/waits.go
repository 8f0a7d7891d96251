package tracking

import (
	"cmp"
	"hash/maphash"
	"slices"
	"time"

	"github.com/aioscope/aioscope/snapshot"
	"github.com/aioscope/aioscope/snapshot/groups"
)

// TaskKey identifies a task across snapshots. The id alone is not enough: it is the task object's
// address, which Python gives to a new task once the old one is freed; a task renamed between two
// snapshots therefore counts as a new one too.
type TaskKey struct {
	ID   uint64
	Name string
}

// Wait is what is known of one task's wait at its current suspension point.
type Wait struct {
	Task TaskKey
	TID  uint64 // thread whose task list holds it
	// Frames is the coroutine chain it waits in, innermost first: the suspension point, compared
	// down to the instruction (every location field).
	Frames []snapshot.Frame
	// Since is when the wait began, as far as it is known: the first snapshot that saw the task
	// at this suspension point, or, when Exact, the moment memory says (a sleep's start).
	Since time.Time
	// Earliest is the snapshot before the one at Since: the wait began after it. It is zero
	// when the task was already there in the first snapshot: the wait began before tracking
	// did, and Since is then only a lower bound of its age.
	Earliest time.Time
	Exact    bool      // Since was read from memory rather than bounded by snapshots
	Deadline time.Time // when a sleep ends; zero when unknown
	// LastSeen is the latest snapshot that saw the task at this suspension point.
	LastSeen time.Time
	// Leaf is true when the task awaits no other task (no task of the snapshot lists it among
	// its awaiters). Only leaves can be stuck: a task that awaits others waits for them.
	Leaf bool
	// Sleeping is true when the task waits in asyncio.sleep(): for a timer, not for an event.
	Sleeping bool
	Group    GroupID
}

// Age is how long the task has waited at its suspension point as of its last sighting there.
func (w *Wait) Age() time.Duration { return w.LastSeen.Sub(w.Since) }

// Precision is how much earlier than Since the wait may have begun: 0 when exact, the time
// between the two snapshots that bound it, or -1 when it began before tracking did.
func (w *Wait) Precision() time.Duration {
	switch {
	case w.Exact:
		return 0
	case w.Earliest.IsZero():
		return -1
	default:
		return w.Since.Sub(w.Earliest)
	}
}

// AtLeast reports whether Age is best shown as a lower bound ("≥ 41 s"): the wait began before
// tracking did, or the two snapshots that bound its start are far apart for its age (more than
// 2 s and a tenth of it), as when snapshots are taken only now and then.
func (w *Wait) AtLeast() bool {
	p := w.Precision()
	return p < 0 || p > max(2*time.Second, w.Age()/10)
}

// IsStuck reports whether the task is stuck for threshold, as Stuck defines it.
func (w *Wait) IsStuck(threshold time.Duration) bool {
	return w.Leaf && !w.Sleeping && w.Age() >= threshold
}

// Timer is what memory says about a sleeping task's timer.
type Timer struct {
	Started  time.Time // when the sleep began: its deadline minus its delay
	Deadline time.Time
}

// Options configure a Tracker.
type Options struct {
	// History is how far back each group's counts are kept for its trend (default 10 minutes).
	History time.Duration
	// Timer, when set, is asked for the timer of every sleeping task of each snapshot (for a
	// snapshot that carries it, such as the time until a sleeping task wakes). Timers read
	// otherwise are given with SetTimer.
	Timer func(t *snapshot.Task, capturedAt time.Time) (Timer, bool)
}

// DefaultHistory is how long group counts are kept by default.
const DefaultHistory = 10 * time.Minute

// Tracker follows tasks across snapshots of one process. Feed it every snapshot in order with
// Observe; it keeps only what the latest snapshot still shows. It is not safe for concurrent use.
type Tracker struct {
	opts      Options
	seed      maphash.Seed
	gen       uint64
	lastAt    time.Time
	snapshots int
	tasks     int
	// waits holds the wait of every task of the latest snapshot by task id; a task id is unique
	// within one snapshot, and a wait whose name differs is another task's.
	waits  map[uint64]*wait
	groups map[GroupID]*group
	ran    map[uint64]time.Time // tasks seen running by thread samples since the last snapshot

	// order is the waits longest first (CompareWaits) as of the last call of ordered; moved are
	// the waits whose start changed since, or that are new. Most waits keep their start from
	// one snapshot to the next, so keeping the order costs a merge, not a sort, per snapshot.
	order, spare []*wait
	moved        []*wait

	groupIDs []GroupID // by task index, for one snapshot; kept for its memory
}

type wait struct {
	Wait
	hash  uint64 // of Frames
	gen   uint64 // the snapshot that saw it last; 0 once replaced
	moved bool   // in Tracker.moved
}

// NewTracker returns an empty Tracker.
func NewTracker(opts Options) *Tracker {
	if opts.History <= 0 {
		opts.History = DefaultHistory
	}
	return &Tracker{
		opts:   opts,
		seed:   maphash.MakeSeed(),
		waits:  map[uint64]*wait{},
		groups: map[GroupID]*group{},
		ran:    map[uint64]time.Time{},
	}
}

// Ran tells the tracker that a thread sample at 'at' saw the task with this id running: whatever
// it waits at in the next snapshot, it has not waited there since before 'at'. Samples see only a
// share of the steps a task takes (those that last long enough to be caught), so a task that
// wakes and returns to the same place between two snapshots unseen still counts as waiting.
func (t *Tracker) Ran(id uint64, at time.Time) {
	if id == 0 {
		return
	}
	if prev, ok := t.ran[id]; !ok || at.After(prev) {
		t.ran[id] = at
	}
}

// Observe takes in the next snapshot.
func (t *Tracker) Observe(s *snapshot.Snapshot) {
	t.ObserveGroups(s, groups.Of(s))
}

// ObserveGroups is Observe for a caller that has grouped the snapshot's tasks already (gs is
// groups.Of(s)): grouping is most of what Observe costs, and a front end needs the groups too.
func (t *Tracker) ObserveGroups(s *snapshot.Snapshot, gs []groups.Group) {
	at := s.CapturedAt
	prevAt := t.lastAt
	t.gen++
	t.snapshots++
	t.tasks = len(s.Tasks)
	hasher := newChainHasher(t.seed)

	// Tasks that others await are not leaves.
	awaited := make(map[uint64]bool)
	for i := range s.Tasks {
		for _, a := range s.Tasks[i].AwaitedBy {
			if a.IsTask {
				awaited[a.ID] = true
			}
		}
	}
	index := snapshot.AwaiterIndex(s.Tasks)
	groupIDs := slices.Grow(t.groupIDs[:0], len(s.Tasks))[:len(s.Tasks)]
	clear(groupIDs)
	t.groupIDs = groupIDs
	for _, g := range gs {
		for _, i := range g.Tasks {
			if i >= 0 && i < len(groupIDs) {
				groupIDs[i] = GroupID(g.Key)
			}
		}
	}
	for _, g := range t.groups {
		g.count = 0
	}

	var g *group
	for i := range s.Tasks {
		task := &s.Tasks[i]
		key := TaskKey{ID: task.ID, Name: task.Name}
		chain := hasher.of(task.Frames)
		h := chain.hash
		w := t.waits[task.ID]
		if w != nil && w.Task.Name != task.Name {
			// Another task at the same address (the old one was freed): a new wait.
			w.gen = 0
			w = nil
		}
		var ranAt time.Time
		ran := false
		if len(t.ran) > 0 {
			ranAt, ran = t.ran[task.ID]
		}
		if w == nil || w.hash != h || !slices.Equal(w.Frames, task.Frames) || (ran && ranAt.After(w.Since)) {
			if w == nil {
				w = &wait{}
				t.waits[task.ID] = w
			}
			w.Wait = Wait{Task: key, Frames: task.Frames, Since: at, Earliest: prevAt}
			if ran && ranAt.After(prevAt) && ranAt.Before(at) {
				w.Earliest = ranAt
			}
			w.hash = h
			t.move(w)
		}
		if w.Exact && at.After(w.Deadline) {
			// The sleep is over: the task woke at its deadline and, found at the same place,
			// sleeps there again (a loop that polls). Its wait began after the deadline, known
			// exactly once its timer is read again. (If its event loop is late instead, the
			// loop's samples say so.)
			w.Wait = Wait{Task: key, Frames: task.Frames, Since: at, Earliest: w.Deadline}
			if prevAt.After(w.Earliest) {
				w.Earliest = prevAt
			}
			t.move(w)
		}
		w.gen = t.gen
		w.TID = task.TID
		w.LastSeen = at
		w.Leaf = len(awaited) == 0 || !awaited[task.ID]
		w.Sleeping = chain.sleeping
		if t.opts.Timer != nil && w.Sleeping {
			if tm, ok := t.opts.Timer(task, at); ok {
				if since := w.Since; w.setTimer(tm) && !w.Since.Equal(since) {
					t.move(w)
				}
			}
		}

		gid := groupIDs[i]
		w.Group = gid
		if g == nil || g.ID != gid { // tasks of one group often come one after another
			if g = t.groups[gid]; g == nil {
				g = newGroup(gid, s, i, index)
				t.groups[gid] = g
			}
		}
		g.count++
	}
	for id, w := range t.waits {
		if w.gen != t.gen {
			delete(t.waits, id)
		}
	}
	for id, g := range t.groups {
		if g.count == 0 {
			delete(t.groups, id)
			continue
		}
		g.record(at, t.opts.History)
	}
	clear(t.ran)
	t.lastAt = at
}

// SetTimer records what memory says about the timer of a task seen sleeping in the latest
// snapshot: the wait began when the sleep did. A timer with a new deadline is a new sleep, even
// at the same place. A sleep begun after the snapshot is not the one it saw: the task woke in
// between and ran (Ran), as a task that sleeps briefly at one place again and again does, and
// the next snapshot that finds it there does not count its wait from before. It reports whether
// the task was known.
func (t *Tracker) SetTimer(key TaskKey, tm Timer) bool {
	w := t.waits[key.ID]
	if w == nil || w.Task != key || !w.Sleeping {
		return false
	}
	if tm.Started.After(w.LastSeen) {
		t.Ran(key.ID, tm.Started)
		return true
	}
	if since := w.Since; w.setTimer(tm) && !w.Since.Equal(since) {
		t.move(w)
	}
	return true
}

// move notes that w is new or its start changed: its place in the order is to be found again.
func (t *Tracker) move(w *wait) {
	if !w.moved {
		w.moved = true
		t.moved = append(t.moved, w)
	}
}

// ordered returns the waits of the latest snapshot longest first. The slice is the Tracker's,
// valid until the next Observe or SetTimer.
func (t *Tracker) ordered() []*wait {
	cmpWaits := func(a, b *wait) int { return CompareWaits(&a.Wait, &b.Wait) }
	if len(t.moved) == 0 && len(t.order) == len(t.waits) {
		return t.order
	}
	// The waits still in place keep their order; the moved ones are sorted and merged in.
	moved := t.moved[:0]
	for _, w := range t.moved {
		if w.gen == t.gen {
			moved = append(moved, w)
		} else {
			w.moved = false
		}
	}
	slices.SortFunc(moved, cmpWaits)
	out := t.spare[:0]
	k := 0
	for _, w := range t.order {
		if w.gen != t.gen || w.moved {
			continue
		}
		for k < len(moved) && cmpWaits(moved[k], w) < 0 {
			out = append(out, moved[k])
			k++
		}
		out = append(out, w)
	}
	out = append(out, moved[k:]...)
	for _, w := range moved {
		w.moved = false
	}
	clear(t.order)
	t.spare, t.order = t.order[:0], out
	clear(moved)
	t.moved = moved[:0]
	return t.order
}

// setTimer reports whether it took the timer.
func (w *wait) setTimer(tm Timer) bool {
	// A start after the snapshot that saw the sleep is not a start this sleep can have had.
	if tm.Started.IsZero() || tm.Started.After(w.LastSeen) {
		return false
	}
	w.Since, w.Earliest, w.Exact, w.Deadline = tm.Started, tm.Started, true, tm.Deadline
	return true
}

// Snapshots is how many snapshots were observed.
func (t *Tracker) Snapshots() int { return t.snapshots }

// Tasks is the number of tasks in the latest snapshot.
func (t *Tracker) Tasks() int { return t.tasks }

// LastAt is when the latest snapshot was taken.
func (t *Tracker) LastAt() time.Time { return t.lastAt }

// Wait returns the wait of the task with this id in the latest snapshot.
func (t *Tracker) Wait(id uint64) (Wait, bool) {
	w, ok := t.waits[id]
	if !ok {
		return Wait{}, false
	}
	return w.Wait, true
}

// Name returns the name of the task with this id in the latest snapshot.
func (t *Tracker) Name(id uint64) (string, bool) {
	w, ok := t.waits[id]
	if !ok {
		return "", false
	}
	return w.Task.Name, true
}

// Waits returns the wait of every task of the latest snapshot, longest first.
func (t *Tracker) Waits() []Wait {
	return t.Longest(len(t.waits), nil)
}

// Longest returns up to n waits, longest first, of tasks for which keep returns true (all when
// keep is nil).
func (t *Tracker) Longest(n int, keep func(*Wait) bool) []Wait {
	ws := t.ordered()
	if keep == nil {
		ws = ws[:max(min(n, len(ws)), 0)]
		out := make([]Wait, len(ws))
		for i, w := range ws {
			out[i] = w.Wait
		}
		return out
	}
	var out []Wait
	for _, w := range ws {
		if len(out) >= n {
			break
		}
		if keep(&w.Wait) {
			out = append(out, w.Wait)
		}
	}
	return out
}

// timerWindow is how many of the longest waits UntimedSleepers looks among.
const timerWindow = 64

// UntimedSleepers returns up to n of the waits in asyncio.sleep() whose start is not known
// exactly, longest first, among the 64 longest waits: the sleeps whose timers are worth reading
// (SetTimer). Those are the waits front ends show; a target of thousands of sleeping tasks would
// otherwise have a timer or two read after every snapshot for as long as it is followed.
func (t *Tracker) UntimedSleepers(n int) []Wait {
	var out []Wait
	for _, w := range t.ordered()[:min(timerWindow, len(t.waits))] {
		if len(out) >= n {
			break
		}
		if w.Sleeping && !w.Exact {
			out = append(out, w.Wait)
		}
	}
	return out
}

// Stuck returns the tasks stuck for at least threshold, longest first: leaf tasks — tasks that
// await no other task — seen at the same suspension point for that long, except those sleeping in
// asyncio.sleep(), which wake by themselves. A task that awaits others is never stuck itself: its
// leaves are.
func (t *Tracker) Stuck(threshold time.Duration) []Wait {
	var out []Wait
	for _, w := range t.ordered() {
		if w.IsStuck(threshold) {
			out = append(out, w.Wait)
		}
	}
	return out
}

// CompareWaits orders waits longest first, then by name and id.
func CompareWaits(a, b *Wait) int {
	if c := a.Since.Compare(b.Since); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Task.Name, b.Task.Name); c != 0 {
		return c
	}
	return cmp.Compare(a.Task.ID, b.Task.ID)
}
