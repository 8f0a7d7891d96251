// Package hugeheap asks the kernel to back the Go heap of a short-lived process with transparent
// huge pages before the process fills it.
//
// A snapshot builds megabytes of data in a fresh process, and touching fresh memory costs a page
// fault per 4 KiB — on virtual machines more than building the data. Where THP is in "madvise"
// mode, the common default, heap memory only gets huge pages when asked, which the Go runtime
// does not do; and the runtime maps the heap as it grows, so advice must follow the mapping. So
// Prefer makes the heap grow by a reserve at once, advises all of it, and hands the reserve back
// to the runtime for the allocations that follow. The part of the heap the runtime has already
// used holds small pages; it is collapsed into huge ones, or the first allocations, which the
// runtime places lowest, would still fault page by page. It is all advice: where it does not
// apply (THP "never", or "always" already, an older kernel), nothing changes.
//
// The reserve rests on behaviour the Go runtime does not promise: a goroutine's stack grown to
// the reserve's size in one call is handed back to the heap, as free pages, when the goroutine
// ends. TestStillWorks fails when a Go release stops doing that.
package hugeheap

import (
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/aioscope/aioscope/internal/procfs"
)

// heapReserve is how much of the Go heap is set aside for huge pages: more than a snapshot of
// 100,000 tasks builds (30 MB), so that most snapshots fit. Not more: laying it out writes the
// runtime's page-to-span table for all of it, a page fault per 4 MB of reserve, which every run
// pays (PERFORMANCE.md).
const heapReserve = 64 << 20

const hugePage = 2 << 20

// Prefer asks the kernel to back the next heapReserve bytes the Go heap hands out with
// transparent huge pages, and collapses what the heap has used so far into huge pages. Call it
// once, early, in a process about to allocate megabytes and then exit.
func Prefer() {
	// A goroutine's stack goes back to the heap when the goroutine ends only while no collection
	// runs; this also waits for one that is running.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	top := reserveHeap()
	// Everything the runtime allocates before the advice takes small pages, wherever it lands;
	// the mappings are read after the reserve is laid out, and the pages touched so far are
	// collapsed into huge ones afterwards.
	probe := make([]byte, 64+len(os.Args))
	start, end := heapMapping(uintptr(unsafe.Pointer(&probe[0])))
	runtime.KeepAlive(probe)
	if start == 0 || top < start || top >= end {
		return // the reserve is not where the heap is: leave it all alone
	}
	// Raw calls: the ranges are given by address.
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, start, end-start, unix.MADV_HUGEPAGE)
	// The reserve below top was never touched, except its top, used last and not worth a copy:
	// what the runtime touched lies below the reserve, whose bottom is in one of the two regions
	// from top-heapReserve on.
	below := min((top-heapReserve)&^(hugePage-1)+2*hugePage, top&^(hugePage-1))
	collapseTouched((start+hugePage-1)&^(hugePage-1), below)
}

// collapseTouched collapses into huge pages each 2 MiB region of [lo, hi) holding pages already
// touched: they were faulted in as small pages before the advice, and so would the rest of the
// region be, one page at a time, as the snapshot fills it. A region nothing touched gets a huge
// page when first touched; asking to collapse it fails, and a call over several regions can stop
// at that failure, so each region is asked for alone.
func collapseTouched(lo, hi uintptr) {
	if lo >= hi {
		return
	}
	pageSize := uintptr(os.Getpagesize()) // mincore reports one byte per page of the kernel's
	resident := make([]byte, (hi-lo)/pageSize)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, lo, hi-lo, uintptr(unsafe.Pointer(&resident[0]))); errno != 0 {
		return
	}
	for r := lo; r < hi; r += hugePage {
		i := (r - lo) / pageSize
		if slices.ContainsFunc(resident[i:i+hugePage/pageSize], func(b byte) bool { return b&1 != 0 }) {
			_, _, _ = unix.Syscall(unix.SYS_MADVISE, r, hugePage, unix.MADV_COLLAPSE)
		}
	}
}

// reserveHeap makes the heap grow by heapReserve and gives that memory back to the runtime as
// free heap pages, without a collection: a goroutine's stack grows to heapReserve in one call,
// and is freed when the goroutine ends. It returns an address near the top of that stack (the
// reserve lies just below it). Freeing a heap block instead would take a collection, which in a
// fresh process wakes the runtime's threads and takes far longer than a goroutine's end
// (PERFORMANCE.md).
func reserveHeap() uintptr {
	n := runtime.NumGoroutine()
	tops := make(chan uintptr)
	go func() { tops <- growStack(false) }()
	top := <-tops
	// The stack is freed once the goroutine has ended; the snapshot's allocations should find it.
	for i := 0; runtime.NumGoroutine() > n && i < 1000; i++ {
		runtime.Gosched()
	}
	return top
}

// stackReserve is the result of reserveStack, which growStack never calls: the call still needs
// room for the result in growStack's frame, and a goroutine's stack doubles until its frame fits.
// A frame a little under heapReserve makes a stack of exactly heapReserve, which is never touched.
type stackReserve [heapReserve - 1<<20]byte

//go:noinline
func reserveStack() (r stackReserve) { return }

// growStack returns the address of one of its locals, near the top of its goroutine's stack.
//
//go:noinline
func growStack(call bool) uintptr {
	var local byte
	if call {
		reserveStack()
	}
	return uintptr(unsafe.Pointer(&local))
}

// heapMapping returns the mapping holding addr, from /proc/self/maps, or zeros. It runs before
// the heap is advised, so it allocates one page: every page it touches now is a small one.
// (inspector.ParseMaps, made for a target's maps, buffers 64 KiB and returns every field; only
// its parsing of the address range is shared.)
func heapMapping(addr uintptr) (start, end uintptr) {
	fd, err := unix.Open("/proc/self/maps", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, 0
	}
	defer unix.Close(fd)
	return findMapping(func(b []byte) (int, error) { return unix.Read(fd, b) }, addr)
}

// findMapping returns the range of the line of a maps file, read with read, that holds addr.
func findMapping(read func([]byte) (int, error), addr uintptr) (start, end uintptr) {
	buf := make([]byte, 4096)
	kept := 0     // bytes of a line cut short by the end of the last read, moved to buf's start
	skip := false // the line being read was too long to keep: look from the next one on
	for {
		n, err := read(buf[kept:])
		if err != nil || n <= 0 {
			return 0, 0
		}
		data := buf[:kept+n]
		for {
			nl := slices.Index(data, '\n')
			if nl < 0 {
				break
			}
			if lo, hi, ok := mapsRange(data[:nl]); ok && !skip && addr >= lo && addr < hi {
				return lo, hi
			}
			data, skip = data[nl+1:], false
		}
		// The kernel ends reads at the end of a line, but a cut line is kept unless it is
		// longer than the line of an anonymous mapping such as the heap's.
		kept = 0
		if len(data) <= 64 && !skip {
			kept = copy(buf, data)
		} else if len(data) > 0 {
			skip = true
		}
	}
}

// mapsRange parses the "start-end" a line of /proc/PID/maps begins with.
func mapsRange(line []byte) (start, end uintptr, ok bool) {
	sp := slices.Index(line, ' ')
	if sp < 0 {
		return 0, 0, false
	}
	lo, hi, ok := procfs.ParseMapsRange(string(line[:sp]))
	return uintptr(lo), uintptr(hi), ok
}
