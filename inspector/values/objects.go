package values

import (
	"math"

	"github.com/aioscope/aioscope/cpython"
)

// Decoders of the built-in object layouts. Each validates what it reads against the object's
// own invariants and fails with *ChangedError where they do not hold.

// maxLen bounds the length fields of strings, tuples, lists and deques: no real object has
// more than 2^40 items, and garbage usually does.
const maxLen = 1 << 40

// strInfo is a str object: the first code points of its data, in its own kind.
type strInfo struct {
	kind   int
	length int64  // code points in the whole string
	data   []byte // the first min(length, max) code points; a copy
}

// strLayout locates the characters of the str at addr (an instance of str or a subclass). pre
// is what was read from addr (at least the header, and the characters of a short string when
// they are on the same page); nil when the characters are elsewhere.
func (q *req) strLayout(addr uint64) (kind int, length int64, data uint64, ascii bool, pre []byte, err error) {
	u := &q.r.off.UnicodeObject
	hdr, err := q.head(addr, int(u.ASCIIObjectSize))
	if err != nil {
		return 0, 0, 0, false, nil, err
	}
	st := cpython.ParseUnicodeState(le32(hdr, u.State) & 0xFF)
	length = int64(le64(hdr, u.Length))
	if length < 0 || length > maxLen {
		return 0, 0, 0, false, nil, changed(addr, "str of length %d", length)
	}
	if st.Kind != 1 && st.Kind != 2 && st.Kind != 4 || st.ASCII && (st.Kind != 1 || !st.Compact) {
		return 0, 0, 0, false, nil, changed(addr, "str state %#x", le32(hdr, u.State)&0xFF)
	}
	if st.Compact {
		return st.Kind, length, addr + q.r.off.UnicodeDataOffset(st.ASCII), st.ASCII, hdr, nil
	}
	if data, err = q.ptr(addr + q.r.v.StrDataAny); err != nil {
		return 0, 0, 0, false, nil, err
	}
	return st.Kind, length, data, st.ASCII, nil, nil
}

// str reads the str at addr (an instance of str or a subclass), at most maxChars code points.
func (q *req) str(addr uint64, maxChars int) (strInfo, error) {
	s, err := q.strView(addr, maxChars)
	if err == nil && s.data != nil {
		s.data = append([]byte(nil), s.data...)
	}
	return s, err
}

// strView is str, with data valid only until the next read: a view of the bytes read when they
// came with the object's head.
func (q *req) strView(addr uint64, maxChars int) (strInfo, error) {
	kind, length, data, ascii, pre, err := q.strLayout(addr)
	if err != nil {
		return strInfo{}, err
	}
	s := strInfo{kind: kind, length: length}
	n := min(length, int64(max(maxChars, 0)))
	if n <= 0 {
		return s, nil
	}
	if end := data - addr + uint64(n)*uint64(kind); pre != nil && end <= uint64(len(pre)) {
		s.data = pre[data-addr : end : end]
		if ascii {
			for _, c := range s.data {
				if c >= 0x80 {
					return strInfo{}, changed(addr, "ASCII str holds byte %#x", c)
				}
			}
		}
		return s, nil
	}
	if s.data, err = q.strChars(addr, data, kind, ascii, 0, n); err != nil {
		return strInfo{}, err
	}
	return s, nil
}

// strChars copies code points [from, from+n) of a str's data.
func (q *req) strChars(addr, data uint64, kind int, ascii bool, from, n int64) ([]byte, error) {
	b, err := q.readCopy(data+uint64(from)*uint64(kind), int(n)*kind)
	if err != nil {
		return nil, err
	}
	if ascii {
		for _, c := range b {
			if c >= 0x80 {
				return nil, changed(addr, "ASCII str holds byte %#x", c)
			}
		}
	}
	return b, nil
}

// strValue reads a str as Go text (surrogates and invalid code points become U+FFFD), at most
// maxChars code points.
func (q *req) strValue(addr uint64, maxChars int) (string, error) {
	s, err := q.str(addr, maxChars)
	if err != nil {
		return "", err
	}
	return cpython.DecodeUnicode(s.kind, s.data)
}

// maxName bounds the names the reader reads: attributes, classes, modules, functions.
const maxName = 1024

// isStr reports whether the object at addr is a str (or an instance of a subclass).
func (q *req) isStr(addr uint64) (bool, error) {
	t, err := q.typeOf(addr)
	if err != nil {
		return false, err
	}
	return t.flags&cpython.TPFlagsUnicodeSubclass != 0, nil
}

// name reads a str object used as a name; it must be a str.
func (q *req) name(addr uint64) (string, error) {
	ok, err := q.isStr(addr)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", changed(addr, "a name that is not a str")
	}
	return q.strValue(addr, maxName)
}

// writeName writes the text of a str used as a name, as name returns it: an ASCII name straight
// from the bytes read, without making a string of it.
func (q *req) writeName(addr uint64) error {
	ok, err := q.isStr(addr)
	if err != nil {
		return err
	}
	if !ok {
		return changed(addr, "a name that is not a str")
	}
	_, length, data, ascii, pre, err := q.strLayout(addr)
	if err != nil {
		return err
	}
	if !ascii || length > maxName {
		s, err := q.strValue(addr, maxName)
		if err != nil {
			return err
		}
		q.write(s)
		return nil
	}
	var b []byte
	if end := data - addr + uint64(length); pre != nil && end <= uint64(len(pre)) {
		b = pre[data-addr : end]
	} else if b, err = q.read(data, int(length)); err != nil {
		return err
	}
	for _, c := range b {
		if c >= 0x80 {
			return changed(addr, "ASCII str holds byte %#x", c)
		}
	}
	q.out = append(q.out, b...)
	return nil
}

// strEquals reports whether the str at addr is exactly the ASCII text s.
func (q *req) strEquals(addr uint64, s string) (bool, error) {
	_, length, data, ascii, pre, err := q.strLayout(addr)
	if err != nil {
		return false, err
	}
	if length != int64(len(s)) || !ascii {
		return false, nil
	}
	if end := data - addr + uint64(len(s)); pre != nil && end <= uint64(len(pre)) {
		return string(pre[data-addr:end]) == s, nil
	}
	b, err := q.read(data, len(s))
	if err != nil {
		return false, err
	}
	return string(b) == s, nil
}

// bytesData reads a bytes object: its length and at most maxBytes of its data.
func (q *req) bytesData(addr uint64, maxBytes int) (int64, []byte, error) {
	bo := &q.r.off.BytesObject
	n, err := q.i64(addr + bo.ObSize)
	if err != nil {
		return 0, nil, err
	}
	if n < 0 || n > maxLen {
		return 0, nil, changed(addr, "bytes of length %d", n)
	}
	m := min(n, int64(max(maxBytes, 0)))
	if m == 0 {
		return n, nil, nil
	}
	b, err := q.readCopy(addr+bo.ObSval, int(m))
	return n, b, err
}

// float reads a float's value.
func (q *req) float(addr uint64) (float64, error) {
	off := q.r.off.FloatObject.ObFval
	b, err := q.head(addr, int(off)+8)
	if err != nil {
		return 0, err
	}
	return math.Float64frombits(le64(b, off)), nil
}

// floatObject reads the float at addr. ok is false when the object's repr is not float's: it is
// neither a float nor of a subclass that keeps float's repr.
func (q *req) floatObject(addr uint64) (x float64, ok bool, err error) {
	t, err := q.typeOf(addr)
	if err != nil {
		return 0, false, err
	}
	if q.builtin(t) != "float" {
		return 0, false, nil
	}
	x, err = q.float(addr)
	return x, err == nil, err
}

// maxIntReadDigits bounds the 30-bit digits read of one int (64 KiB, about 148,000 decimal
// digits); a bigger int is described by its size in bits.
const maxIntReadDigits = 1 << 14

// intText renders an int (or an instance of an int subclass).
func (q *req) intText(addr uint64) (string, error) {
	lo := &q.r.off.LongObject
	h, err := q.head(addr, int(lo.ObDigit))
	if err != nil {
		return "", err
	}
	tag, err := cpython.ParseLongTag(le64(h, lo.LvTag))
	if err != nil {
		return "", changed(addr, "%v", err)
	}
	if tag.NDigits > maxIntReadDigits {
		top, err := q.read(addr+lo.ObDigit+4*(tag.NDigits-1), 4)
		if err != nil {
			return "", err
		}
		return cpython.FormatLongBits(tag, le32(top, 0)), nil
	}
	var digits []byte
	if end := lo.ObDigit + 4*tag.NDigits; end <= uint64(len(h)) {
		digits = h[lo.ObDigit:end]
	} else if digits, err = q.read(addr+lo.ObDigit, 4*int(tag.NDigits)); err != nil {
		return "", err
	}
	s, err := cpython.FormatLong(tag, digits, q.r.lim.MaxIntDigits)
	if err != nil {
		return "", changed(addr, "%v", err)
	}
	return s, nil
}

// intValue reads a small int (at most 64 bits) as an int64.
func (q *req) intValue(addr uint64) (int64, error) {
	lo := &q.r.off.LongObject
	b, err := q.read(addr+lo.LvTag, 8+8)
	if err != nil {
		return 0, err
	}
	v, err := cpython.DecodeLong(le64(b, 0), b[lo.ObDigit-lo.LvTag:], 2)
	if err != nil {
		return 0, changed(addr, "%v", err)
	}
	return v, nil
}

// seqInfo is a tuple's or list's items: where the pointer array is and how long it is.
type seqInfo struct {
	items uint64
	n     int64
}

func (q *req) tuple(addr uint64) (seqInfo, error) {
	to := &q.r.off.TupleObject
	h, err := q.head(addr, int(to.ObSize)+8)
	if err != nil {
		return seqInfo{}, err
	}
	n := int64(le64(h, to.ObSize))
	if n < 0 || n > maxLen {
		return seqInfo{}, changed(addr, "tuple of length %d", n)
	}
	return seqInfo{items: addr + to.ObItem, n: n}, nil
}

func (q *req) list(addr uint64) (seqInfo, error) {
	lo := &q.r.off.ListObject
	h, err := q.head(addr, int(max(lo.ObSize, lo.ObItem, q.r.v.ListAlloc))+8)
	if err != nil {
		return seqInfo{}, err
	}
	n, items, alloc := int64(le64(h, lo.ObSize)), le64(h, lo.ObItem), int64(le64(h, q.r.v.ListAlloc))
	if items%8 != 0 {
		return seqInfo{}, changed(addr, "list items at %#x", items)
	}
	if n < 0 || n > alloc || alloc > maxLen || (n > 0 && items == 0) {
		return seqInfo{}, changed(addr, "list of length %d in %d slots", n, alloc)
	}
	return seqInfo{items: items, n: n}, nil
}

// items reads pointers [start, start+count) of a pointer array, clipped to n; NULL items fail.
func (q *req) items(owner uint64, s seqInfo, start, count int64) ([]uint64, error) {
	if start < 0 || start >= s.n || count <= 0 {
		return nil, nil
	}
	count = min(count, s.n-start)
	out := make([]uint64, 0, count)
	for done := int64(0); done < count; {
		k := min(count-done, chunkEntries)
		b, err := q.read(s.items+8*uint64(start+done), int(8*k))
		if err != nil {
			return nil, err
		}
		for i := int64(0); i < k; i++ {
			p := le64(b, uint64(8*i))
			if p == 0 || p%8 != 0 {
				return nil, changed(owner, "item %d is %#x", start+done+i, p)
			}
			out = append(out, p)
		}
		done += k
	}
	return out, nil
}
