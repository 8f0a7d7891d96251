package inspector

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// slabs hands out the memory that one snapshot's page copies are made into. A snapshot of a
// large target copies tens of megabytes; taken from the Go heap in small pages, that memory
// costs a page fault per 4 KiB the first time it is written, which on a virtual machine is
// slower than copying it. Slabs are mapped apart from the heap and asked to be backed by huge
// pages, so the copies fault once per 2 MiB instead, and they are unmapped as soon as the
// snapshot is built (nothing in a snapshot refers to them).
type slabs struct {
	free   []byte   // unused part of the current slab
	mapped [][]byte // every mapping made, to unmap on release
	noMmap bool     // mapping failed once: use the Go heap from then on
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
		s.free = s.alloc(max(slabSize, n))
	}
	return s.free[:n:n]
}

// take marks the first k bytes returned by get as used.
func (s *slabs) take(k int) { s.free = s.free[k:] }

func (s *slabs) alloc(n int) []byte {
	if !s.noMmap {
		m, err := unix.Mmap(-1, 0, n+hugePage, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err == nil {
			s.mapped = append(s.mapped, m)
			// Huge pages need 2 MiB alignment; the mapping is one huge page longer to allow it.
			off := (hugePage - int(uintptr(unsafe.Pointer(&m[0]))&(hugePage-1))) & (hugePage - 1)
			b := m[off : off+n : off+n]
			_ = unix.Madvise(b, unix.MADV_HUGEPAGE) // only advice: without it, small pages
			return b
		}
		s.noMmap = true
	}
	return make([]byte, n)
}

// releaseAll unmaps every slab. Nothing handed out may be used afterwards.
func (s *slabs) releaseAll() {
	for _, m := range s.mapped {
		_ = unix.Munmap(m)
	}
	s.mapped, s.free = nil, nil
}
