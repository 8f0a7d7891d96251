package values

import (
	"github.com/aioscope/aioscope/cpython"
)

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
