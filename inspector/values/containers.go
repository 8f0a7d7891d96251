package values

import (
	"errors"
)

// containerLen is the number of items of a tuple, list, dict, set or deque, for summaries.
func (q *req) containerLen(addr uint64, kind string) (int64, error) {
	switch kind {
	case "tuple":
		s, err := q.tuple(addr)
		return s.n, err
	case "list":
		s, err := q.list(addr)
		return s.n, err
	case "dict", "frozendict":
		it, err := q.dict(addr)
		if err != nil {
			return 0, err
		}
		return it.used, nil
	case "set":
		it, err := q.set(addr)
		if err != nil {
			return 0, err
		}
		return it.used, nil
	case "deque":
		d, err := q.deque(addr)
		return d.n, err
	}
	return 0, nil
}

// summary writes "<list of 3 items>" for a container below the depth limit.
func (q *req) summary(addr uint64, t *typeInfo, kind string) error {
	n, err := q.containerLen(addr, kind)
	if err != nil {
		return err
	}
	name, err := q.typeName(t)
	if err != nil {
		return err
	}
	q.trunc = true
	q.write("<" + name + " of ")
	q.writeInt(n)
	if n == 1 {
		q.write(" item>")
	} else {
		q.write(" items>")
	}
	return nil
}

// recursionMarker is what Py_ReprEnter makes a container print when it meets itself.
func recursionMarker(kind, name string) string {
	switch kind {
	case "tuple":
		return "(...)"
	case "list", "deque":
		return "[...]"
	case "dict":
		return "{...}"
	}
	return name + "(...)"
}

// containerRepr writes a tuple, list, dict, set or frozenset (and their subclasses without a
// __repr__), frozendict or deque.
func (q *req) containerRepr(addr uint64, t *typeInfo, kind string, depth int) error {
	if q.path[addr] {
		name := shortName(t.name)
		q.write(recursionMarker(kind, name))
		return nil
	}
	if depth >= q.r.lim.MaxDepth {
		return q.summary(addr, t, kind)
	}
	q.path[addr] = true
	defer delete(q.path, addr)
	switch kind {
	case "tuple":
		s, err := q.tuple(addr)
		if err != nil {
			return err
		}
		q.writeByte('(')
		n, err := q.seqItems(addr, s, depth)
		if err != nil {
			return err
		}
		if n == 1 && s.n == 1 {
			q.writeByte(',')
		}
		q.writeByte(')')
	case "list":
		s, err := q.list(addr)
		if err != nil {
			return err
		}
		q.writeByte('[')
		if _, err := q.seqItems(addr, s, depth); err != nil {
			return err
		}
		q.writeByte(']')
	case "dict", "frozendict":
		it, err := q.dict(addr)
		if err != nil {
			return err
		}
		if kind == "frozendict" {
			if it.used == 0 {
				q.write("frozendict()")
				return nil
			}
			q.write("frozendict(")
		}
		q.writeByte('{')
		if err := q.entryItems(it.next, true, depth); err != nil {
			return err
		}
		q.writeByte('}')
		if kind == "frozendict" {
			q.writeByte(')')
		}
	case "set":
		it, err := q.set(addr)
		if err != nil {
			return err
		}
		// set_repr: "{...}" for exact sets, "Name({...})" otherwise, "Name()" when empty.
		exact := t.addr == q.k.types["set"]
		if it.used == 0 {
			q.write(t.name + "()")
			return nil
		}
		if !exact {
			q.write(t.name + "(")
		}
		q.writeByte('{')
		if err := q.entryItems(it.nextEntry, false, depth); err != nil {
			return err
		}
		q.writeByte('}')
		if !exact {
			q.writeByte(')')
		}
	case "deque":
		d, err := q.deque(addr)
		if err != nil {
			return err
		}
		name, err := q.typeName(t)
		if err != nil {
			return err
		}
		q.write(name + "([")
		if err := q.dequeItemsRepr(addr, d, depth); err != nil {
			return err
		}
		q.write("]")
		if d.maxlen >= 0 {
			q.write(", maxlen=")
			q.writeInt(d.maxlen)
		}
		q.writeByte(')')
	}
	return nil
}

// cut writes the marker of items left out and records that the repr is cut.
func (q *req) cut(first bool) {
	if !first {
		q.write(", ")
	}
	q.write("...")
	q.trunc = true
}

// stopErr turns running out of time into a cut; other errors pass.
func (q *req) stopErr(err error, first bool) error {
	if errors.Is(err, errTimeUp) {
		q.cut(first)
		return nil
	}
	return err
}

// seqItems writes the items of a tuple or list separated by ", " and returns how many.
func (q *req) seqItems(owner uint64, s seqInfo, depth int) (int, error) {
	shown := min(s.n, int64(q.r.lim.MaxItems))
	written := 0
	for start := int64(0); start < shown; start += chunkEntries {
		if q.stopItems() {
			q.cut(written == 0)
			return written, nil
		}
		items, err := q.items(owner, s, start, min(chunkEntries, shown-start))
		if err != nil {
			return written, err
		}
		n, more, err := q.itemReprs(items, written, depth)
		written += n
		if !more {
			return written, err
		}
	}
	if s.n > shown {
		q.cut(written == 0)
	}
	return written, nil
}

// itemReprs writes items of a container separated by ", ", after the written ones before them,
// and returns how many it wrote. more is false when the repr stops there: it has reached
// MaxReprLen or its time is up (the cut is written), or an item failed (err).
func (q *req) itemReprs(items []uint64, written, depth int) (n int, more bool, err error) {
	for i, it := range items {
		if q.stopItems() {
			q.cut(written+i == 0)
			return i, false, nil
		}
		if written+i > 0 {
			q.write(", ")
		}
		if err := q.repr(it, depth+1); err != nil {
			return i, false, q.stopErr(err, true)
		}
	}
	return len(items), true, nil
}

// entryItems writes the entries of a dict ("key: value") or, without values, of a set ("key")
// separated by ", ", at most MaxItems of them; next is the dict's or set's iterator.
func (q *req) entryItems(next func() (key, value uint64, ok bool, err error), withValues bool, depth int) error {
	for i := 0; ; i++ {
		if i >= q.r.lim.MaxItems || q.stopItems() {
			if _, _, ok, err := next(); err != nil || ok {
				q.cut(i == 0)
			}
			return nil
		}
		k, v, ok, err := next()
		if err != nil {
			return q.stopErr(err, i == 0)
		}
		if !ok {
			return nil
		}
		if i > 0 {
			q.write(", ")
		}
		if err := q.repr(k, depth+1); err != nil {
			return q.stopErr(err, true)
		}
		if withValues {
			q.write(": ")
			if err := q.repr(v, depth+1); err != nil {
				return q.stopErr(err, true)
			}
		}
	}
}

func (q *req) dequeItemsRepr(addr uint64, d dequeInfo, depth int) error {
	shown := min(d.n, int64(q.r.lim.MaxItems))
	items, err := q.dequeItems(addr, d, 0, shown)
	if err != nil {
		return q.stopErr(err, true)
	}
	n, more, err := q.itemReprs(items, 0, depth)
	if !more {
		return err
	}
	if d.n > shown {
		q.cut(n == 0)
	}
	return nil
}
