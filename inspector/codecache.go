package inspector

import (
	"encoding/binary"

	"github.com/aioscope/aioscope/cpython"
)

// codeMeta is what a frame needs from its code object.
type codeMeta struct {
	qualname, filename string
	linetable          []byte // nil when unreadable or larger than CPython's readers accept
	firstLine          int
	// The code object's own pointers and first line: a cached entry is reused only while they
	// are unchanged, so an address reused by another code object is never mistaken for the old.
	key [4]uint64
	// Decoded locations by instruction: thousands of tasks usually wait at the same few
	// instructions, and decoding walks the line table from its start.
	locations map[int]locationResult
	lastAddrq int // the location asked for last, ahead of the map
	last      locationResult
}

type locationResult struct {
	loc cpython.Location
	ok  bool
}

// location returns the source location of the instruction at code unit addrq.
func (m *codeMeta) location(addrq int) (cpython.Location, bool) {
	if m.locations != nil && m.lastAddrq == addrq {
		return m.last.loc, m.last.ok
	}
	if r, ok := m.locations[addrq]; ok {
		m.lastAddrq, m.last = addrq, r
		return r.loc, r.ok
	}
	loc, ok := cpython.FindLocation(m.linetable, m.firstLine, addrq)
	if m.locations == nil {
		m.locations = map[int]locationResult{}
	}
	m.locations[addrq] = locationResult{loc, ok}
	m.lastAddrq, m.last = addrq, locationResult{loc, ok}
	return loc, ok
}

// codeCache keeps decoded code objects across the snapshots of one Process. The interpreter
// bumps its code-object generation when code objects go away; the cache is dropped then.
type codeCache struct {
	gen   uint64
	valid bool
	m     map[uint64]*codeMeta
}

func (c *codeCache) reset(gen uint64) {
	if !c.valid || c.gen != gen || c.m == nil {
		c.gen, c.valid, c.m = gen, true, map[uint64]*codeMeta{}
	}
}

// code returns the metadata of the code object at addr.
func (w *walker) code(addr uint64) (*codeMeta, error) {
	// A frame holds a reference to its code object, so the code object a frame of this
	// snapshot led to stays where it is while the snapshot is taken: once checked, it is not
	// read again for every frame that runs it.
	if m := w.recentCodes.get(addr); m != nil {
		return m, nil
	}
	m, err := w.readCode(addr)
	if err == nil {
		w.recentCodes.put(addr, m)
	}
	return m, err
}

// readCode reads the code object at addr, or takes it from the cache of earlier snapshots while
// its fields are unchanged.
func (w *walker) readCode(addr uint64) (*codeMeta, error) {
	defer w.restoreFloor(w.anyAge())
	co := &w.o.CodeObject
	cb, err := w.mem.view(addr, int(co.Size))
	if err != nil {
		return nil, err
	}
	key := [4]uint64{
		le64(cb, co.Qualname) &^ w.l.TagBits,
		le64(cb, co.Filename) &^ w.l.TagBits,
		le64(cb, co.Linetable) &^ w.l.TagBits,
		uint64(binary.LittleEndian.Uint32(cb[co.FirstLineNo:])),
	}
	cache := &w.p.codes
	if m, ok := cache.m[addr]; ok && m.key == key {
		return m, nil
	}
	m := &codeMeta{key: key, firstLine: int(int32(key[3]))}
	if m.qualname, err = w.str(key[0], w.l.MaxStringLen); err != nil {
		return nil, err
	}
	if m.filename, err = w.str(key[1], w.l.MaxStringLen); err != nil {
		return nil, err
	}
	if m.linetable, err = w.bytesObject(key[2], w.l.MaxLinetableBytes); err != nil {
		return nil, err
	}
	if cache.m != nil {
		cache.m[addr] = m
	}
	return m, nil
}

// bytesObject copies the contents of a bytes object, or returns nil if it is longer than max.
func (w *walker) bytesObject(obj uint64, maxLen int) ([]byte, error) {
	if obj == 0 {
		return nil, nil
	}
	bo := &w.o.BytesObject
	n, err := w.u64(obj + bo.ObSize)
	if err != nil {
		return nil, err
	}
	if int64(n) < 0 || n > uint64(maxLen) {
		return nil, nil
	}
	data, err := w.mem.view(obj+bo.ObSval, int(n))
	if err != nil {
		return nil, err
	}
	// The view may alias this snapshot's page copies; the cache outlives them.
	return append([]byte(nil), data...), nil
}
