package lsp

import (
	"time"

	"github.com/aioscope/aioscope/snapshot"
)

// WaitClock says how long each task has waited where it is now. The server keeps one per
// attachment and shows its answers in code lenses and hovers. Its own (firstSeen) knows only what
// the server's snapshots showed; a clock that follows tasks over time can replace it through
// Config.Waits.
type WaitClock interface {
	// Observe is called with every snapshot, in order.
	Observe(s *snapshot.Snapshot)
	// Waited returns how long the task with this id has waited at its current place, as of the
	// last snapshot observed; atLeast marks a lower bound. ok is false when it is not known.
	Waited(id uint64) (d time.Duration, atLeast, ok bool)
}

// firstSeen is the server's own WaitClock, kept simple on purpose: a task is taken to wait from
// the first snapshot that showed it at the place it is now (its innermost frame, the function and
// line), until then for an unknown time — so a task that was already there when the server
// attached has waited at least since then. A task that moves on and comes back between two
// snapshots is not noticed.
type firstSeen struct {
	start time.Time // the first snapshot's time
	last  time.Time
	since map[uint64]seenAt
}

type seenAt struct {
	at       time.Time
	fn, file string
	line     int
	atLeast  bool
}

func newFirstSeen() WaitClock { return &firstSeen{} }

func (c *firstSeen) Observe(s *snapshot.Snapshot) {
	now := s.CapturedAt
	first := c.since == nil
	if first {
		c.start = now
		c.since = make(map[uint64]seenAt, len(s.Tasks))
	}
	next := make(map[uint64]seenAt, len(s.Tasks))
	for i := range s.Tasks {
		t := &s.Tasks[i]
		var fn, file string
		line := 0
		if len(t.Frames) > 0 {
			f := t.Frames[0]
			fn, file, line = f.Function, f.File, f.Line
		}
		prev, ok := c.since[t.ID]
		if ok && prev.fn == fn && prev.file == file && prev.line == line {
			next[t.ID] = prev
			continue
		}
		next[t.ID] = seenAt{at: now, fn: fn, file: file, line: line, atLeast: first}
	}
	c.since, c.last = next, now
}

func (c *firstSeen) Waited(id uint64) (time.Duration, bool, bool) {
	s, ok := c.since[id]
	if !ok {
		return 0, false, false
	}
	return c.last.Sub(s.at), s.atLeast, true
}
