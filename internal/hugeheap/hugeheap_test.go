package hugeheap

import (
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
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
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // as Prefer: no collection meanwhile
	rss := residentBytes(t)
	top := reserveHeap()
	// The reserve costs address space, not memory: only the top of the stack was ever touched.
	if grown := residentBytes(t) - rss; grown > heapReserve/8 {
		t.Errorf("laying out the reserve made %d MiB resident; its memory must stay untouched", grown>>20)
	}
	if start, _ := heapMapping(top); start == 0 {
		t.Errorf("the reserve's top %#x is not mapped", top)
	}
	// The goroutine counts as ended a moment before its stack is freed, on another thread: on a
	// busy machine that moment can last, so the stack is given a while to come back.
	var ms runtime.MemStats
	freed := func() bool {
		runtime.ReadMemStats(&ms)
		return ms.HeapIdle-ms.HeapReleased >= heapReserve*3/4 && ms.StackInuse < heapReserve/2
	}
	for deadline := time.Now().Add(2 * time.Second); !freed() && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if free := ms.HeapIdle - ms.HeapReleased; free < heapReserve*3/4 || ms.StackInuse >= heapReserve/2 {
		t.Fatalf("after the reserve: %d MiB of free heap memory, %d MiB of stacks in use; want about %d MiB free and the stack freed",
			free>>20, ms.StackInuse>>20, heapReserve>>20)
	}
}

// TestPreferHugePages checks that the heap a snapshot allocates from is advised to use huge
// pages where the kernel takes the advice, and stays usable.
func TestPreferHugePages(t *testing.T) {
	before := make([]byte, 64<<10) // touched in small pages before the advice
	for i := range before {
		before[i] = 1
	}
	Prefer()
	b := make([]byte, 8<<20)
	for i := range b {
		b[i] = byte(i)
	}
	if b[len(b)-1] != byte(len(b)-1) {
		t.Fatal("heap memory after Prefer does not hold what was written")
	}
	if !thpMadvise(t) {
		return
	}
	addr := uintptr(unsafe.Pointer(&b[0]))
	if flags := smapsField(t, addr, "VmFlags:"); !strings.Contains(flags, " hg") {
		t.Fatalf("the heap mapping holding %#x is not advised for huge pages: VmFlags:%s", addr, flags)
	}
	// The region holding memory touched before the advice was collapsed: all of it is backed.
	region := uintptr(unsafe.Pointer(&before[0])) &^ (hugePage - 1)
	vec := make([]byte, hugePage/os.Getpagesize())
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, region, hugePage, uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatalf("mincore: %v", errno)
	}
	if n := bytes.Count(vec, []byte{0}); n > 0 {
		t.Errorf("the 2 MiB region holding memory touched before the advice has %d pages not backed: it was not collapsed", n)
	}
	runtime.KeepAlive(before)
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
	t.Helper()
	v, ok := smapsFieldOf(addr, field)
	if !ok {
		t.Fatalf("no mapping in /proc/self/smaps holds %#x with a field %s", addr, field)
	}
	return v
}

func TestMapsRange(t *testing.T) {
	for _, tc := range []struct {
		line       string
		start, end uintptr
		ok         bool
	}{
		{"7f0000000000-7f0000021000 rw-p 00000000 00:00 0 ", 0x7f0000000000, 0x7f0000021000, true},
		{"00400000-005ca000 r-xp 00000000 08:01 42 /usr/bin/aioscope", 0x400000, 0x5ca000, true},
		{"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]", 0xffffffffff600000, 0xffffffffff601000, true},
		{"", 0, 0, false},
		{"7f00-7f00 rw-p", 0, 0, false}, // empty
		{"7f01-7f00 rw-p", 0, 0, false}, // backwards
		{"-7f00 rw-p", 0, 0, false},
		{"7f00- rw-p", 0, 0, false},
		{"7f00-7f10", 0, 0, false},
		{"python3-14 x", 0, 0, false}, // the tail of a long path
	} {
		start, end, ok := mapsRange([]byte(tc.line))
		if start != tc.start || end != tc.end || ok != tc.ok {
			t.Errorf("mapsRange(%q) = %#x, %#x, %v; want %#x, %#x, %v", tc.line, start, end, ok, tc.start, tc.end, tc.ok)
		}
	}
}

// TestFindMappingAcrossReads reads a maps file in pieces of every size: a line cut by the end of a
// read is put together again, and the tail of a line too long to keep is never taken for a line.
func TestFindMappingAcrossReads(t *testing.T) {
	long := "7f0000000000-7f0000001000 r--p 00000000 08:01 42 /lib/" + strings.Repeat("x", 80) + "abc-def 1\n"
	maps := long + "7f0000100000-7f0000200000 rw-p 00000000 00:00 0 \n" + long
	for size := 1; size <= len(maps); size++ {
		rest := maps
		read := func(b []byte) (int, error) {
			n := copy(b[:min(len(b), size)], rest)
			rest = rest[n:]
			return n, nil
		}
		if start, end := findMapping(read, 0x7f0000180000); start != 0x7f0000100000 || end != 0x7f0000200000 {
			t.Fatalf("reads of %d bytes: mapping = %#x-%#x, want 0x7f0000100000-0x7f0000200000", size, start, end)
		}
		rest = maps
		if start, end := findMapping(read, 0xabc); start != 0 || end != 0 {
			t.Fatalf("reads of %d bytes: the tail of a path was taken for a line: %#x-%#x", size, start, end)
		}
	}
}
