package inspector

import (
	"encoding/binary"

	"github.com/aioscope/aioscope/cpython"
	"github.com/aioscope/aioscope/snapshot"
)

// frame decodes one _PyInterpreterFrame. ok is false for frames that are not Python code
// (entry frames owned by the interpreter or the C stack, or a frame being torn down).
func (w *walker) frame(fb []byte) (snapshot.Frame, bool, error) {
	o := &w.o.InterpreterFrame
	code := le64(fb, o.Executable) &^ w.l.TagBits
	owner := int(fb[o.Owner])
	if code == 0 || w.l.IsFrameOwnerSkipped(owner) {
		return snapshot.Frame{}, false, nil
	}
	// Live frames belong to a thread (0) or a generator; a frame handed to a frame object has
	// left the stack and cannot be on a live chain.
	if owner > w.l.FrameOwnerGenerator {
		return snapshot.Frame{}, false, inconsistent("unhandled frame owner %d", owner)
	}
	meta, err := w.code(code)
	if err != nil {
		return snapshot.Frame{}, false, err
	}
	f := snapshot.Frame{Function: meta.qualname, File: meta.filename, EndLine: -1, Column: -1, EndColumn: -1}
	if meta.linetable == nil {
		return f, true, nil
	}
	f.HasLine, f.Line = true, -1
	if addrq, ok := cpython.CodeUnitIndex(le64(fb, o.InstrPtr), code+w.o.CodeObject.CoCodeAdaptive); ok {
		if loc, ok := meta.location(addrq); ok {
			f.Line, f.EndLine, f.Column, f.EndColumn = loc.Line, loc.EndLine, loc.Column, loc.EndColumn
		}
	}
	return f, true, nil
}

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

// recentCodes keeps the code objects a snapshot met last, ahead of the Process's cache: a frame
// holds a reference to its code object, so the code object a frame of this snapshot led to stays
// where it is while the snapshot is taken, and once checked it is not read again for every frame
// that runs it.
type recentCodes = addrCache[codeMeta]

// code returns the metadata of the code object at addr.
func (w *walker) code(addr uint64) (*codeMeta, error) {
	if m := w.codes.get(addr); m != nil {
		return m, nil
	}
	if m, ok := w.p.codes.m[addr]; ok && w.trustCodes {
		return m, nil
	}
	m, err := w.readCode(addr)
	if err == nil {
		w.codes.put(addr, m)
	}
	return m, err
}

// readCode reads the code object at addr, or takes it from the cache of earlier snapshots while
// its fields are unchanged. Code objects are checked that way rather than by the age of their copy.
func (w *walker) readCode(addr uint64) (*codeMeta, error) {
	co := &w.o.CodeObject
	cb, err := w.any.Read(addr, int(co.Size))
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
	if m.qualname, err = w.str(w.any, key[0], w.l.MaxStringLen); err != nil {
		return nil, err
	}
	if m.filename, err = w.str(w.any, key[1], w.l.MaxStringLen); err != nil {
		return nil, err
	}
	if m.linetable, err = w.bytesObject(w.any, key[2], w.l.MaxLinetableBytes); err != nil {
		return nil, err
	}
	if cache.m != nil {
		cache.m[addr] = m
	}
	return m, nil
}
