package values

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Bounds on single reads: an object header is a few hundred bytes; the largest reads are a
// page of container items and the digits of a big int.
const (
	maxRead      = 1 << 20
	pageSize     = 4096
	maxCString   = 256 // tp_name, ml_name
	checkEvery   = 32  // reads between looks at the clock
	maxMRO       = 64  // classes in one MRO
	maxMembers   = 256 // __slots__ of one class
	chunkEntries = 128 // dict entries, set slots and list items read at once
	rootSpan     = 128 // reads this close after the address asked about read the object itself
	recentBits   = 6   // a request keeps 1<<recentBits types at hand
	// maxScan bounds the entries or slots one walk of a dict or set visits: enough to page
	// through a dict of millions of items, not to loop on a garbage size.
	maxScan = 1 << 26
)

// req is the state of one request: its deadline, the types read so far, and the objects whose
// repr is being written (for Python's recursion markers).
type req struct {
	r        *Reader
	k        *known
	deadline time.Time
	reads    int
	checked  int // reads at the last look at the clock
	expired  bool
	// The types met last, by a hash of their address, ahead of every other place types are
	// found (typ); kept from request to request of one moment.
	recent     [1 << recentBits]*typeInfo
	codes      [1 << recentBits]*codeLocals // the same for code objects
	moment     *moment                      // the moment of the reader recent and codes were filled for
	path       map[uint64]bool
	root       uint64       // the address the caller asked about
	heads      [8]headEntry // the first bytes of the objects read last
	nextHead   int
	out        []byte
	fastLocals []byte    // the fast locals of the frame being read (frameInfo.slots)
	fi         frameInfo // the frame being read (frame)
	// The bytes of the frame being read and around it (frameBytes), from frameWinAddr.
	frameWin     []byte
	frameWinAddr uint64
	// The types of the variables variables listed last, 0 where unknown; lastType is the type
	// of the value rendered last.
	varTypes []uint64
	lastType uint64
	stack    []byte // a frame's value stack (frameDeadline)
	// valueAddr is the object value renders; byTypeEnd is the length of the output when it
	// held that object's default repr and nothing else (-1: it did not).
	valueAddr uint64
	byTypeEnd int
	trunc     bool // something was cut off the current repr
	inexact   bool // the current repr is not what repr() would return
	static    bool // reads are of what lives as long as the program (Reader.static)
}

// newReq starts a request about the object at root. The caller ends it with release.
func (r *Reader) newReq(root uint64) (*req, error) {
	k, err := r.resolveKnown()
	if err != nil {
		return nil, err
	}
	var q *req
	if r.moment != nil {
		q, r.moment.idle = r.moment.idle, nil
	}
	if q == nil {
		q, _ = r.kinds.reqs.Get().(*req)
	}
	if q == nil {
		q = &req{path: map[uint64]bool{}}
	}
	if q.moment == nil || q.moment != r.moment {
		// The types a request of the same moment met last hold for this one too.
		q.recent, q.codes = [len(q.recent)]*typeInfo{}, [len(q.codes)]*codeLocals{}
	}
	// The deadline is set at the first look at the clock (timeUp), a few reads in: most
	// requests are over before that.
	q.r, q.k, q.root, q.deadline, q.moment = r, k, root, time.Time{}, r.moment
	return q, nil
}

// objectReq starts a request about the object at addr (see newReq) and reads its type.
func (r *Reader) objectReq(addr uint64) (*req, *typeInfo, error) {
	q, err := r.newReq(addr)
	if err != nil {
		return nil, nil, err
	}
	t, err := q.typeOf(addr)
	if err != nil {
		return nil, nil, err
	}
	return q, t, nil
}

// release ends a request; nothing it returned may refer to its buffers. Requests are reused:
// a snapshot of thousands of frames makes one request each.
func (q *req) release() {
	out, path, slots := q.out[:0], q.path, q.fastLocals[:0]
	if cap(out) > 64<<10 {
		out = nil // a big repr's buffer is not kept for every small one after it
	}
	if cap(slots) > 64<<10 {
		slots = nil
	}
	clear(path)
	kinds := q.r.kinds
	// Field by field: the heads and the types at hand are overwritten before they are used
	// (newReq clears the types when the moment changes), and copying the whole struct would
	// cost more than the request.
	q.out, q.path, q.fastLocals = out, path, slots
	q.frameWin, q.frameWinAddr = q.frameWin[:0], 0
	q.r, q.k, q.reads, q.checked, q.expired, q.root = nil, nil, 0, 0, false, 0
	q.trunc, q.inexact, q.static, q.valueAddr, q.byTypeEnd = false, false, false, 0, 0
	for i := range q.heads {
		q.heads[i].addr, q.heads[i].n = 0, 0
	}
	if m := q.moment; m != nil && m.idle == nil {
		m.idle = q // kept for the moment's next request, with the types it has at hand
		return
	}
	kinds.reqs.Put(q)
}

// timeUp reports whether the request's budget is spent. It looks at the clock every few reads.
func (q *req) timeUp() bool {
	if !q.expired && q.reads-q.checked >= checkEvery {
		q.checked = q.reads
		now := time.Now()
		if q.deadline.IsZero() {
			q.deadline = now.Add(q.r.lim.Budget)
		}
		q.expired = now.After(q.deadline)
	}
	return q.expired
}

// errNull is a NULL pointer where an object was expected.
var errNull = errors.New("NULL pointer")

// read returns n bytes at addr, valid until the next read.
func (q *req) read(addr uint64, n int) ([]byte, error) {
	if addr == 0 {
		return nil, changed(0, "%v", errNull)
	}
	if n < 0 || n > maxRead || addr+uint64(n) < addr {
		return nil, changed(addr, "a read of %d bytes", n)
	}
	if n == 0 {
		return nil, nil
	}
	// Part of an object read a moment ago comes from the bytes read of it.
	for i := range q.heads {
		if e := &q.heads[i]; addr-e.addr < uint64(e.n) && addr-e.addr+uint64(n) <= uint64(e.n) && e.addr != 0 {
			off := addr - e.addr
			return e.buf[off : off+uint64(n) : off+uint64(n)], nil
		}
	}
	// Reads keep working past the deadline, so that a repr under way can close its brackets;
	// the loops that add items stop at timeUp.
	q.reads++
	mem := q.r.mem
	if q.static && q.r.static != nil {
		mem = q.r.static
	}
	b, err := mem.Read(addr, n)
	if err != nil {
		if addr-q.root < rootSpan {
			// The address the caller gave is not readable.
			return nil, fmt.Errorf("reading %d bytes at 0x%x: %w", n, addr, err)
		}
		// A pointer found in the target led there.
		return nil, &ChangedError{Addr: q.root, What: fmt.Sprintf("reading %d bytes at 0x%x: %v", n, addr, err), Err: err}
	}
	if len(b) < n {
		return nil, fmt.Errorf("reading %d bytes at 0x%x: short read of %d", n, addr, len(b))
	}
	return b[:n], nil
}

// headSize is how many bytes of an object are read at once: its header and, for most small
// objects (ints, floats, short strings, small tuples), its whole value.
const headSize = 128

type headEntry struct {
	addr uint64
	n    int
	buf  [headSize]byte
}

// head returns at least need bytes at addr: the start of an object, read with as much of what
// follows as its page holds (up to headSize). The few objects read last are kept, so that
// reading an object's type and then its value costs one read. The bytes stay valid across
// other reads, until seven more objects have been read.
func (q *req) head(addr uint64, need int) ([]byte, error) {
	if need > headSize {
		b, err := q.read(addr, need)
		if err != nil {
			return nil, err
		}
		return append([]byte(nil), b...), nil
	}
	for i := range q.heads {
		if e := &q.heads[i]; e.addr == addr && e.n >= need && addr != 0 {
			return e.buf[:e.n], nil
		}
	}
	n := max(need, min(headSize, int(pageSize-addr%pageSize)))
	b, err := q.read(addr, n)
	if err != nil {
		return nil, err
	}
	e := &q.heads[q.nextHead]
	q.nextHead = (q.nextHead + 1) % len(q.heads)
	e.addr, e.n = addr, copy(e.buf[:], b)
	return e.buf[:e.n], nil
}

// readCopy is read for data the caller keeps.
func (q *req) readCopy(addr uint64, n int) ([]byte, error) {
	b, err := q.read(addr, n)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), b...), nil
}

func (q *req) u64(addr uint64) (uint64, error) {
	b, err := q.read(addr, 8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

func (q *req) i64(addr uint64) (int64, error) {
	v, err := q.u64(addr)
	return int64(v), err
}

// ptr reads a pointer field that must point somewhere plausible: non-NULL, aligned.
func (q *req) ptr(addr uint64) (uint64, error) {
	v, err := q.u64(addr)
	if err != nil {
		return 0, err
	}
	if v == 0 || v%8 != 0 {
		return 0, changed(addr, "pointer field holds %#x", v)
	}
	return v, nil
}

// bytePtr reads a non-NULL pointer to bytes (a C string, a bytearray's data): any alignment.
func (q *req) bytePtr(addr uint64) (uint64, error) {
	v, err := q.u64(addr)
	if err != nil {
		return 0, err
	}
	if v == 0 {
		return 0, changed(addr, "NULL byte pointer")
	}
	return v, nil
}

// optPtr reads a pointer field that may be NULL.
func (q *req) optPtr(addr uint64) (uint64, error) {
	v, err := q.u64(addr)
	if err != nil {
		return 0, err
	}
	if v%8 != 0 {
		return 0, changed(addr, "pointer field holds %#x", v)
	}
	return v, nil
}

// cString reads a NUL-terminated string of at most maxCString bytes, a page at a time so that
// a string near the end of a mapping is not read past.
func (q *req) cString(addr uint64) (string, error) {
	if addr == 0 {
		return "", changed(0, "NULL C string")
	}
	defer q.staticReads()()
	m := q.r.moment
	if s, ok := m.cString(addr); ok {
		return s, nil
	}
	kinds := q.r.kinds
	kinds.cStringsMu.RLock()
	s, ok := kinds.cStrings[addr]
	kinds.cStringsMu.RUnlock()
	if ok {
		// The same text where it was read before, up to its NUL: the same string.
		if b, err := q.read(addr, len(s)+1); err == nil && b[len(s)] == 0 && string(b[:len(s)]) == s {
			m.putCString(addr, s)
			return s, nil
		}
	}
	s, err := q.readCString(addr)
	if err != nil {
		return "", err
	}
	m.putCString(addr, s)
	kinds.cStringsMu.Lock()
	if kinds.cStrings == nil || len(kinds.cStrings) >= maxCStrings {
		kinds.cStrings = map[uint64]string{}
	}
	kinds.cStrings[addr] = s
	kinds.cStringsMu.Unlock()
	return s, nil
}

// maxCStrings bounds the C strings kept; past it they start again.
const maxCStrings = 1 << 14

func (q *req) readCString(addr uint64) (string, error) {
	var out []byte
	for len(out) < maxCString {
		a := addr + uint64(len(out))
		n := min(maxCString-len(out), int(pageSize-a%pageSize))
		b, err := q.read(a, n)
		if err != nil {
			return "", err
		}
		for i, c := range b {
			if c == 0 {
				return string(append(out, b[:i]...)), nil
			}
		}
		out = append(out, b...)
	}
	return "", changed(addr, "C string longer than %d bytes", maxCString)
}

func le64(b []byte, off uint64) uint64 { return binary.LittleEndian.Uint64(b[off:]) }
func le32(b []byte, off uint64) uint32 { return binary.LittleEndian.Uint32(b[off:]) }

// stopItems reports whether a container being written should stop adding items: the output or
// the time is used up.
func (q *req) stopItems() bool {
	return len(q.out) >= q.r.lim.MaxReprLen || q.timeUp()
}

// staticReads makes the reads until the returned function is called read what lives as long as
// the program (see Reader.static).
func (q *req) staticReads() (restore func()) {
	was := q.static
	q.static = true
	return func() { q.static = was }
}
