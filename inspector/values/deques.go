package values

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
