package tracking

import (
	"cmp"
	"slices"
	"time"

	"github.com/aioscope/aioscope/snapshot"
)

// GroupID identifies a place where tasks wait (snapshot/groups: a coroutine chain together with
// the chains of its awaiters up to the task nothing awaits). It is the same in every snapshot.
type GroupID uint64

// Group is the tasks of the latest snapshot that wait at one place.
type Group struct {
	ID     GroupID
	Frames []snapshot.Frame // the coroutine chain the tasks wait in, innermost first
	// Awaiters is the chain of tasks that await them, nearest first, as one of the group's tasks
	// shows it: each task's first awaiter, then that one's first awaiter, and so on.
	Awaiters []AwaiterLevel
	Count    int
	// Waits are the waits of the group's tasks, longest first: all of them or the first few, as
	// asked of Tracker.Groups (Count says how many tasks there are).
	Waits []Wait
	Trend Trend
}

// AwaiterLevel is one level of a group's chain of awaiters.
type AwaiterLevel struct {
	Name   string // the awaiting task's name, for one of the group's tasks; "" for a future
	IsTask bool
	Frames []snapshot.Frame
}

// Trend is how a group's count moved over the history kept.
type Trend struct {
	First, Min, Max int           // counts over the history
	Span            time.Duration // from the oldest count kept to the latest
	// PerMinute is the least-squares slope of the count, in tasks per minute; 0 with fewer
	// than two counts.
	PerMinute float64
	// Growing is true when the count has risen over at least minGrowingSpan, every count of the
	// history's last third above every count of its first: tasks keep arriving there faster
	// than they leave, the shape of a leak.
	Growing bool
}

// minGrowingSpan is the least history over which a rising count is called growing: shorter
// rises are ordinary bursts.
const minGrowingSpan = 10 * time.Second

// maxHistoryPoints bounds the counts kept per group whatever the snapshot interval.
const maxHistoryPoints = 4096

// maxAwaiterLevels bounds the awaiter chain a group records and hashes.
const maxAwaiterLevels = 256

type countAt struct {
	at    time.Time
	count int
}

type group struct {
	Group
	count   int
	history []countAt
}

func newGroup(id GroupID, s *snapshot.Snapshot, i int, index map[uint64]int) *group {
	g := &group{Group: Group{ID: id, Frames: s.Tasks[i].Frames}}
	seen := map[int]bool{i: true}
	for j := i; len(g.Awaiters) < maxAwaiterLevels; {
		aw := s.Tasks[j].AwaitedBy
		if len(aw) == 0 {
			break
		}
		a := aw[0]
		k, listed := index[a.ID]
		if !a.IsTask || !listed || k < 0 || seen[k] {
			g.Awaiters = append(g.Awaiters, AwaiterLevel{IsTask: a.IsTask, Frames: a.Frames})
			break
		}
		g.Awaiters = append(g.Awaiters, AwaiterLevel{Name: s.Tasks[k].Name, IsTask: true, Frames: s.Tasks[k].Frames})
		seen[k] = true
		j = k
	}
	return g
}

func (g *group) record(at time.Time, keep time.Duration) {
	g.Count = g.count
	g.history = append(g.history, countAt{at, g.count})
	drop := 0
	for drop < len(g.history)-1 && (at.Sub(g.history[drop].at) > keep || len(g.history)-drop > maxHistoryPoints) {
		drop++
	}
	if drop > 0 {
		g.history = append(g.history[:0], g.history[drop:]...)
	}
	g.Trend = trendOf(g.history)
}

func trendOf(h []countAt) Trend {
	if len(h) == 0 {
		return Trend{}
	}
	t := Trend{First: h[0].count, Min: h[0].count, Max: h[0].count, Span: h[len(h)-1].at.Sub(h[0].at)}
	var sx, sy, sxx, sxy float64
	n := float64(len(h))
	for _, c := range h {
		t.Min, t.Max = min(t.Min, c.count), max(t.Max, c.count)
		x := c.at.Sub(h[0].at).Minutes()
		y := float64(c.count)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	if d := n*sxx - sx*sx; len(h) > 1 && d > 0 {
		t.PerMinute = (n*sxy - sx*sy) / d
	}
	// Growing: every count of the last third of the history is above every count of the first
	// third. Counts of short-lived tasks go up and down; a leak's only go up.
	third := t.Span / 3
	early, late := -1, -1
	for _, c := range h {
		switch age := c.at.Sub(h[0].at); {
		case age <= third:
			early = max(early, c.count)
		case age >= t.Span-third:
			if late < 0 || c.count < late {
				late = c.count
			}
		}
	}
	t.Growing = t.Span >= minGrowingSpan && t.PerMinute > 0 && early >= 0 && late > early
	return t
}

// Groups returns the groups of the latest snapshot, largest first, each with the waits of up to
// n of its tasks, longest first (every task's when n is negative). A front end that lists only
// the first few tasks of a group asks for those: the waits of every task are most of what the
// groups of many tasks cost.
func (t *Tracker) Groups(n int) []Group {
	out := make([]Group, 0, len(t.groups))
	for _, g := range t.groups {
		out = append(out, g.Group)
	}
	slices.SortFunc(out, func(a, b Group) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if n == 0 {
		return out
	}
	index := make(map[GroupID]int, len(out))
	for i := range out {
		index[out[i].ID] = i
		want := out[i].Count
		if n > 0 {
			want = min(want, n)
		}
		out[i].Waits = make([]Wait, 0, want)
	}
	// The waits in order once, each to its group until the group has enough.
	full := 0
	for _, w := range t.ordered() {
		i, ok := index[w.Group]
		if !ok || len(out[i].Waits) == cap(out[i].Waits) {
			continue
		}
		out[i].Waits = append(out[i].Waits, w.Wait)
		if len(out[i].Waits) == cap(out[i].Waits) {
			if full++; full == len(out) {
				break
			}
		}
	}
	return out
}
