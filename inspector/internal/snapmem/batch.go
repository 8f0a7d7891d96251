package snapmem

import "slices"

// Batches. A walk of a large target reads it in batches of objects: what a batch's objects lead
// to is copied (Prefetch), read, and then dropped (EndBatch), so the copies take a batch's worth
// of memory instead of growing with the target. Fresh memory is costly, and more so on virtual
// machines whose host takes free memory back (see slabs).

// Expect tells the cache that about n bytes of copies are coming, so that the memory they go
// into can be prepared meanwhile.
func (c *Cache) Expect(n int) { c.slabs.prefault(n) }

// BeginBatch starts a part of the walk whose copies are dropped, and their memory used again,
// when it ends (EndBatch).
func (c *Cache) BeginBatch() {
	c.inBatch, c.batchPages, c.batchSlab = true, c.batchPages[:0], c.slabs.mark()
}

// EndBatch drops every copy made since BeginBatch and hands the memory they took back for the
// next copies. A page dropped is copied again if a later read needs it; copies made before
// BeginBatch are kept, even those copied again in place meanwhile. Nothing read since BeginBatch
// may be used afterwards.
func (c *Cache) EndBatch() {
	for _, p := range c.batchPages {
		c.region(p).pages[(p>>12)%pagesPerRegion] = nil
	}
	c.inBatch, c.batchPages = false, c.batchPages[:0]
	c.lastAddr, c.lastData = ^uint64(0), nil
	c.slabs.rewind(c.batchSlab)
}

// Object names an object to prefetch: Size bytes at Addr, of a Kind that only the Referents
// function knows, except Leaf.
type Object struct {
	Addr uint64
	Size uint32
	Kind uint8
}

// Leaf is the Kind of objects that are copied but lead nowhere: Referents is not asked about
// them.
const Leaf uint8 = 0

// Referents appends to dst what obj, whose bytes are b, refers to: at most cap(dst) objects. It is
// only a guess at what the walk will read: it need not check anything beyond what makes its own
// reads safe. It may read through the cache (as Reader).
type Referents func(dst []Object, obj Object, b []byte) []Object

// maxPrefetchLevels bounds how many rounds of copies a prefetch makes, and maxFollow how far it
// follows references through pages already cached in one round: chains deeper than that are read
// on demand by the walk.
const (
	maxPrefetchLevels = 12
	maxFollow         = 16
)

// Prefetch copies the objects roots lead to, level by level: first the roots, then what they
// refer to, and so on. Each level is one vectored read of all its pages (up to maxBatch pages a
// call), so objects spread over thousands of pages cost a few system calls instead of one per
// page missed, and every level is copied after the level that refers to it, as a Reader's floor
// requires: the walk then finds almost everything cached, in copies it may use.
//
// It is only a prefetch: whatever it gets wrong — an object that went away, memory reused
// meanwhile — costs at most some pages copied for nothing.
func (c *Cache) Prefetch(roots []Object, refs Referents) error {
	pf := c.prefetcher
	if pf == nil {
		// Objects made one after the other share pages: a level usually queues fewer pages
		// than there are roots.
		pf = &prefetcher{c: c, next: make([]Object, 0, len(roots)), frontier: make([]Object, 0, len(roots)),
			pages: make([]uint64, 0, len(roots)/2+64)}
		c.prefetcher = pf
	}
	pf.refs = refs
	// Each object leads to a bounded number of others; the budget bounds the whole prefetch
	// even where a changing target makes references form loops.
	pf.budget = 32*len(roots) + 1024
	pf.pages, pf.next = pf.pages[:0], pf.next[:0]
	clear(pf.queued[:]) // pages copied for an earlier batch may have been dropped since
	for _, r := range roots {
		pf.follow(r, 0, false)
	}
	for level := 0; level < maxPrefetchLevels && len(pf.pages) > 0 && pf.budget > 0; level++ {
		slices.Sort(pf.pages)
		if err := c.copyPages(slices.Compact(pf.pages), keepCopies); err != nil {
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

// prefetcher holds a prefetch's state. One serves every batch of a walk, so that its lists are
// allocated once.
type prefetcher struct {
	c        *Cache
	refs     Referents
	pages    []uint64 // to copy at the end of this level
	next     []Object // to follow once they are copied
	frontier []Object // being followed
	budget   int      // objects left to look at
	queued   [64]uint64
	buf      [512]byte // for objects that span two cached pages
	// refsAt holds, for each depth of follow, what the object followed there refers to: the
	// Referents function is not known to the compiler, so a buffer local to follow would be
	// allocated anew on every call.
	refsAt [maxFollow + 1][maxReferents]Object
}

// maxReferents is how many objects one object refers to at most, as far as a prefetch follows:
// more are dropped.
const maxReferents = 3

// follow looks at the object o if its pages are cached, and at what it leads to, depth-first
// through cached pages; on each path, the first object not cached is queued for the next level,
// and its pages for copying. copied says o was queued before: if it is still not cached, it
// cannot be read.
func (pf *prefetcher) follow(o Object, depth int, copied bool) {
	if pf.budget <= 0 {
		return
	}
	pf.budget--
	if o.Kind == Leaf {
		pf.want(o)
		return
	}
	b, ok := pf.c.Peek(o.Addr, int(o.Size), pf.buf[:])
	if !ok {
		if !copied {
			pf.want(o)
			pf.next = append(pf.next, o)
		}
		return
	}
	refs := pf.refs(pf.refsAt[depth][:0:maxReferents], o, b)
	if depth == maxFollow {
		return
	}
	for _, ref := range refs {
		pf.follow(ref, depth+1, false)
	}
}

// want queues the pages of o that are not cached yet for copying.
func (pf *prefetcher) want(o Object) {
	first := o.Addr &^ (PageSize - 1)
	if o.Addr+uint64(o.Size) <= first+PageSize {
		// One page: look at it only if it was not queued lately. The objects a batch leads to
		// lie on a few pages, visited in turn; queuing every visit made tens of entries per
		// page to sort. A page once queued is soon copied or known unreadable, so it never
		// needs queuing again.
		slot := &pf.queued[(first>>12)%uint64(len(pf.queued))]
		if *slot == first|1 {
			return
		}
		*slot = first | 1 // pages are aligned: the low bit tells a used slot from an empty one
	}
	pf.pages = pf.c.appendMissing(pf.pages, o.Addr, int(o.Size))
}
