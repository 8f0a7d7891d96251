package snapmem

import (
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
// once per 2 MiB instead, and they are unmapped as soon as the snapshot is built (nothing in a
// snapshot refers to them).
//
// Fresh memory can cost far more than that on a virtual machine whose host takes free memory
// back (free page reporting): the first write to each huge page then waits for the host
// (PERFORMANCE.md). When a walk knows that many copies are coming (prefault), a helper
// goroutine faults the huge pages they will go into from the far end while the copies fill them
// from the near end, so that two CPUs share the wait.
type slabs struct {
	cur    []byte   // the current slab
	free   []byte   // unused part of the current slab
	count  int      // slabs made so far
	mapped [][]byte // every mapping made, to unmap on release
	noMmap bool     // mapping failed once, or not wanted: use the Go heap
	size   int      // how much a slab holds at least; 0: slabSize
	onHeap bool     // the current slab is Go heap memory
	// prepared: the end of what the helper was asked to fault in, in the current slab.
	prepared uintptr
	marked   bool // between mark and rewind
	stop     atomic.Bool
	helper   sync.WaitGroup
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
		size := s.size
		if size == 0 {
			size = slabSize
		}
		s.cur, s.prepared = s.alloc(max(size, n)), 0
		s.free = s.cur
		s.count++
	}
	return s.free[:n:n]
}

// take marks the first k bytes returned by get as used. Once half a huge page is filled, the
// next one is prepared if it was not asked for yet (see prefault): a walk that copies that much
// usually goes on. Not after a mark: what is taken then is handed out again (rewind), so the
// copies stop growing.
func (s *slabs) take(k int) {
	s.free = s.free[k:]
	if s.onHeap || s.marked || len(s.free) == 0 {
		return
	}
	at := uintptr(unsafe.Pointer(&s.free[0]))
	if next := (at + hugePage) &^ (hugePage - 1); at&(hugePage-1) >= hugePage/2 && s.prepared <= next {
		s.prefault(hugePage)
	}
}

func (s *slabs) alloc(n int) []byte {
	if !s.noMmap {
		m, err := unix.Mmap(-1, 0, n+hugePage, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err == nil {
			s.mapped = append(s.mapped, m)
			// Huge pages need 2 MiB alignment; the mapping is one huge page longer to allow it.
			off := (hugePage - int(uintptr(unsafe.Pointer(&m[0]))&(hugePage-1))) & (hugePage - 1)
			b := m[off : off+n : off+n]
			_ = unix.Madvise(b, unix.MADV_HUGEPAGE) // only advice: without it, small pages
			s.onHeap = false
			return b
		}
		s.noMmap = true
	}
	s.onHeap = true
	return make([]byte, n)
}

// prefault has a helper goroutine fault in, last first, the huge pages of the current slab that
// the next n bytes reach beyond the huge page being filled now, but for those asked for before.
// It only affects speed.
func (s *slabs) prefault(n int) {
	if s.onHeap || len(s.free) == 0 {
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
	count int    // slabs made by then
	free  []byte // the unused part of the current slab then
}

func (s *slabs) mark() slabMark {
	s.marked = true
	return slabMark{s.count, s.free}
}

// rewind hands out again the memory handed out since m: nothing taken from it may be in use any
// more. Of slabs made since m, the last is used again from its start; any others stay unused
// until releaseAll.
func (s *slabs) rewind(m slabMark) {
	s.marked = false
	if s.count == m.count {
		s.free = m.free
	} else {
		s.free = s.cur
	}
}

// releaseAll unmaps every slab. Nothing handed out may be used afterwards.
func (s *slabs) releaseAll() {
	s.stop.Store(true)
	s.helper.Wait() // at most the huge page being faulted in
	for _, m := range s.mapped {
		_ = unix.Munmap(m)
	}
	s.mapped, s.free, s.cur = nil, nil, nil
}
