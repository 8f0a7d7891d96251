package values

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
