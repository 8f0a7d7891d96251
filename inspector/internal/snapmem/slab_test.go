package snapmem

import (
	"errors"
	"os"
	"slices"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// residentHugePages reports, for each 2 MiB of b, whether any of it is backed by memory.
func residentHugePages(t *testing.T, b []byte) []bool {
	t.Helper()
	pageSize := os.Getpagesize() // mincore reports one byte per page of the kernel's
	vec := make([]byte, (len(b)+pageSize-1)/PageSize)
	if err := mincore(b, vec); err != nil {
		t.Fatalf("mincore: %v", err)
	}
	out := make([]bool, (len(b)+hugePage-1)/hugePage)
	for i, v := range vec {
		if v&1 != 0 {
			out[i*pageSize/hugePage] = true
		}
	}
	return out
}

// TestSlabsPrefault checks that the helper faults in the huge pages asked for, and only those,
// without anything being written to them, that filling half a huge page asks for the next unless
// since a mark, and that release waits for the helper and unmaps the slab.
func TestSlabsPrefault(t *testing.T) {
	var s slabs
	s.get(4096)
	if s.onHeap() {
		t.Fatal("no slab could be mapped")
	}
	slab := s.free // the whole slab, 2 MiB aligned
	s.take(4096)
	s.prefault(hugePage - 4096) // reaches the end of the first huge page, no further: nothing to prepare
	s.helper.Wait()
	if got, want := residentHugePages(t, slab), []bool{false, false, false, false}; !slices.Equal(got, want) {
		t.Errorf("after prefault(2 MiB - 4 KiB): huge pages backed %v, want %v", got, want)
	}
	s.prefault(3 << 20) // reaches into the second huge page
	s.helper.Wait()
	if got, want := residentHugePages(t, slab), []bool{false, true, false, false}; !slices.Equal(got, want) {
		t.Errorf("after prefault(3 MiB): huge pages backed %v, want %v", got, want)
	}
	// Past half of the first huge page: the second is prepared already, nothing more is asked.
	s.take(hugePage / 2)
	s.prefault(0) // asking for nothing prepares nothing
	s.helper.Wait()
	if got, want := residentHugePages(t, slab), []bool{false, true, false, false}; !slices.Equal(got, want) {
		t.Errorf("after filling half the first huge page: huge pages backed %v, want %v", got, want)
	}
	// After a mark, what is taken is handed out again: past half of the second, nothing is asked.
	m := s.mark()
	s.take(hugePage)
	s.helper.Wait()
	if got, want := residentHugePages(t, slab), []bool{false, true, false, false}; !slices.Equal(got, want) {
		t.Errorf("after filling half the second huge page since a mark: huge pages backed %v, want %v", got, want)
	}
	s.rewind(m)
	// Past half of the third, which was not prepared: the fourth is asked for.
	s.take(2 * hugePage)
	s.helper.Wait()
	if got, want := residentHugePages(t, slab), []bool{false, true, false, true}; !slices.Equal(got, want) {
		t.Errorf("after filling half the third huge page: huge pages backed %v, want %v", got, want)
	}
	s.releaseAll()
	if err := mincore(slab[:4096], make([]byte, 1)); !errors.Is(err, unix.ENOMEM) {
		t.Errorf("after release, mincore on the slab: %v, want ENOMEM (unmapped)", err)
	}
}

// mincore reports in vec which pages of b are backed by memory (mincore(2)).
func mincore(b, vec []byte) error {
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
		uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		return errno
	}
	return nil
}

// TestSlabsRewind checks that rewinding hands out again the memory taken since the mark: from
// where the mark stood in the same slab, or from the start of a slab made since.
func TestSlabsRewind(t *testing.T) {
	var s slabs
	s.take(len(s.get(PageSize)))
	m := s.mark()
	at := &s.get(PageSize)[0]
	s.take(PageSize)
	s.rewind(m)
	if got := &s.get(PageSize)[0]; got != at {
		t.Errorf("same slab: rewound to %p, want %p", got, at)
	}
	b := s.get(slabSize) // does not fit what is left: a new slab
	start := &b[0]
	s.take(len(b) - PageSize)
	s.take(len(s.get(PageSize)))
	s.rewind(m)
	if got := &s.get(PageSize)[0]; got != start {
		t.Errorf("slab made since the mark: rewound to %p, want its start %p", got, start)
	}
	s.releaseAll()
}

// TestSlabsRecycle checks that recycling hands the slabs out again from the first, that it gives
// back the huge pages of a slab beyond those handed out, that memory written before is not
// prepared again, and that slabs a round did not use are unmapped by the recycle that follows.
func TestSlabsRecycle(t *testing.T) {
	var s slabs
	first := s.get(PageSize)
	if s.onHeap() {
		t.Fatal("no slab could be mapped")
	}
	slab1 := s.free
	slab1[0], slab1[hugePage] = 1, 1 // as copies would
	s.take(hugePage + hugePage/2)    // half the second huge page filled: the third is prepared
	s.helper.Wait()
	s.get(slabSize) // does not fit what is left: a second slab
	slab2 := s.free
	s.take(PageSize)
	s.recycle()
	// The third huge page was prepared but not handed out: the recycle gives it back.
	if got, want := residentHugePages(t, slab1), []bool{true, true, false, false}; !slices.Equal(got, want) {
		t.Errorf("after recycle: huge pages backed %v, want %v", got, want)
	}

	if got := s.get(PageSize); &got[0] != &first[0] {
		t.Fatalf("after recycle: first copy at %p, want the first slab's start %p", &got[0], &first[0])
	}
	// The first two huge pages were written: asking for three prepares the third alone.
	if got, want := s.prepared, uintptr(unsafe.Pointer(&slab1[0]))+2*hugePage; got != want {
		t.Errorf("a slab handed out again: prepared up to %#x, want %#x (what was written)", got, want)
	}
	s.prefault(3 * hugePage)
	s.helper.Wait()
	if got, want := residentHugePages(t, slab1), []bool{true, true, true, false}; !slices.Equal(got, want) {
		t.Errorf("after prefault(6 MiB): huge pages backed %v, want %v", got, want)
	}
	s.prefault(4 * hugePage)
	s.helper.Wait()
	if got, want := residentHugePages(t, slab1), []bool{true, true, true, true}; !slices.Equal(got, want) {
		t.Errorf("after prefault(8 MiB): huge pages backed %v, want %v", got, want)
	}
	// This round uses the first slab only: the next recycle unmaps the second.
	s.recycle()
	if err := mincore(slab2[:PageSize], make([]byte, 1)); !errors.Is(err, unix.ENOMEM) {
		t.Errorf("second slab after a round without it: mincore %v, want ENOMEM (unmapped)", err)
	}
	if err := mincore(slab1[:PageSize], make([]byte, 1)); err != nil {
		t.Errorf("first slab after a round with it: mincore %v, want it mapped", err)
	}
	s.releaseAll()
	if err := mincore(slab1[:PageSize], make([]byte, 1)); !errors.Is(err, unix.ENOMEM) {
		t.Errorf("after release, mincore on the first slab: %v, want ENOMEM (unmapped)", err)
	}
}
