// Package groups sorts a snapshot's tasks by where they wait. A service often has thousands of
// tasks that differ only in their id — handlers parked on the same lock, workers on the same
// queue — and seeing them as one group with a count is what makes the rest visible.
//
// Two tasks are in the same group when they wait at the same place for the same reason: the
// same coroutine chain (every frame's function, file and position) and the same chain of
// awaiters above them, each awaiter compared the same way up to a task nothing awaits. Task
// names and ids do not count.
package groups

import (
	"cmp"
	"slices"

	"github.com/aioscope/aioscope/snapshot"
)

// Group is the tasks of a snapshot that wait at one place.
type Group struct {
	// Tasks are the indexes in Snapshot.Tasks of the group's tasks, in snapshot order.
	Tasks []int
	// Frames is the coroutine chain every task of the group waits in, innermost first.
	Frames []snapshot.Frame
	// Awaiters are the groups of the tasks awaiting this group's tasks, as indexes into the
	// result of Of; empty for tasks nothing awaits.
	Awaiters []int
	// Key identifies the place: the same in every snapshot of a process where tasks wait
	// there, and different for every group of one snapshot. (It is a hash of what the group
	// compares; Of makes the keys of one snapshot distinct.)
	Key uint64
}

// Of returns the groups of s's tasks, largest first (ties in snapshot order of their first
// task). It runs in time linear in the tasks and their awaiters.
func Of(s *snapshot.Snapshot) []Group {
	g := grouper{s: s, awaiters: snapshot.AwaiterIndex(s.Tasks), keys: make([]uint64, len(s.Tasks)),
		onStack: make([]bool, len(s.Tasks))}
	for i := range s.Tasks {
		g.keyOf(i)
	}
	// Group by key; the keys are hashes, so members are checked against the group's first task.
	byKey := make(map[uint64][]int, 64)
	var groups []Group
	for i := range s.Tasks {
		k := g.keys[i]
		placed := false
		for _, gi := range byKey[k] {
			if g.same(groups[gi].Tasks[0], i) {
				groups[gi].Tasks = append(groups[gi].Tasks, i)
				placed = true
				break
			}
		}
		if !placed {
			byKey[k] = append(byKey[k], len(groups))
			groups = append(groups, Group{Tasks: []int{i}, Frames: s.Tasks[i].Frames, Key: k})
		}
	}
	// Groups that differ but whose hashes collide get keys of their own.
	for k, gis := range byKey {
		for n, gi := range gis[1:] {
			groups[gi].Key = mix(k + uint64(n) + 1)
		}
	}
	order := make([]int, len(groups))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(len(groups[b].Tasks), len(groups[a].Tasks)) })
	sorted := make([]Group, len(groups))
	newIndex := make([]int, len(groups))
	for to, from := range order {
		sorted[to] = groups[from]
		newIndex[from] = to
	}
	groupOfTask := make([]int, len(s.Tasks))
	for gi := range sorted {
		for _, t := range sorted[gi].Tasks {
			groupOfTask[t] = gi
		}
	}
	for gi := range sorted {
		first := &s.Tasks[sorted[gi].Tasks[0]]
		for _, a := range first.AwaitedBy {
			if t, ok := g.task(a.ID); ok && !slices.Contains(sorted[gi].Awaiters, groupOfTask[t]) {
				sorted[gi].Awaiters = append(sorted[gi].Awaiters, groupOfTask[t])
			}
		}
	}
	return sorted
}

// grouper computes each task's key: a hash of its frames and of its awaiters' keys.
type grouper struct {
	s      *snapshot.Snapshot
	chains map[snapshot.FramesKey]uint64 // hashFrames of each chain
	// awaiters maps the id of every awaiter to the index of its task (snapshot.AwaiterIndex):
	// only awaiters are looked up, and they are few.
	awaiters map[uint64]int
	keys     []uint64 // 0: not computed yet
	stack    []int
	onStack  []bool
}

// task returns the index of the first task with this id, for the id of an awaiter.
func (g *grouper) task(id uint64) (int, bool) {
	i, ok := g.awaiters[id]
	return i, ok && i >= 0
}

const (
	offset64 = 14695981039346656037
	prime64  = 1099511628211
)

// keyOf computes the key of task i and of the tasks above it, iteratively: await chains can be
// deeper than a goroutine's stack should go. A task on an await cycle gets a key from its frames
// and the awaiters outside the cycle.
func (g *grouper) keyOf(i int) {
	if g.keys[i] != 0 {
		return
	}
	g.stack = append(g.stack[:0], i)
	g.onStack[i] = true
	for len(g.stack) > 0 {
		t := g.stack[len(g.stack)-1]
		pending := false
		for _, a := range g.s.Tasks[t].AwaitedBy {
			if j, ok := g.task(a.ID); ok && g.keys[j] == 0 && !g.onStack[j] {
				g.stack = append(g.stack, j)
				g.onStack[j] = true
				pending = true
			}
		}
		if pending {
			continue
		}
		g.keys[t] = g.hash(t)
		g.onStack[t] = false
		g.stack = g.stack[:len(g.stack)-1]
	}
}

// hash combines task t's frames and its awaiters' keys (0 for awaiters on a cycle with t, and for
// futures, whose frames count instead). Awaiter keys are combined without order: a set of
// awaiters has no order that means anything.
func (g *grouper) hash(t int) uint64 {
	h := uint64(offset64)
	h = (h ^ g.framesHash(g.s.Tasks[t].Frames)) * prime64
	var above uint64
	for _, a := range g.s.Tasks[t].AwaitedBy {
		var k uint64
		if j, ok := g.task(a.ID); ok {
			k = g.keys[j]
		} else {
			k = g.framesHash(a.Frames) ^ 1
		}
		above += mix(k)
	}
	h = (h ^ above) * prime64
	if h == 0 {
		h = 1 // 0 means "not computed"
	}
	return h
}

// framesHash is hashFrames of a chain, once per chain: the inspector gives every task waiting at
// the same place the same slice (snapshot.FramesKey), and thousands of tasks often wait at a few.
func (g *grouper) framesHash(frames []snapshot.Frame) uint64 {
	k := snapshot.KeyOf(frames)
	h, ok := g.chains[k]
	if !ok {
		h = hashFrames(offset64, frames)
		if g.chains == nil {
			g.chains = make(map[snapshot.FramesKey]uint64)
		}
		g.chains[k] = h
	}
	return h
}

func hashFrames(h uint64, frames []snapshot.Frame) uint64 {
	h = (h ^ uint64(len(frames))) * prime64
	for i := range frames {
		f := &frames[i]
		for _, s := range [2]string{f.Function, f.File} {
			for k := 0; k < len(s); k++ {
				h = (h ^ uint64(s[k])) * prime64
			}
			h = (h ^ 0xff) * prime64
		}
		for _, v := range [4]int{f.Line, f.EndLine, f.Column, f.EndColumn} {
			h = (h ^ uint64(v)) * prime64
		}
	}
	return h
}

// mix spreads a key's bits so that adding keys does not cancel them out.
func mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// same reports whether tasks a and b wait at the same place, comparing what the keys hash, up to
// the tasks nothing awaits.
func (g *grouper) same(a, b int) bool {
	if g.sameAwaiters(a, b) {
		return sameFrames(g.s.Tasks[a].Frames, g.s.Tasks[b].Frames)
	}
	type pair struct{ a, b int }
	seen := map[pair]bool{}
	work := []pair{{a, b}}
	for len(work) > 0 {
		p := work[len(work)-1]
		work = work[:len(work)-1]
		if p.a == p.b || seen[p] {
			continue
		}
		seen[p] = true
		ta, tb := &g.s.Tasks[p.a], &g.s.Tasks[p.b]
		if g.keys[p.a] != g.keys[p.b] || !sameFrames(ta.Frames, tb.Frames) || len(ta.AwaitedBy) != len(tb.AwaitedBy) {
			return false
		}
		// Awaiters are matched by key: awaiters of one task with equal keys are interchangeable.
		used := make([]bool, len(tb.AwaitedBy))
		for _, x := range ta.AwaitedBy {
			xi, xTask := g.task(x.ID)
			found := false
			for k, y := range tb.AwaitedBy {
				yi, yTask := g.task(y.ID)
				if used[k] || xTask != yTask {
					continue
				}
				if xTask && g.keys[xi] == g.keys[yi] {
					work = append(work, pair{xi, yi})
				} else if xTask || !sameFrames(x.Frames, y.Frames) {
					continue
				}
				used[k], found = true, true
				break
			}
			if !found {
				return false
			}
		}
	}
	return true
}

// sameAwaiters reports whether tasks a and b are awaited by the very same tasks and futures, in
// the same order: the common case of siblings, decided without comparing anything above them.
func (g *grouper) sameAwaiters(a, b int) bool {
	x, y := g.s.Tasks[a].AwaitedBy, g.s.Tasks[b].AwaitedBy
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if x[i].ID != y[i].ID {
			return false
		}
	}
	return true
}

func sameFrames(a, b []snapshot.Frame) bool {
	if snapshot.KeyOf(a) == snapshot.KeyOf(b) {
		return true
	}
	return slices.Equal(a, b)
}
