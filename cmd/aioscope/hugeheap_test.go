package main

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

func TestHeapStart(t *testing.T) {
	obj := make([]byte, 1<<10+len(t.Name())) // on the heap
	addr := uintptr(unsafe.Pointer(&obj[0]))
	start := heapStart(addr)
	if start == 0 || start > addr || addr-start > 1<<36 {
		t.Fatalf("heapStart(%#x) = %#x, want the start of the mapping holding it", addr, start)
	}
	if got := heapStart(8); got != 0 {
		t.Fatalf("heapStart of an unmapped address = %#x, want 0", got)
	}
}

// TestPreferHugePages checks that the heap a snapshot allocates from is advised to use huge
// pages where the kernel takes the advice, and stays usable.
func TestPreferHugePages(t *testing.T) {
	preferHugePages()
	// The block must be back in the heap, for the allocations to come.
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.HeapInuse >= heapReserve/2 || ms.HeapIdle < heapReserve {
		t.Fatalf("after preferHugePages: %d MiB of heap in use, %d MiB idle; the reserve was not freed", ms.HeapInuse>>20, ms.HeapIdle>>20)
	}
	b := make([]byte, 8<<20)
	for i := range b {
		b[i] = byte(i)
	}
	if b[len(b)-1] != byte(len(b)-1) {
		t.Fatal("heap memory after preferHugePages does not hold what was written")
	}
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || !strings.Contains(string(mode), "[madvise]") {
		t.Logf("THP mode %q: the advice changes nothing here", strings.TrimSpace(string(mode)))
		return
	}
	addr := uint64(uintptr(unsafe.Pointer(&b[0])))
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	var inside bool
	for _, line := range strings.Split(string(smaps), "\n") {
		if rng, _, ok := strings.Cut(line, " "); ok && strings.Contains(rng, "-") && !strings.HasSuffix(rng, ":") {
			lo, hi, _ := strings.Cut(rng, "-")
			l, err1 := strconv.ParseUint(lo, 16, 64)
			h, err2 := strconv.ParseUint(hi, 16, 64)
			inside = err1 == nil && err2 == nil && addr >= l && addr < h
		}
		if inside && strings.HasPrefix(line, "VmFlags:") {
			if !strings.Contains(line, " hg") {
				t.Fatalf("the heap mapping holding %#x is not advised for huge pages: %s", addr, line)
			}
			return
		}
	}
	t.Fatalf("no mapping in /proc/self/smaps holds %#x", addr)
}
