package main

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// heapReserve is how much of the Go heap is set aside for huge pages when aioscope starts: more
// than a snapshot of 10,000 tasks builds, so that most snapshots fit.
const heapReserve = 128 << 20

// preferHugePages asks the kernel to back the start of the Go heap with transparent huge pages.
// A snapshot builds megabytes of data in a fresh process, and touching fresh memory costs a page
// fault per 4 KiB — on virtual machines more than building the data. Where THP is in "madvise"
// mode, the common default, heap memory only gets huge pages when asked, which the Go runtime
// does not do: aioscope allocates a block, advises it and frees it, so that the runtime serves
// the snapshot's allocations from that memory. It is advice: where it does not apply (THP
// "never", or "always" already), nothing changes.
func preferHugePages() {
	b := make([]byte, heapReserve) // fresh from the OS, untouched: it costs no memory yet
	_ = unix.Madvise(b, unix.MADV_HUGEPAGE)
	runtime.KeepAlive(b)
	b = nil
	runtime.GC() // give the block back to the heap, for the allocations to come
}
