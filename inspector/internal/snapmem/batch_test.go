package snapmem

import (
	"encoding/binary"
	"slices"
	"testing"
)

// TestWantQueuesPagesOnce checks that objects visited in turn on a few pages queue each page
// once, and that objects spanning pages queue all of theirs.
func TestWantQueuesPagesOnce(t *testing.T) {
	pf := &prefetcher{c: New(nil)}
	for i := uint64(0); i < 100; i++ {
		pf.want(Object{Addr: 0x10000 + 16*i, Size: 16})              // names, all on one page
		pf.want(Object{Addr: 0x20000 + 0x1000*(i%3) + 64, Size: 64}) // coroutines, on three
	}
	pf.want(Object{Addr: 0x30ff0, Size: 32}) // spans 0x30000 and 0x31000
	want := []uint64{0x10000, 0x20000, 0x21000, 0x22000, 0x30000, 0x31000}
	got := slices.Sorted(slices.Values(pf.pages))
	if !slices.Equal(got, want) {
		t.Errorf("queued %#x, want %#x", got, want)
	}
}

// TestPrefetchFollowsLevels builds linked objects far apart — each holds the address of the
// next — and checks that Prefetch copies the whole chain, a level per vectored read, following
// only what the referents function names, and that the walk then reads nothing more.
func TestPrefetchFollowsLevels(t *testing.T) {
	mem := newFakeMemory()
	const n = 6
	var addrs [n]uint64
	for i := range addrs {
		addrs[i] = uint64(0x100000 * (i + 1)) // a region each: no fetch block covers two
	}
	for i, a := range addrs {
		var b [16]byte
		if i+1 < n {
			binary.LittleEndian.PutUint64(b[:], addrs[i+1])
		}
		b[8] = 1 // kind of what it refers to: 1 = follow on
		mem.write(a, b[:])
	}
	const node uint8 = 1
	refs := func(dst []Object, o Object, b []byte) []Object {
		if o.Kind != node {
			t.Errorf("asked about an object of kind %d", o.Kind)
		}
		if next := binary.LittleEndian.Uint64(b); next != 0 {
			dst = append(dst, Object{Addr: next, Size: 16, Kind: b[8]})
		}
		return dst
	}
	c := New(mem)
	defer c.Release()
	if err := c.Prefetch([]Object{{Addr: addrs[0], Size: 16, Kind: node}}, refs); err != nil {
		t.Fatal(err)
	}
	if c.Reads() != n {
		t.Errorf("prefetch of a chain of %d objects made %d reads, want one a level", n, c.Reads())
	}
	reads := mem.reads
	for _, a := range addrs {
		if _, err := c.Reader().Read(a, 16); err != nil {
			t.Fatal(err)
		}
	}
	if mem.reads != reads {
		t.Errorf("reading the prefetched chain went to memory %d times", mem.reads-reads)
	}
}

// TestBatchDropsItsCopies: what a batch copied is dropped at its end; what was copied before is
// kept.
func TestBatchDropsItsCopies(t *testing.T) {
	mem := newFakeMemory()
	before, during := uint64(0x100000), uint64(0x200000)
	mem.write(before, []byte("a"))
	mem.write(during, []byte("b"))
	c := New(mem)
	defer c.Release()
	if _, err := c.Reader().Read(before, 1); err != nil {
		t.Fatal(err)
	}
	c.BeginBatch()
	if _, err := c.Reader().Read(during, 1); err != nil {
		t.Fatal(err)
	}
	c.EndBatch()
	if c.missing(before) || !c.missing(during) {
		t.Errorf("after the batch: page copied before missing=%v, page copied during missing=%v", c.missing(before), c.missing(during))
	}
}
