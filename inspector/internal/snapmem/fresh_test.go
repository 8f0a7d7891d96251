package snapmem

import "testing"

// TestRecordAndRefresh: the pages read while recording, and only those, are copied again, in
// place and together, by RefreshRecorded.
func TestRecordAndRefresh(t *testing.T) {
	mem := newFakeMemory()
	a, b, other := uint64(0x100000), uint64(0x300000), uint64(0x500000)
	for _, p := range []uint64{a, b, other} {
		mem.write(p, []byte("old"))
	}
	c := New(mem)
	defer c.Release()
	r := c.Reader()
	vo, _ := r.Read(other, 3)
	c.Record()
	va, _ := r.Read(a, 3)
	vb, _ := r.Read(b, 3)
	for _, p := range []uint64{a, b, other} {
		mem.write(p, []byte("new"))
	}
	reads := c.Reads()
	if err := c.RefreshRecorded(); err != nil {
		t.Fatal(err)
	}
	if string(va) != "new" || string(vb) != "new" || string(vo) != "old" {
		t.Errorf("after RefreshRecorded: recorded %q %q, not recorded %q; want new new old", va, vb, vo)
	}
	if c.Reads()-reads != 1 {
		t.Errorf("RefreshRecorded made %d reads, want 1 for both pages", c.Reads()-reads)
	}
	if c.epochOf(a) != c.epochOf(b) {
		t.Error("pages refreshed together have different epochs")
	}
	// Recording has ended: later reads are not recorded.
	r.Read(other+8, 3)
	if len(c.recorded) != 2 {
		t.Errorf("recorded %#x after the refresh", c.recorded)
	}
}

// TestRefreshAllAndReadNow: RefreshAll copies every span's pages in place, together; ReadNow sees
// the target as it is, without touching the copies.
func TestRefreshAllAndReadNow(t *testing.T) {
	mem := newFakeMemory()
	a, b := uint64(0x100000), uint64(0x100000+PageSize-4) // b spans two pages
	mem.write(a, []byte("old"))
	mem.write(b, []byte("oldold"))
	c := New(mem)
	defer c.Release()
	va, _ := c.Reader().Read(a, 3)
	mem.write(a, []byte("new"))
	mem.write(b, []byte("newnew"))
	var now [3]byte
	if err := c.ReadNow(now[:], a); err != nil || string(now[:]) != "new" || string(va) != "old" {
		t.Fatalf("ReadNow = %q, %v; copy %q", now, err, va)
	}
	if err := c.RefreshAll([]Span{{a, 3}, {b, 6}, {0, 0}}); err != nil {
		t.Fatal(err)
	}
	vb, _ := c.Reader().Read(b, 6)
	if string(va) != "new" || string(vb) != "newnew" {
		t.Errorf("after RefreshAll: %q %q", va, vb)
	}
	if c.epochOf(a) != c.epochOf(b+PageSize) {
		t.Error("spans refreshed together have different epochs")
	}
}
