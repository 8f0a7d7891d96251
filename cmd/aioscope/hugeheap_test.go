package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestHeapMapping(t *testing.T) {
	obj := make([]byte, 1<<10+len(t.Name())) // on the heap
	addr := uintptr(unsafe.Pointer(&obj[0]))
	start, end := heapMapping(addr)
	if start == 0 || start > addr || end <= addr || addr-start > 1<<36 {
		t.Fatalf("heapMapping(%#x) = %#x-%#x, want the mapping holding it", addr, start, end)
	}
	if start, end := heapMapping(8); start != 0 || end != 0 {
		t.Fatalf("heapMapping of an unmapped address = %#x-%#x, want zeros", start, end)
	}
}

// TestReserveHeap checks that the reserve, a goroutine's stack, ends up as free heap memory: were
// the runtime to keep a large stack when its goroutine ends, or to grow it less, the advice would
// cover memory the snapshot never uses.
func TestReserveHeap(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // as preferHugePages: no collection meanwhile
	rss := residentBytes(t)
	top := reserveHeap()
	// The reserve costs address space, not memory: only the top of the stack was ever touched.
	if grown := residentBytes(t) - rss; grown > heapReserve/8 {
		t.Errorf("laying out the reserve made %d MiB resident; its memory must stay untouched", grown>>20)
	}
	if start, _ := heapMapping(top); start == 0 {
		t.Errorf("the reserve's top %#x is not mapped", top)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if free := ms.HeapIdle - ms.HeapReleased; free < heapReserve*3/4 || ms.StackInuse >= heapReserve/2 {
		t.Fatalf("after the reserve: %d MiB of free heap memory, %d MiB of stacks in use; want about %d MiB free and the stack freed",
			free>>20, ms.StackInuse>>20, heapReserve>>20)
	}
}

// TestPreferHugePages checks that the heap a snapshot allocates from is advised to use huge
// pages where the kernel takes the advice, and stays usable.
func TestPreferHugePages(t *testing.T) {
	preferHugePages()
	b := make([]byte, 8<<20)
	for i := range b {
		b[i] = byte(i)
	}
	if b[len(b)-1] != byte(len(b)-1) {
		t.Fatal("heap memory after preferHugePages does not hold what was written")
	}
	if !thpMadvise(t) {
		return
	}
	addr := uintptr(unsafe.Pointer(&b[0]))
	if flags := smapsField(t, addr, "VmFlags:"); !strings.Contains(flags, " hg") {
		t.Fatalf("the heap mapping holding %#x is not advised for huge pages: VmFlags:%s", addr, flags)
	}
}

// TestCollapseTouched checks that a region holding touched small pages becomes a huge page even
// when an untouched region comes before it, and that the untouched one is left alone.
func TestCollapseTouched(t *testing.T) {
	if !thpMadvise(t) {
		return
	}
	m, err := unix.Mmap(-1, 0, 4*hugePage, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	base := (uintptr(unsafe.Pointer(&m[0])) + hugePage - 1) &^ (hugePage - 1)
	off := int(base - uintptr(unsafe.Pointer(&m[0])))
	m[off+hugePage+100] = 1 // one small page in the second region, before the advice
	if err := unix.Madvise(m[off:off+2*hugePage], unix.MADV_HUGEPAGE); err != nil {
		t.Fatal(err)
	}
	collapseTouched(base, base+2*hugePage)
	if kb := anonHugeKB(t, base); kb != hugePage>>10 {
		t.Fatalf("after collapseTouched the mapping holds %d kB of huge pages, want %d (the touched region only)", kb, hugePage>>10)
	}
	if m[off+hugePage+100] != 1 {
		t.Fatal("the collapsed region lost what was written")
	}
}

// residentBytes returns the process's resident memory, from /proc/self/statm.
func residentBytes(t *testing.T) int64 {
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(statm))
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

// thpMadvise reports whether the kernel gives huge pages where advised and only there.
func thpMadvise(t *testing.T) bool {
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || !strings.Contains(string(mode), "[madvise]") {
		t.Logf("THP mode %q: the advice changes nothing here", strings.TrimSpace(string(mode)))
		return false
	}
	return true
}

// anonHugeKB returns the AnonHugePages of the mapping holding addr, from /proc/self/smaps.
func anonHugeKB(t *testing.T, addr uintptr) int {
	f := strings.Fields(smapsField(t, addr, "AnonHugePages:"))
	if len(f) == 0 {
		t.Fatalf("no AnonHugePages value for the mapping holding %#x", addr)
	}
	kb, err := strconv.Atoi(f[0])
	if err != nil {
		t.Fatal(err)
	}
	return kb
}

// smapsField returns what follows field (such as "VmFlags:") in the /proc/self/smaps entry of
// the mapping holding addr.
func smapsField(t *testing.T, addr uintptr, field string) string {
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	inside := false
	for _, line := range strings.Split(string(smaps), "\n") {
		if rng, _, ok := strings.Cut(line, " "); ok && strings.Contains(rng, "-") && !strings.HasSuffix(rng, ":") {
			lo, hi, _ := strings.Cut(rng, "-")
			l, err1 := strconv.ParseUint(lo, 16, 64)
			h, err2 := strconv.ParseUint(hi, 16, 64)
			inside = err1 == nil && err2 == nil && uint64(addr) >= l && uint64(addr) < h
		}
		if rest, ok := strings.CutPrefix(line, field); inside && ok {
			return rest
		}
	}
	t.Fatalf("no mapping in /proc/self/smaps holds %#x", addr)
	return ""
}
