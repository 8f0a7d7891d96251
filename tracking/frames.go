// Package tracking follows an asyncio program over time, from the plain snapshots and thread
// samples aioscope reads: how long each task has waited where it waits, how many tasks wait at
// each place and whether that number grows, which tasks are stuck, and when an event loop is
// blocked in one callback. It only consumes the snapshot model, so that every front end — the
// terminal view, the health check, the debug adapter, the language server — can use it over
// snapshots it takes itself; tracking/live drives it from a running process.
package tracking

import (
	"hash/maphash"
	"strings"

	"github.com/aioscope/aioscope/snapshot"
)

// isAsyncioSleep reports whether f is asyncio.sleep() waiting for its timer.
func isAsyncioSleep(f snapshot.Frame) bool {
	return f.Function == "sleep" && strings.HasSuffix(f.File, "/asyncio/tasks.py") && snapshot.IsStdlibAsyncio(f.File)
}

// Sleeping reports whether a task's coroutine chain (innermost first) is suspended in
// asyncio.sleep(): it waits for a timer and wakes by itself.
func Sleeping(frames []snapshot.Frame) bool {
	return len(frames) > 0 && isAsyncioSleep(frames[0])
}

// chainHasher hashes chains of frames, each distinct chain once per snapshot: the inspector gives
// every chain with the same frames one shared slice, and tasks that wait at the same place often
// come one after another.
type chainHasher struct {
	seed  maphash.Seed
	cache map[snapshot.FramesKey]chainFacts
	last  snapshot.FramesKey
	facts chainFacts // of last
	any   bool       // last is set
}

// chainFacts is what a chain's tasks share: its hash, and whether it sleeps (Sleeping).
type chainFacts struct {
	hash     uint64
	sleeping bool
}

func newChainHasher(seed maphash.Seed) *chainHasher {
	return &chainHasher{seed: seed, cache: map[snapshot.FramesKey]chainFacts{}}
}

func (c *chainHasher) of(frames []snapshot.Frame) chainFacts {
	k := snapshot.KeyOf(frames)
	if c.any && k == c.last {
		return c.facts
	}
	f, ok := c.cache[k]
	if !ok {
		var h maphash.Hash
		h.SetSeed(c.seed)
		for _, fr := range frames {
			maphash.WriteComparable(&h, fr)
		}
		f = chainFacts{hash: h.Sum64(), sleeping: Sleeping(frames)}
		c.cache[k] = f
	}
	c.last, c.facts, c.any = k, f, true
	return f
}
