package snapmem

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

// fakeMemory is a sparse address space of pages for tests. Reads of unmapped bytes fail the way
// process_vm_readv does: with a *ReadError.
type fakeMemory struct {
	pages map[uint64][]byte
	reads int
}

func newFakeMemory() *fakeMemory { return &fakeMemory{pages: map[uint64][]byte{}} }

func (m *fakeMemory) write(addr uint64, data []byte) {
	for i, b := range data {
		a := addr + uint64(i)
		p := a &^ (PageSize - 1)
		if m.pages[p] == nil {
			m.pages[p] = make([]byte, PageSize)
		}
		m.pages[p][a-p] = b
	}
}

func (m *fakeMemory) ReadAt(p []byte, addr uint64) error {
	m.reads++
	for i := range p {
		a := addr + uint64(i)
		page, ok := m.pages[a&^(PageSize-1)]
		if !ok {
			return &ReadError{Addr: a, Len: len(p) - i, Err: errors.New("unmapped")}
		}
		p[i] = page[a&(PageSize-1)]
	}
	return nil
}

func TestPageCacheServesConsistentCopies(t *testing.T) {
	mem := newFakeMemory()
	base := uint64(0x10000)
	want := bytes.Repeat([]byte("0123456789abcdef"), 3*PageSize/16)
	mem.write(base, want)
	c := New(mem)

	// A read spanning three pages.
	got := make([]byte, len(want)-10)
	if err := c.Reader().ReadInto(got, base+5); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want[5:len(want)-5]) {
		t.Fatal("cross-page read returned wrong bytes")
	}
	// The target changes; the snapshot must keep seeing its first copy.
	mem.write(base+100, []byte("CHANGED"))
	v, err := c.Reader().Read(base+100, 7)
	if err != nil {
		t.Fatal(err)
	}
	if string(v) != string(want[100:107]) {
		t.Fatalf("cached page changed within a snapshot: %q", v)
	}
	reads := mem.reads
	for i := 0; i < 100; i++ {
		if _, err := c.Reader().Read(base+uint64(i*8), 8); err != nil {
			t.Fatal(err)
		}
	}
	if mem.reads != reads {
		t.Errorf("cached reads went to memory %d times", mem.reads-reads)
	}
}

func TestPageCachePartlyUnmappedBlock(t *testing.T) {
	mem := newFakeMemory()
	// One mapped page in the middle of an otherwise unmapped cache block.
	addr := uint64(cacheBlock*4 + PageSize)
	mem.write(addr, []byte("hello"))
	c := New(mem)
	v, err := c.Reader().Read(addr, 5)
	if err != nil || string(v) != "hello" {
		t.Fatalf("view = %q, %v", v, err)
	}
	if _, err := c.Reader().Read(addr+PageSize, 1); err == nil {
		t.Fatal("read of an unmapped page succeeded")
	} else if !unreadable(err) {
		t.Fatalf("unmapped read error %v does not say the memory is unreadable", err)
	}
	// A read that straddles the mapped page and an unmapped one fails.
	if err := c.Reader().ReadInto(make([]byte, 16), addr+PageSize-8-5); err == nil {
		t.Fatal("straddling read succeeded")
	}
}

func TestPageCacheRejectsImplausibleReads(t *testing.T) {
	c := New(newFakeMemory())
	if _, err := c.Reader().Read(^uint64(0)-3, 8); err == nil {
		t.Error("wrapping read succeeded")
	}
	if _, err := c.Reader().Read(0x1000, MaxRead+1); err == nil {
		t.Error("huge read succeeded")
	}
	if _, err := c.Reader().Read(0x1000, -1); err == nil {
		t.Error("negative read succeeded")
	}
}

// TestPageCacheSameMoment: an object spanning two pages copied at different moments is read from
// copies taken together, not half from each moment.
func TestPageCacheSameMoment(t *testing.T) {
	mem := newFakeMemory()
	base := uint64(0x40000)
	mem.write(base, bytes.Repeat([]byte("a"), 2*PageSize))
	c := New(mem)
	if _, err := c.Reader().Read(base, 8); err != nil { // the first block, both pages, at one moment
		t.Fatal(err)
	}
	c.Refresh(base+PageSize, 8)                    // the second page again, alone, later
	mem.write(base+PageSize-4, []byte("bbbbbbbb")) // an object across the boundary changes
	if err := c.Refresh(base, 8); err != nil {     // the first page sees the change, the second not
		t.Fatal(err)
	}
	got, err := c.Reader().Read(base+PageSize-4, 8)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "bbbbbbbb" {
		t.Errorf("straddling read = %q, want both halves from one moment", got)
	}
}

// TestPageCacheFloor: under a Reader's floor, a page copied before it is copied again before use.
func TestPageCacheFloor(t *testing.T) {
	mem := newFakeMemory()
	old, newer := uint64(0x80000), uint64(0x100000)
	mem.write(old, []byte("old"))
	mem.write(newer, []byte("new"))
	c := New(mem)
	if _, err := c.Reader().Read(old, 3); err != nil {
		t.Fatal(err)
	}
	mem.write(old, []byte("NEW")) // made after the copy
	if _, err := c.Reader().Read(newer, 3); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Reader().Read(old, 3); string(v) != "old" {
		t.Fatalf("without a floor the first copy is kept: %q", v)
	}
	_, r, err := c.Reader().Object(newer, 3)
	if err != nil || r.Floor() != c.epochOf(newer) {
		t.Fatalf("Object: floor %d, %v; want the epoch of its copy, %d", r.Floor(), err, c.epochOf(newer))
	}
	if v, _ := r.Read(old, 3); string(v) != "NEW" {
		t.Errorf("under a floor newer than its copy, the page reads %q, want a fresh copy", v)
	}
	if c.epochOf(old) < r.Floor() {
		t.Errorf("page epoch %d still below the floor %d", c.epochOf(old), r.Floor())
	}
}

// TestCopyPagesUnreadableInTheMiddle: one page that cannot be read does not stop the pages after
// it from being copied, and is marked unreadable.
func TestCopyPagesUnreadableInTheMiddle(t *testing.T) {
	mem := newFakeMemory()
	base := uint64(0x200000)
	mem.write(base, []byte("p0"))
	mem.write(base+2*PageSize, []byte("p2"))
	mem.write(base+7*PageSize, []byte("p7"))
	c := New(mem)
	if err := c.copyPages([]uint64{base, base + PageSize, base + 2*PageSize, base + 7*PageSize}, keepCopies); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		addr uint64
		want string
	}{{base, "p0"}, {base + 2*PageSize, "p2"}, {base + 7*PageSize, "p7"}} {
		r := c.region(tc.addr)
		data := r.pages[(tc.addr>>12)%pagesPerRegion]
		if data == nil || string(data[:2]) != tc.want {
			t.Errorf("page 0x%x not copied", tc.addr)
		}
	}
	if r := c.region(base + PageSize); !r.unreadable[((base+PageSize)>>12)%pagesPerRegion] {
		t.Error("the unmapped page is not marked unreadable")
	}
}

// TestCopyPagesModes: replacing gives a page new memory, so views taken before keep their data;
// overwriting copies into the memory it had.
func TestCopyPagesModes(t *testing.T) {
	mem := newFakeMemory()
	addr := uint64(0x300000)
	mem.write(addr, []byte("one"))
	c := New(mem)
	before, err := c.Reader().Read(addr, 3)
	if err != nil {
		t.Fatal(err)
	}
	mem.write(addr, []byte("two"))
	if err := c.copyPages([]uint64{addr}, replaceCopies); err != nil {
		t.Fatal(err)
	}
	c.lastAddr = ^uint64(0)
	after, _ := c.Reader().Read(addr, 3)
	if string(before) != "one" || string(after) != "two" {
		t.Errorf("replace: earlier view %q, new view %q; want one, two", before, after)
	}
	mem.write(addr, []byte("333"))
	if err := c.copyPages([]uint64{addr}, overwriteCopies); err != nil {
		t.Fatal(err)
	}
	if string(after) != "333" {
		t.Errorf("overwrite did not copy in place: the earlier view reads %q", after)
	}
}

func TestPageCachePeekAndMissing(t *testing.T) {
	mem := newFakeMemory()
	base := uint64(0x40000)
	want := bytes.Repeat([]byte("peek"), 2*PageSize/4)
	mem.write(base, want)
	mem.write(base+4*PageSize, []byte("far"))
	c := New(mem)
	scratch := make([]byte, 64)

	// Nothing is cached yet: peek reads nothing, and every page is missing.
	if _, ok := c.Peek(base+10, 8, scratch); ok {
		t.Fatal("peek of an uncached page succeeded")
	}
	if got := c.appendMissing(nil, base+PageSize-8, 16); len(got) != 2 || got[0] != base || got[1] != base+PageSize {
		t.Fatalf("appendMissing = %#x, want both pages", got)
	}
	if mem.reads != 0 {
		t.Fatalf("peek and appendMissing read the target %d times", mem.reads)
	}

	if err := c.Load([]uint64{base, base + PageSize, base + 2*PageSize}); err != nil {
		t.Fatal(err)
	}
	// Within a page: an alias; across two: a copy into scratch; bigger than scratch: refused.
	if b, ok := c.Peek(base+10, 8, scratch); !ok || !bytes.Equal(b, want[10:18]) {
		t.Fatalf("peek within a page = %q, %v", b, ok)
	}
	if b, ok := c.Peek(base+PageSize-8, 16, scratch); !ok || !bytes.Equal(b, want[PageSize-8:PageSize+8]) {
		t.Fatalf("peek across pages = %q, %v", b, ok)
	}
	if _, ok := c.Peek(base+PageSize-8, 128, scratch); ok {
		t.Fatal("peek across pages larger than scratch succeeded")
	}
	for _, n := range []int{0, -1, MaxRead + 1} {
		if _, ok := c.Peek(base, n, scratch); ok {
			t.Fatalf("peek of %d bytes succeeded", n)
		}
	}
	// The third page is unmapped: marked unreadable, so it is not asked for again.
	if got := c.appendMissing(nil, base, 4*PageSize); len(got) != 1 || got[0] != base+3*PageSize {
		t.Fatalf("appendMissing after prefetch = %#x, want only the never-copied page", got)
	}
	if got := c.appendMissing(nil, ^uint64(0)-8, 16); len(got) != 0 {
		t.Fatalf("appendMissing of a wrapping range = %#x", got)
	}
	// The last page of the address space: one page, and the loop ends.
	if got := c.appendMissing(nil, ^uint64(0)-15, 8); len(got) != 1 || got[0] != ^uint64(0)&^(PageSize-1) {
		t.Fatalf("appendMissing at the top of the address space = %#x", got)
	}
}

// TestPageCacheRecycleCopies checks that recycleCopies drops exactly the copies made since
// markCopies — fetched, prefetched or taken again — keeps older ones, even those refreshed in
// place meanwhile, and hands the dropped copies' memory to the next copies.
func TestPageCacheRecycleCopies(t *testing.T) {
	mem := newFakeMemory()
	kept, replaced := uint64(0x100000), uint64(0x108000)
	fetched, prefetched := uint64(0x200000), uint64(0x300000)
	for _, a := range []uint64{kept, replaced, fetched, fetched + PageSize, prefetched} {
		mem.write(a, []byte("old"))
	}
	c := New(mem)
	keptView, err := c.Reader().Read(kept, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Reader().Read(replaced, 3); err != nil {
		t.Fatal(err)
	}

	c.BeginBatch()
	first, err := c.Reader().Read(fetched, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Load([]uint64{prefetched}); err != nil {
		t.Fatal(err)
	}
	if err := c.copyPages([]uint64{replaced}, replaceCopies); err != nil {
		t.Fatal(err)
	}
	mem.write(kept, []byte("new"))
	if err := c.Refresh(kept, 3); err != nil {
		t.Fatal(err)
	}
	c.EndBatch()

	for _, a := range []uint64{fetched, fetched + PageSize, prefetched, replaced} {
		if !c.missing(a) {
			t.Errorf("page %#x copied after the mark is still cached", a)
		}
	}
	if c.missing(kept) || string(keptView) != "new" {
		t.Errorf("page copied before the mark: missing %v, view %q; want kept, refreshed in place", c.missing(kept), keptView)
	}
	if !slices.Contains(c.Footprint(), fetched) {
		t.Error("a dropped page is no longer reported as used")
	}
	// The next copy goes where the first one since the mark went, and reads what is there now.
	mem.write(fetched, []byte("new"))
	again, err := c.Reader().Read(fetched, 3)
	if err != nil {
		t.Fatal(err)
	}
	if &again[0] != &first[0] || string(again) != "new" {
		t.Errorf("copy after recycling: %q at %p, want \"new\" at %p", again, &again[0], &first[0])
	}
}

// TestLightCacheReset: a light cache copies a page at a time; after Reset it sees the target as
// it is then, in the memory it had before.
func TestLightCacheReset(t *testing.T) {
	mem := newFakeMemory()
	base := uint64(0x40000)
	mem.write(base, []byte("old"))
	mem.write(base+PageSize, []byte("next"))
	c := NewLight(mem)
	defer c.Release()
	v, err := c.Reader().Read(base, 3)
	if err != nil || string(v) != "old" {
		t.Fatalf("read %q, %v", v, err)
	}
	if !c.missing(base + PageSize) {
		t.Error("a light cache copied the page after the one read")
	}
	first := &v[0]
	mem.write(base, []byte("new"))
	c.Reset()
	v, err = c.Reader().Read(base, 3)
	if err != nil || string(v) != "new" {
		t.Fatalf("after Reset: read %q, %v", v, err)
	}
	if &v[0] != first {
		t.Error("after Reset the copy went to new memory")
	}
}
