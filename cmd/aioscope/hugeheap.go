package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/aioscope/aioscope/inspector"
)

// heapReserve is how much of the Go heap is set aside for huge pages when aioscope starts: more
// than a snapshot of 10,000 tasks builds, so that most snapshots fit.
const heapReserve = 128 << 20

const hugePage = 2 << 20

// maxCollapse bounds how much of the heap below the block is collapsed into huge pages: the
// runtime starts with a few MiB, and collapsing copies it.
const maxCollapse = 4 * hugePage

// preferHugePages asks the kernel to back the Go heap with transparent huge pages.
// A snapshot builds megabytes of data in a fresh process, and touching fresh memory costs a page
// fault per 4 KiB — on virtual machines more than building the data. Where THP is in "madvise"
// mode, the common default, heap memory only gets huge pages when asked, which the Go runtime
// does not do: aioscope allocates a block, advises the heap up to its end and frees it, so that
// the runtime serves the snapshot's allocations from that memory. The part of the heap the
// runtime has already used holds small pages; it is collapsed into huge ones, or the first
// allocations, which the runtime places lowest, would still fault page by page. It is all
// advice: where it does not apply (THP "never", or "always" already, an older kernel), nothing
// changes.
func preferHugePages() {
	// The block is far beyond the heap's first goal: without this, allocating it starts a
	// collection of its own, which finds it alive, before the one below frees it.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	probe := make([]byte, 64+len(os.Args)) // a heap object from before the block
	b := make([]byte, heapReserve)         // fresh from the OS, untouched: it costs no memory yet
	start := heapStart(uintptr(unsafe.Pointer(&probe[0])))
	block := uintptr(unsafe.Pointer(&b[0]))
	end := block + heapReserve
	if start != 0 && start < block && end-start <= 2*heapReserve {
		// Raw calls: the ranges are given by address.
		_, _, _ = unix.Syscall(unix.SYS_MADVISE, start, end-start, unix.MADV_HUGEPAGE)
		lo, hi := (start+hugePage-1)&^(hugePage-1), (block+hugePage-1)&^(hugePage-1)
		if lo < hi && hi-lo <= maxCollapse {
			_, _, _ = unix.Syscall(unix.SYS_MADVISE, lo, hi-lo, unix.MADV_COLLAPSE)
		}
	} else {
		_ = unix.Madvise(b, unix.MADV_HUGEPAGE)
	}
	runtime.KeepAlive(probe)
	runtime.KeepAlive(b)
	b = nil
	runtime.GC() // give the block back to the heap, for the allocations to come
}

// heapStart returns where the mapping holding addr begins, from /proc/self/maps, or 0.
func heapStart(addr uintptr) uintptr {
	data, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0
	}
	for _, m := range inspector.ParseMaps(data) {
		if uint64(addr) >= m.Start && uint64(addr) < m.End {
			return uintptr(m.Start)
		}
	}
	return 0
}
