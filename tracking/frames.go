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
// every chain with the same frames one shared slice.
type chainHasher struct {
	seed     maphash.Seed
	cache    map[snapshot.FramesKey]uint64
	sleeping map[snapshot.FramesKey]bool
}

func newChainHasher(seed maphash.Seed) *chainHasher {
	return &chainHasher{seed: seed, cache: map[snapshot.FramesKey]uint64{}, sleeping: map[snapshot.FramesKey]bool{}}
}

// isSleeping is Sleeping, once per distinct chain.
func (c *chainHasher) isSleeping(frames []snapshot.Frame) bool {
	k := snapshot.KeyOf(frames)
	v, ok := c.sleeping[k]
	if !ok {
		v = Sleeping(frames)
		c.sleeping[k] = v
	}
	return v
}

func (c *chainHasher) hash(frames []snapshot.Frame) uint64 {
	k := snapshot.KeyOf(frames)
	if h, ok := c.cache[k]; ok {
		return h
	}
	var h maphash.Hash
	h.SetSeed(c.seed)
	for _, f := range frames {
		maphash.WriteComparable(&h, f)
	}
	v := h.Sum64()
	c.cache[k] = v
	return v
}
