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

// dictIter walks a dict in iteration order (the order of its repr), or the inline values of an
// instance, which are laid out like a split dict.
type dictIter struct {
	q     *req
	addr  uint64 // the dict (or the object owning inline values), for errors
	used  int64
	keysA uint64
	keys  cpython.DictKeys
	// A split table: the values array and its insertion order, read on the first next.
	split     bool
	valuesA   uint64
	valuesCap int
	orderOff  uint64
	loaded    bool
	order     []byte
	entries   []byte // split: the shared keys' entries; combined: the chunk at bufStart
	vals      []byte // split: the values array
	pos       int64  // next entry (combined) or order position (split)
	seen      int64
	bufAt     int64
	scanned   int64
	last      int64 // the index in the table of the entry next returned last
}

// dict starts a walk of the dict at addr.
func (q *req) dict(addr uint64) (*dictIter, error) {
	do := &q.r.off.DictObject
	b, err := q.head(addr, int(do.MaValues)+8)
	if err != nil {
		return nil, err
	}
	used := int64(le64(b, q.r.v.Dict.Used))
	keys := le64(b, do.MaKeys)
	values := le64(b, do.MaValues)
	if used < 0 || used > maxLen || keys == 0 || keys%8 != 0 || values%8 != 0 {
		return nil, changed(addr, "dict of %d items, keys %#x, values %#x", used, keys, values)
	}
	it, err := q.keysIter(addr, keys, used)
	if err != nil {
		return nil, err
	}
	if values != 0 {
		if err := it.setValues(values, true); err != nil {
			return nil, err
		}
	} else if used > it.keys.NEntries {
		return nil, changed(addr, "dict of %d items in %d entries", used, it.keys.NEntries)
	}
	return it, nil
}

func (q *req) keysIter(owner, keys uint64, used int64) (*dictIter, error) {
	hdr, err := q.read(keys, q.r.v.DictKeysHeaderSize())
	if err != nil {
		return nil, err
	}
	k, err := q.r.v.ParseDictKeys(hdr)
	if err != nil {
		return nil, changed(owner, "%v", err)
	}
	return &dictIter{q: q, addr: owner, used: used, keysA: keys, keys: k, bufAt: -1}, nil
}

// setValues makes the walk follow a split values array (a split dict's, or inline values).
// checkUsed requires its size to equal the dict's item count.
func (it *dictIter) setValues(values uint64, checkUsed bool) error {
	q := it.q
	if it.keys.Kind != cpython.DictKeysSplit {
		return changed(it.addr, "split values with keys of kind %d", it.keys.Kind)
	}
	hdr, err := q.read(values, int(q.r.v.Dict.ValuesArr))
	if err != nil {
		return err
	}
	dv, err := q.r.v.ParseDictValues(hdr)
	if err != nil {
		return changed(it.addr, "%v", err)
	}
	if checkUsed && int64(dv.Size) != it.used {
		return changed(it.addr, "dict of %d items with %d values", it.used, dv.Size)
	}
	it.used = int64(dv.Size)
	it.split, it.valuesA, it.valuesCap, it.orderOff = true, values, dv.Capacity, dv.OrderOffset
	it.loaded = dv.Size == 0
	return nil
}

// loadSplit reads the arrays a walk of a split table goes through.
func (it *dictIter) loadSplit() error {
	q := it.q
	var err error
	if it.order, err = q.readCopy(it.valuesA+it.orderOff, int(it.used)); err != nil {
		return err
	}
	if it.vals, err = q.readCopy(it.valuesA+q.r.v.Dict.ValuesArr, 8*it.valuesCap); err != nil {
		return err
	}
	if n := it.keys.NEntries; n > 0 {
		if it.entries, err = q.readCopy(it.keysA+it.keys.EntriesOffset, int(n)*int(it.keys.EntrySize)); err != nil {
			return err
		}
	}
	it.loaded = true
	return nil
}

// entry reads entry ix of the table directly: its key and value, with ok false when the entry
// is empty, deleted or out of the table.
func (it *dictIter) entry(ix int64) (key, value uint64, ok bool, err error) {
	q := it.q
	if ix < 0 || ix >= it.keys.NEntries || (it.split && ix >= int64(it.valuesCap)) {
		return 0, 0, false, nil
	}
	e := it.keysA + it.keys.EntriesOffset + uint64(ix)*it.keys.EntrySize
	if key, err = q.u64(e + it.keys.KeyOffset); err != nil {
		return 0, 0, false, err
	}
	if it.split {
		value, err = q.u64(it.valuesA + q.r.v.Dict.ValuesArr + 8*uint64(ix))
	} else {
		value, err = q.u64(e + it.keys.ValueOffset)
	}
	if err != nil {
		return 0, 0, false, err
	}
	if key == 0 || value == 0 || key%8 != 0 || value%8 != 0 {
		return 0, 0, false, nil
	}
	return key, value, true, nil
}

// next returns the next key and value, or ok false at the end. A walk that ends having seen
// another number of items than the dict says it holds fails.
func (it *dictIter) next() (key, value uint64, ok bool, err error) {
	if it.split {
		if !it.loaded {
			if err := it.loadSplit(); err != nil {
				return 0, 0, false, err
			}
		}
		for it.pos < int64(len(it.order)) {
			ix := int64(it.order[it.pos])
			it.pos++
			if ix >= it.keys.NEntries || 8*ix >= int64(len(it.vals)) {
				return 0, 0, false, changed(it.addr, "split dict order names entry %d of %d", ix, it.keys.NEntries)
			}
			key = le64(it.entries, uint64(ix)*it.keys.EntrySize+it.keys.KeyOffset)
			value = le64(it.vals, uint64(8*ix))
			if value == 0 {
				continue
			}
			if key == 0 || key%8 != 0 || value%8 != 0 {
				return 0, 0, false, changed(it.addr, "split dict entry %d: key %#x value %#x", ix, key, value)
			}
			it.seen++
			it.last = ix
			return key, value, true, nil
		}
		return 0, 0, false, nil
	}
	for it.pos < it.keys.NEntries {
		if it.scanned++; it.scanned > maxScan {
			return 0, 0, false, changed(it.addr, "dict walk past %d entries", maxScan)
		}
		if it.bufAt < 0 || it.pos >= it.bufAt+int64(len(it.entries))/int64(it.keys.EntrySize) {
			if it.q.timeUp() {
				return 0, 0, false, errTimeUp
			}
			k := min(it.keys.NEntries-it.pos, chunkEntries)
			b, err := it.q.read(it.keysA+it.keys.EntriesOffset+uint64(it.pos)*it.keys.EntrySize, int(k)*int(it.keys.EntrySize))
			if err != nil {
				return 0, 0, false, err
			}
			it.entries = append(it.entries[:0], b...)
			it.bufAt = it.pos
		}
		e := uint64(it.pos-it.bufAt) * it.keys.EntrySize
		key = le64(it.entries, e+it.keys.KeyOffset)
		value = le64(it.entries, e+it.keys.ValueOffset)
		it.pos++
		if value == 0 {
			continue
		}
		if key == 0 || key%8 != 0 || value%8 != 0 {
			return 0, 0, false, changed(it.addr, "dict entry %d: key %#x value %#x", it.pos-1, key, value)
		}
		if it.seen++; it.seen > it.used {
			return 0, 0, false, changed(it.addr, "dict of %d items has more", it.used)
		}
		it.last = it.pos - 1
		return key, value, true, nil
	}
	if it.seen != it.used {
		return 0, 0, false, changed(it.addr, "dict of %d items has %d", it.used, it.seen)
	}
	return 0, 0, false, nil
}

// skip moves past n items. A combined table without deleted entries is indexed directly.
func (it *dictIter) skip(n int64) error {
	if n <= 0 {
		return nil
	}
	if !it.split && it.pos == 0 && it.keys.NEntries == it.used {
		n = min(n, it.used)
		it.pos, it.seen = n, n
		return nil
	}
	for ; n > 0; n-- {
		_, _, ok, err := it.next()
		if err != nil || !ok {
			return err
		}
	}
	return nil
}

// lookup finds the value of the str key name by walking the dict (the target's string hashes
// are keyed with its own secret, so the reader cannot probe the hash table). 0 when absent.
func (q *req) dictGet(dict uint64, name string) (uint64, error) {
	it, err := q.dict(dict)
	if err != nil {
		return 0, err
	}
	return it.find(name)
}

// find returns the value of the str key name from where the walk is, 0 when absent. Where a
// name was found in the same table before, that entry is looked at first: the attributes of a
// class's instances share one table of keys (and a class or module dict keeps its entries in
// place), so most lookups then take one entry rather than a walk. The entry is used only when
// its key is name and it has a value.
func (it *dictIter) find(name string) (uint64, error) {
	hk := hintKey{keys: it.keysA, name: name}
	kinds := it.q.r.kinds
	if it.pos == 0 && it.seen == 0 {
		if ix, ok := kinds.hint(hk); ok {
			k, v, ok, err := it.entry(ix)
			if err != nil {
				return 0, err
			}
			if ok {
				if eq, err := it.q.strEquals(k, name); err != nil {
					return 0, err
				} else if eq {
					return v, nil
				}
			}
		}
	}
	for {
		k, v, ok, err := it.next()
		if err != nil || !ok {
			return 0, err
		}
		if eq, err := it.q.strEquals(k, name); err != nil {
			return 0, err
		} else if eq {
			kinds.putHint(hk, it.last)
			return v, nil
		}
	}
}

// hintKey names a key of one dict keys table.
type hintKey struct {
	keys uint64
	name string
}

// maxHints bounds the hints kept; past it they start again.
const maxHints = 1 << 16

func (k *kinds) hint(h hintKey) (int64, bool) {
	k.hintsMu.RLock()
	defer k.hintsMu.RUnlock()
	ix, ok := k.hints[h]
	return ix, ok
}

func (k *kinds) putHint(h hintKey, ix int64) {
	k.hintsMu.Lock()
	defer k.hintsMu.Unlock()
	if k.hints == nil || len(k.hints) >= maxHints {
		k.hints = map[hintKey]int64{}
	}
	k.hints[h] = ix
}

// fill walks the dict until every pointer of want holds a value, or the dict ends. match says
// for which of want's names a key is (nil: none); a name keeps the first value found for it.
func (it *dictIter) fill(want map[string]*uint64, match func(key uint64) (*uint64, error)) error {
	left := len(want)
	for left > 0 {
		k, v, ok, err := it.next()
		if err != nil || !ok {
			return err
		}
		dst, err := match(k)
		if err != nil {
			return err
		}
		if dst != nil && *dst == 0 {
			*dst = v
			left--
		}
	}
	return nil
}

// setIter walks a set or frozenset in slot order (the order of its repr).
type setIter struct {
	q           *req
	addr, table uint64
	mask, used  int64
	pos, seen   int64
	buf         []byte
	bufAt       int64
	entrySize   uint64
}

func (q *req) set(addr uint64) (*setIter, error) {
	so := &q.r.off.SetObject
	used, err := q.i64(addr + so.Used)
	if err != nil {
		return nil, err
	}
	mask, err := q.i64(addr + so.Mask)
	if err != nil {
		return nil, err
	}
	table, err := q.ptr(addr + so.Table)
	if err != nil {
		return nil, err
	}
	if mask < 7 || mask >= 1<<32 || (mask+1)&mask != 0 || used < 0 || used > mask+1 {
		return nil, changed(addr, "set of %d items in %d slots", used, mask+1)
	}
	return &setIter{q: q, addr: addr, table: table, mask: mask, used: used, bufAt: -1, entrySize: q.r.v.Set.EntrySize}, nil
}

func (it *setIter) next() (uint64, bool, error) {
	for it.pos <= it.mask && it.seen < it.used {
		if it.bufAt < 0 || it.pos >= it.bufAt+int64(len(it.buf))/int64(it.entrySize) {
			if it.q.timeUp() {
				return 0, false, errTimeUp
			}
			k := min(it.mask+1-it.pos, chunkEntries)
			b, err := it.q.read(it.table+uint64(it.pos)*it.entrySize, int(k)*int(it.entrySize))
			if err != nil {
				return 0, false, err
			}
			it.buf = append(it.buf[:0], b...)
			it.bufAt = it.pos
		}
		e := uint64(it.pos-it.bufAt) * it.entrySize
		key := le64(it.buf, e)
		hash := int64(le64(it.buf, e+it.q.r.v.Set.EntryHash))
		it.pos++
		if key == 0 || hash == -1 {
			continue
		}
		if key%8 != 0 {
			return 0, false, changed(it.addr, "set slot %d holds %#x", it.pos-1, key)
		}
		it.seen++
		return key, true, nil
	}
	if it.seen != it.used {
		return 0, false, changed(it.addr, "set of %d items has %d", it.used, it.seen)
	}
	return 0, false, nil
}

// nextEntry is next in the form of dictIter.next, for the code that walks dicts and sets alike:
// a set's entry has no value.
func (it *setIter) nextEntry() (key, value uint64, ok bool, err error) {
	key, ok, err = it.next()
	return key, 0, ok, err
}

func (it *setIter) skip(n int64) error {
	for ; n > 0; n-- {
		_, ok, err := it.next()
		if err != nil || !ok {
			return err
		}
	}
	return nil
}

// dequeInfo is a collections.deque: its items live in 64-slot blocks linked left to right.
type dequeInfo struct {
	n, maxlen int64
	block     uint64
	index     int64
}

func (q *req) deque(addr uint64) (dequeInfo, error) {
	d := &q.r.v.Deque
	b, err := q.read(addr+q.r.v.VarSize, int(d.MaxLen+8-q.r.v.VarSize))
	if err != nil {
		return dequeInfo{}, err
	}
	at := func(off uint64) uint64 { return le64(b, off-q.r.v.VarSize) }
	di := dequeInfo{n: int64(at(q.r.v.VarSize)), block: at(d.LeftBlock), index: int64(at(d.LeftIndex)), maxlen: int64(at(d.MaxLen))}
	if di.n < 0 || di.n > maxLen || di.index < 0 || di.index >= int64(d.BlockLen) || di.block == 0 || di.block%8 != 0 || di.maxlen < -1 {
		return dequeInfo{}, changed(addr, "deque of %d items from slot %d", di.n, di.index)
	}
	return di, nil
}

// dequeItems reads items [start, start+count) of a deque.
func (q *req) dequeItems(addr uint64, di dequeInfo, start, count int64) ([]uint64, error) {
	d := &q.r.v.Deque
	if start < 0 || start >= di.n || count <= 0 {
		return nil, nil
	}
	count = min(count, di.n-start)
	bl := int64(d.BlockLen)
	block, idx := di.block, di.index+start
	for idx >= bl {
		if q.timeUp() {
			return nil, errTimeUp
		}
		next, err := q.ptr(block + d.BlockRightLink)
		if err != nil {
			return nil, err
		}
		block, idx = next, idx-bl
	}
	out := make([]uint64, 0, count)
	for int64(len(out)) < count {
		if idx == bl {
			next, err := q.ptr(block + d.BlockRightLink)
			if err != nil {
				return nil, err
			}
			block, idx = next, 0
		}
		k := min(bl-idx, count-int64(len(out)))
		b, err := q.read(block+d.BlockData+8*uint64(idx), int(8*k))
		if err != nil {
			return nil, err
		}
		for i := int64(0); i < k; i++ {
			p := le64(b, uint64(8*i))
			if p == 0 || p%8 != 0 {
				return nil, changed(addr, "deque item %d is %#x", int64(len(out))+start, p)
			}
			out = append(out, p)
		}
		idx += k
	}
	return out, nil
}
