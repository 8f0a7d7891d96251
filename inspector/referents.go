package inspector

import "slices"

// Before the tasks are read one by one, the objects they lead to are copied level by level:
// first the names, coroutines and awaiters the task objects point at, then what each suspended
// coroutine awaits, then that object's coroutine, and so on. Each level is one vectored read of
// all its pages (up to maxBatch pages a call), so a target whose tasks are spread over thousands
// of pages costs a few system calls instead of one per page missed, and every level is copied
// after the level that refers to it, as the no-older-copy rule (walker.noOlderThan) requires:
// the walk then finds almost everything in the cache, in copies it may use.
//
// This is only a prefetch. It reads what the cache holds and follows what looks like a
// reference; whatever it gets wrong — a task that finished, memory reused meanwhile — costs at
// most some pages copied for nothing, and the walk that follows checks everything as before.

// maxPrefetchLevels bounds how many rounds of copies the prefetch makes, and maxFollow how far
// it follows references through pages already cached in one round: chains deeper than that are
// read on demand by the walk.
const (
	maxPrefetchLevels = 12
	maxFollow         = 16
)

// referentKind says what an object queued for prefetching is, and so what it leads to.
type referentKind uint8

const (
	leafObject      referentKind = iota // copied, not followed
	taskObject                          // a task: its name, coroutine and awaiters
	coroutineObject                     // a coroutine with its frame: what it awaits
	awaitSlot                           // a suspended frame's stack slot holding what it awaits
	awaitedObject                       // something awaited: a coroutine leads on, a future ends
)

// referent is an object queued for prefetching: n bytes at addr.
type referent struct {
	addr uint64
	n    uint32
	kind referentKind
}

// prefetcher holds a prefetch's state. One serves every batch of a walk, so that its lists are
// allocated once.
type prefetcher struct {
	w        *walker
	pages    []uint64   // to copy at the end of this level
	next     []referent // to follow once they are copied
	frontier []referent // being followed
	budget   int        // objects left to look at
	queued   [64]uint64 // pages queued lately (see want)
	buf      [512]byte  // for objects that span two cached pages
}

// prefetchReferents copies the pages of the objects the listed tasks lead to (see above).
func (w *walker) prefetchReferents(listed []listedTask) error {
	pf := w.prefetcher
	if pf == nil {
		// Tasks made one after the other share pages: a level usually queues fewer pages
		// than there are tasks.
		pf = &prefetcher{w: w, next: make([]referent, 0, len(listed)), frontier: make([]referent, 0, len(listed)),
			pages: make([]uint64, 0, len(listed)/2+64)}
		w.prefetcher = pf
	}
	// Each object leads to a bounded number of others; the budget bounds the whole prefetch
	// even where a changing target makes references form loops.
	pf.budget = 32*len(listed) + 1024
	pf.pages, pf.next = pf.pages[:0], pf.next[:0]
	clear(pf.queued[:]) // pages copied for an earlier batch may have been dropped since
	for i := range listed {
		pf.follow(referent{listed[i].addr, uint32(w.a.TaskObject.Size), taskObject}, 0, false)
	}
	for level := 0; level < maxPrefetchLevels && len(pf.pages) > 0 && pf.budget > 0; level++ {
		slices.Sort(pf.pages)
		if err := w.mem.prefetch(slices.Compact(pf.pages)); err != nil {
			return err
		}
		pf.pages = pf.pages[:0]
		pf.frontier, pf.next = pf.next, pf.frontier[:0]
		for _, r := range pf.frontier {
			pf.follow(r, 0, true)
		}
	}
	return nil
}

// follow looks at the object r if its pages are cached, and at what it leads to, depth-first
// through cached pages; on each path, the first object not cached is queued for the next level,
// and its pages for copying. copied says r was queued before: if it is still not cached, it
// cannot be read.
func (pf *prefetcher) follow(r referent, depth int, copied bool) {
	if pf.budget <= 0 {
		return
	}
	pf.budget--
	if r.kind == leafObject {
		pf.want(r)
		return
	}
	b, ok := pf.w.mem.peek(r.addr, int(r.n), pf.buf[:])
	if !ok {
		if !copied {
			pf.want(r)
			pf.next = append(pf.next, r)
		}
		return
	}
	var out [3]referent
	for _, ref := range pf.w.appendReferents(out[:0], r, b) {
		if depth < maxFollow {
			pf.follow(ref, depth+1, false)
		}
	}
}

// want queues the pages of r that are not cached yet for copying.
func (pf *prefetcher) want(r referent) {
	first := r.addr &^ (pageSize - 1)
	if r.addr+uint64(r.n) <= first+pageSize {
		// One page: look at it only if it was not queued lately. Names, coroutines and
		// awaiters of consecutive tasks lie on a few pages, visited in turn; queuing every
		// visit made tens of entries per page to sort. A page once queued is soon copied or
		// known unreadable, so it never needs queuing again.
		slot := &pf.queued[(first>>12)%uint64(len(pf.queued))]
		if *slot == first|1 {
			return
		}
		*slot = first | 1 // pages are aligned: the low bit tells a used slot from an empty one
	}
	pf.pages = pf.w.mem.appendMissing(pf.pages, r.addr, int(r.n))
}

// appendReferents appends what the object r, whose bytes are b, leads to. Nothing is checked
// beyond what makes the reads safe: the walk checks.
func (w *walker) appendReferents(refs []referent, r referent, b []byte) []referent {
	switch r.kind {
	case taskObject:
		to := &w.a.TaskObject
		if b[to.TaskIsTask] == 0 {
			return refs
		}
		if name := le64(b, to.TaskName) &^ w.l.TagBits; name != 0 {
			refs = append(refs, referent{name, w.nameSpan(), leafObject})
		}
		if coro := le64(b, to.TaskCoro) &^ w.l.TagBits; coro != 0 {
			refs = append(refs, referent{coro, w.coroSpan(), coroutineObject})
		}
		if by := le64(b, to.TaskAwaitedBy) &^ w.l.TagBits; by != 0 {
			// A single awaiter is a task or future, read as one; a set is read from its
			// table, which the walk fetches.
			refs = append(refs, referent{by, uint32(max(to.Size, w.o.SetObject.Size)), leafObject})
		}
	case coroutineObject:
		g, fo := &w.o.GenObject, &w.o.InterpreterFrame
		if int8(b[g.GiFrameState]) != w.l.FrameStateSuspendedYieldFrom ||
			int(b[g.GiIframe+fo.Owner]) != w.l.FrameOwnerGenerator {
			return refs
		}
		if slot, ok := w.awaitSlot(b[g.GiIframe:]); ok {
			refs = append(refs, referent{slot, 8, awaitSlot})
		}
	case awaitSlot:
		if obj := le64(b, 0) &^ w.l.TagBits; obj != 0 {
			// The type comes first in every object; an async generator's asend/athrow
			// wrapper holds the generator right after its header.
			refs = append(refs, referent{obj, uint32(w.o.PyObject.Size) + 8, awaitedObject})
		}
	case awaitedObject:
		if c, err := w.coroLike(r.addr); err == nil && c != 0 {
			refs = append(refs, referent{c, w.coroSpan(), coroutineObject})
		}
	}
	return refs
}

// coroSpan is how much of a coroutine object the walk reads: the object and its frame.
func (w *walker) coroSpan() uint32 {
	return uint32(max(w.o.GenObject.Size, w.o.GenObject.GiIframe+w.o.InterpreterFrame.Size))
}

// nameSpan is how much of a task's name the walk usually reads: a str header and a short
// name, or an int.
func (w *walker) nameSpan() uint32 {
	uo := &w.o.UnicodeObject
	return uint32(max(uo.ASCIIObjectSize, uo.Length+8, uo.State+4)) + 32
}
