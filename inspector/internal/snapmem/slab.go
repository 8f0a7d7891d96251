package snapmem

import (
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// slabs hands out the memory that one snapshot's page copies are made into. A snapshot of a
// large target copies megabytes, even though the copies of each batch of tasks are recycled
// (see EndBatch). Taken from the Go heap in small pages, that memory costs a page fault per
// 4 KiB the first time it is written, which on a virtual machine is slower than copying it.
// Slabs are mapped apart from the heap and asked to be backed by huge pages, so the copies fault
// once per 2 MiB instead. Nothing in a snapshot refers to them: once it is built, they are
// unmapped (Release) or handed out again to the next snapshot (Reset), which then finds its
// memory faulted in already. A cache read again and again (a watch) thus pays for fresh memory
// once, not every time.
//
// Fresh memory can cost far more than that on a virtual machine whose host takes free memory
// back (free page reporting): the first write to each huge page then waits for the host
// (PERFORMANCE.md). When a walk knows that many copies are coming (prefault), a helper
// goroutine faults the huge pages they will go into from the far end while the copies fill them
// from the near end, so that two CPUs share the wait.
type slabs struct {
	made  []slab // every slab not released, in the order they are handed out
	count int    // how many of made are handed out since the last recycle; the last is current
	free  []byte // unused part of the current slab
	// noMmap: mapping failed once, or is not wanted: use the Go heap.
	noMmap bool
	size   int // how much a slab holds at least; 0: slabSize
	// prepared: the end of what the helper was asked to fault in, in the current slab.
	prepared uintptr
	marked   bool // between mark and rewind
	stop     atomic.Bool
	helper   sync.WaitGroup
}

// slab is one piece of memory copies are made into.
type slab struct {
	b       []byte // what is handed out: 2 MiB aligned unless on the heap
	mapping []byte // the mapping b lies in; nil: b is Go heap memory
	// reach: how much of b, from its start, has been written or faulted in before: memory that
	// need not be prepared again.
	reach int
	// used: how much of b, from its start, was handed out since the last recycle.
	used int
}

const (
	hugePage = 2 << 20
	// slabSize is how much a slab holds at least. Small targets need a few hundred KiB; a
	// larger slab would only cost address space, as untouched pages are never backed.
	slabSize = 8 << 20
)

// get returns n bytes to copy into; the caller keeps the first k with take(k).
func (s *slabs) get(n int) []byte {
	if len(s.free) < n {
		s.next(n)
	}
	return s.free[:n:n]
}

// next makes the next slab that holds n bytes current: the one handed out next since the last
// recycle if it is large enough, or a new one put in its place.
func (s *slabs) next(n int) {
	if s.count == len(s.made) || len(s.made[s.count].b) < n {
		size := s.size
		if size == 0 {
			size = slabSize
		}
		s.made = slices.Insert(s.made, s.count, s.alloc(max(size, n)))
	}
	sl := &s.made[s.count]
	s.count++
	s.free = sl.b
	s.prepared = uintptr(unsafe.Pointer(&sl.b[0])) + uintptr(sl.reach)
}

// onHeap reports whether the current slab is Go heap memory.
func (s *slabs) onHeap() bool { return s.count == 0 || s.made[s.count-1].mapping == nil }

// take marks the first k bytes returned by get as used. Once half a huge page is filled, the
// next one is prepared if it was not asked for yet (see prefault): a walk that copies that much
// usually goes on. Not after a mark: what is taken then is handed out again (rewind), so the
// copies stop growing.
func (s *slabs) take(k int) {
	s.free = s.free[k:]
	if s.onHeap() {
		return
	}
	sl := &s.made[s.count-1]
	sl.used = max(sl.used, len(sl.b)-len(s.free))
	sl.reach = max(sl.reach, sl.used)
	if s.marked || len(s.free) == 0 {
		return
	}
	at := uintptr(unsafe.Pointer(&s.free[0]))
	if next := (at + hugePage) &^ (hugePage - 1); at&(hugePage-1) >= hugePage/2 && s.prepared <= next {
		s.prefault(hugePage)
	}
}

func (s *slabs) alloc(n int) slab {
	if !s.noMmap {
		m, err := unix.Mmap(-1, 0, n+hugePage, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err == nil {
			// Huge pages need 2 MiB alignment; the mapping is one huge page longer to allow it.
			off := (hugePage - int(uintptr(unsafe.Pointer(&m[0]))&(hugePage-1))) & (hugePage - 1)
			b := m[off : off+n : off+n]
			_ = unix.Madvise(b, unix.MADV_HUGEPAGE) // only advice: without it, small pages
			return slab{b: b, mapping: m}
		}
		s.noMmap = true
	}
	return slab{b: make([]byte, n)}
}

// prefault has a helper goroutine fault in, last first, the huge pages of the current slab that
// the next n bytes reach beyond the huge page being filled now, but for those asked for or
// written before. It only affects speed.
func (s *slabs) prefault(n int) {
	if s.onHeap() || len(s.free) == 0 {
		return // no slab yet, or the Go heap's memory: nothing to prepare
	}
	start := uintptr(unsafe.Pointer(&s.free[0]))
	next := int((hugePage - start&(hugePage-1)) & (hugePage - 1)) // offset of the next huge page
	if done := s.prepared; done > start {
		next = max(next, int(done-start)) // not asked twice
	}
	end := min(int((start+uintptr(n)+hugePage-1)&^(hugePage-1)-start), len(s.free))
	if next >= end {
		return
	}
	area := s.free[next:end]
	s.prepared = start + uintptr(end)
	sl := &s.made[s.count-1]
	sl.reach = max(sl.reach, len(sl.b)-len(s.free)+end)
	s.helper.Add(1)
	go func() {
		defer s.helper.Done()
		for off := (len(area) - 1) &^ (hugePage - 1); off >= 0 && !s.stop.Load(); off -= hugePage {
			// Only a hint: where it fails (before Linux 5.14), the copies fault the pages in.
			_ = unix.Madvise(area[off:min(off+hugePage, len(area))], unix.MADV_POPULATE_WRITE)
		}
	}()
}

// slabMark is a position in the slabs to go back to (rewind).
type slabMark struct {
	count int    // slabs handed out by then
	free  []byte // the unused part of the current slab then
}

func (s *slabs) mark() slabMark {
	s.marked = true
	return slabMark{s.count, s.free}
}

// rewind hands out again the memory handed out since m: nothing taken from it may be in use any
// more. Of slabs handed out since m, the last is used again from its start; any others stay
// unused until recycle.
func (s *slabs) rewind(m slabMark) {
	s.marked = false
	if s.count == m.count {
		s.free = m.free
	} else {
		s.free = s.made[s.count-1].b
	}
}

// recycle hands every slab out again, from the first, to copies of what is read next: nothing
// handed out may be in use any more. The memory kept is what the last use of the cache needed:
// slabs not handed out since the last recycle are released, and of the others the huge pages
// beyond what was handed out, so that a target that was once larger does not keep the memory
// of its largest snapshot for good.
func (s *slabs) recycle() {
	s.helper.Wait() // at most the huge pages asked for
	for i := range s.count {
		s.made[i].trim()
	}
	for i := s.count; i < len(s.made); i++ {
		s.made[i].release()
	}
	clear(s.made[s.count:])
	s.made = s.made[:s.count]
	s.count, s.free, s.prepared, s.marked = 0, nil, 0, false
}

// releaseAll unmaps every slab. Nothing handed out may be used afterwards.
func (s *slabs) releaseAll() {
	s.stop.Store(true)
	s.helper.Wait() // at most the huge page being faulted in
	for i := range s.made {
		s.made[i].release()
	}
	s.made, s.count, s.free = nil, 0, nil
}

// trim gives back the memory of the huge pages of a mapped slab beyond those handed out since
// the last recycle, and starts counting anew.
func (sl *slab) trim() {
	keep := min((sl.used+hugePage-1)&^(hugePage-1), len(sl.b))
	if sl.mapping != nil && sl.reach > keep {
		_ = unix.Madvise(sl.b[keep:sl.reach], unix.MADV_DONTNEED) // only gives memory back
		sl.reach = keep
	}
	sl.used = 0
}

func (sl *slab) release() {
	if sl.mapping != nil {
		_ = unix.Munmap(sl.mapping)
	}
	*sl = slab{}
}
