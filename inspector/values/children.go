package values

import (
	"errors"
	"strconv"
	"unicode/utf8"

	"github.com/aioscope/aioscope/cpython"
)

// Value renders the object at addr (an id() in the target).
func (r *Reader) Value(addr uint64) (Value, error) {
	q, err := r.newReq(addr)
	if err != nil {
		return Value{Addr: addr}, err
	}
	defer q.release()
	return q.value(addr)
}

// hardReprLen is how many times MaxReprLen a repr may reach before it is cut where it stands:
// containers stop adding items at MaxReprLen, but the item being written may be long.
const hardReprLen = 4

// value renders one object, with the request's limits, into a Value.
func (q *req) value(addr uint64) (Value, error) {
	q.out, q.trunc, q.inexact = q.out[:0], false, false
	clear(q.path)
	v := Value{Addr: addr, Len: -1}
	m := q.r.moment
	key := uint64(0) // what the repr's text is shared by in the moment (reprText)
	if m != nil && q.singleton(addr) {
		key = addr
	} else if m != nil {
		// An object whose repr is its type's and its address (the event loop every sleeping
		// task holds) is rendered once in a moment.
		if t, err := q.typeOf(addr); err == nil {
			key = t.addr
			ext := t.get()
			byType := ext.reprByType
			if byType {
				if o, ok := m.object(addr); ok && o.typ == t.addr {
					return o.v, nil
				}
			}
		}
	}
	q.valueAddr, q.byTypeEnd = addr, -1
	if err := q.repr(addr, 0); err != nil {
		if errors.Is(err, errTimeUp) && len(q.out) == 0 {
			return v, ErrBudget
		}
		if !errors.Is(err, errTimeUp) {
			return v, err
		}
		q.trunc = true
	}
	if max := hardReprLen * q.r.lim.MaxReprLen; len(q.out) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(q.out[cut]) {
			cut--
		}
		q.out = append(q.out[:cut], "..."...)
		q.trunc = true
	}
	v.Repr, v.Exact, v.Truncated = m.reprText(key, q.out), !q.inexact, q.trunc
	if name := q.singletonType(addr); name != "" {
		v.Type = name
		return v, nil
	}
	t, err := q.typeOf(addr)
	if err != nil {
		return v, err
	}
	q.lastType = t.addr
	if v.Type, err = q.typeName(t); err != nil {
		return v, err
	}
	kind, n, err := q.shape(addr, t)
	if err != nil {
		return v, err
	}
	if kind != shapeNone && n != 0 {
		v.Ref, v.Len = Ref(addr), int(min(n, 1<<31-1))
		if n < 0 {
			v.Len = -1
		}
	}
	if m != nil && q.byTypeEnd == len(q.out) && !v.Truncated {
		ext := t.get()
		byType := ext.reprByType
		if byType {
			m.putObject(addr, momentObject{typ: t.addr, v: v})
		}
	}
	return v, nil
}

// singletonType is the name of the type of None, True, False, Ellipsis or NotImplemented when
// addr is one of them, else "".
func (q *req) singletonType(addr uint64) string {
	switch k := q.k; addr {
	case k.none:
		return "NoneType"
	case k.trueObj, k.falseObj:
		return "bool"
	case k.ellipsis:
		return "ellipsis"
	case k.notImpl:
		return "NotImplementedType"
	}
	return ""
}

// singleton reports whether addr is None, True, False, Ellipsis or NotImplemented.
func (q *req) singleton(addr uint64) bool {
	k := q.k
	return addr == k.none || addr == k.trueObj || addr == k.falseObj || addr == k.ellipsis || addr == k.notImpl
}

// shapeKind says how a value's children are listed.
type shapeKind uint8

const (
	shapeNone     shapeKind = iota
	shapeSeq                // tuple, list: items by index
	shapeDeque              // deque: items by index
	shapeDict               // dict, frozendict: items by key
	shapeSet                // set, frozenset: items by position
	shapeFuture             // _asyncio Future or Task: state, then attributes
	shapeInstance           // attributes (__dict__ and __slots__)
)

// shape classifies the value at addr and counts its children (-1: unknown).
func (q *req) shape(addr uint64, t *typeInfo) (shapeKind, int64, error) {
	switch addr {
	case q.k.none, q.k.trueObj, q.k.falseObj, q.k.ellipsis, q.k.notImpl:
		return shapeNone, 0, nil
	}
	kind := q.builtin(t)
	if t.repr == q.k.mods.dequeRepr && q.k.mods.dequeRepr != 0 {
		kind = "deque"
	}
	switch kind {
	case "tuple", "list":
		n, err := q.containerLen(addr, kind)
		return shapeSeq, n, err
	case "deque":
		n, err := q.containerLen(addr, kind)
		return shapeDeque, n, err
	case "dict", "frozendict":
		n, err := q.containerLen(addr, kind)
		return shapeDict, n, err
	case "set":
		n, err := q.containerLen(addr, kind)
		return shapeSet, n, err
	case "int", "float", "str", "bytes", "bytearray", "bool", "complex", "range":
		return shapeNone, 0, nil
	}
	if ok, err := q.isFuture(t); err != nil {
		return shapeNone, 0, err
	} else if ok {
		return shapeFuture, -1, nil
	}
	if !t.heap && t.flags&cpython.TPFlagsBaseExcSubclass == 0 && !t.static("module") {
		// Other built-in objects (functions, code, cells...) are shown by their repr alone.
		return shapeNone, 0, nil
	}
	has, err := q.hasAttributes(addr, t)
	if err != nil || !has {
		return shapeNone, 0, err
	}
	return shapeInstance, -1, nil
}

// hasAttributes reports whether the object at addr has any attribute attributes lists.
func (q *req) hasAttributes(addr uint64, t *typeInfo) (bool, error) {
	if t.flags&cpython.TPFlagsBaseExcSubclass != 0 {
		if _, err := q.ptr(addr + q.r.v.ExcArgs); err != nil {
			return false, err
		}
		return true, nil
	}
	it, err := q.instanceDict(addr, t)
	if err != nil {
		return false, err
	}
	if it != nil && it.used > 0 {
		return true, nil
	}
	if !t.heap {
		return false, nil
	}
	all, err := q.allSlots(t)
	if err != nil {
		return false, err
	}
	for _, m := range all {
		v, err := q.memberValue(addr, t, m)
		if err != nil {
			return false, err
		}
		if v != 0 {
			return true, nil
		}
	}
	return false, nil
}

// attribute is one child of an object: a named object, or a synthetic value.
type attribute struct {
	name  string
	addr  uint64
	value *Value // synthetic: not an object of the target
}

// attributes lists an object's attributes: BaseException args first, then __dict__ in
// insertion order, then __slots__ (the class's own first), at most limit of them.
func (q *req) attributes(addr uint64, t *typeInfo, limit int) ([]attribute, error) {
	var out []attribute
	if t.flags&cpython.TPFlagsBaseExcSubclass != 0 {
		args, err := q.ptr(addr + q.r.v.ExcArgs)
		if err != nil {
			return nil, err
		}
		out = append(out, attribute{name: "args", addr: args})
	}
	it, err := q.instanceDict(addr, t)
	if err != nil {
		return nil, err
	}
	for it != nil && len(out) < limit {
		k, v, ok, err := it.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		name, err := q.attrName(k)
		if err != nil {
			return nil, err
		}
		out = append(out, attribute{name: name, addr: v})
	}
	if len(out) < limit && t.heap {
		ss, err := q.slots(addr, t)
		if err != nil {
			return nil, err
		}
		for _, s := range ss {
			if s.value != 0 && len(out) < limit {
				out = append(out, attribute{name: s.name, addr: s.value})
			}
		}
	}
	return out, nil
}

// attrName is the text of an attribute name, or the repr of a key that is not a str.
func (q *req) attrName(k uint64) (string, error) {
	if ok, err := q.isStr(k); err != nil {
		return "", err
	} else if ok {
		return q.strValue(k, maxName)
	}
	return q.keyText(k)
}

// keyText renders a dict key for a child's name.
func (q *req) keyText(k uint64) (string, error) {
	saveOut, saveTrunc, saveInexact := q.out, q.trunc, q.inexact
	q.out = nil
	clear(q.path)
	err := q.repr(k, 0)
	s := string(q.out)
	q.out, q.trunc, q.inexact = saveOut, saveTrunc, saveInexact
	return s, err
}

// Children lists count children of ref from index start: the items of a tuple, list, deque or
// set (named by index), the items of a dict (named by the key's repr), the state of a Future
// or Task, the attributes of an object. It returns fewer when the value has fewer, or when the
// time budget runs out; count is capped at Limits.MaxChildren. A child whose value cannot be
// read has Err set.
func (r *Reader) Children(ref Ref, start, count int) ([]Child, error) {
	if ref == 0 {
		return nil, ErrNotExpandable
	}
	if start < 0 || count <= 0 {
		return nil, nil
	}
	count = min(count, r.lim.MaxChildren)
	addr := uint64(ref)
	q, err := r.newReq(addr)
	if err != nil {
		return nil, err
	}
	defer q.release()
	t, err := q.typeOf(addr)
	if err != nil {
		return nil, err
	}
	kind, _, err := q.shape(addr, t)
	if err != nil {
		return nil, err
	}
	var out []Child
	add := func(name string, obj uint64) {
		c := Child{Name: name}
		c.Value, c.Err = q.value(obj)
		out = append(out, c)
	}
	switch kind {
	case shapeNone:
		return nil, ErrNotExpandable
	case shapeSeq, shapeDeque:
		var items []uint64
		if kind == shapeSeq {
			var s seqInfo
			if q.builtin(t) == "tuple" {
				s, err = q.tuple(addr)
			} else {
				s, err = q.list(addr)
			}
			if err == nil {
				items, err = q.items(addr, s, int64(start), int64(count))
			}
		} else {
			var d dequeInfo
			if d, err = q.deque(addr); err == nil {
				items, err = q.dequeItems(addr, d, int64(start), int64(count))
			}
		}
		if err != nil {
			return nil, err
		}
		for i, it := range items {
			if q.timeUp() {
				break
			}
			add(strconv.Itoa(start+i), it)
		}
	case shapeDict, shapeSet:
		// A dict's children are named by their keys, a set's by their positions.
		var next func() (key, value uint64, ok bool, err error)
		var skip func(n int64) error
		if kind == shapeDict {
			it, err := q.dict(addr)
			if err != nil {
				return nil, err
			}
			next, skip = it.next, it.skip
		} else {
			it, err := q.set(addr)
			if err != nil {
				return nil, err
			}
			next, skip = it.nextEntry, it.skip
		}
		if err := skip(int64(start)); err != nil {
			return nil, err
		}
		for len(out) < count && !q.timeUp() {
			k, v, ok, err := next()
			if err != nil {
				if errors.Is(err, errTimeUp) {
					break
				}
				return nil, err
			}
			if !ok {
				break
			}
			if kind == shapeSet {
				add(strconv.Itoa(start+len(out)), k)
				continue
			}
			name, err := q.keyText(k)
			if err != nil {
				return nil, err
			}
			add(name, v)
		}
	case shapeFuture, shapeInstance:
		var attrs []attribute
		if kind == shapeFuture {
			if attrs, err = q.futureChildren(addr, t); err != nil {
				return nil, err
			}
		}
		more, err := q.attributes(addr, t, start+count)
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, more...)
		if extra, err := q.timeLeftChild(addr, t); err != nil {
			return nil, err
		} else if extra != nil {
			attrs = append(attrs, *extra)
		}
		for i := start; i < len(attrs) && len(out) < count && !q.timeUp(); i++ {
			a := attrs[i]
			if a.value != nil {
				out = append(out, Child{Name: a.name, Value: *a.value})
				continue
			}
			add(a.name, a.addr)
		}
	}
	return out, nil
}

func synthetic(typ, repr string) *Value {
	return &Value{Type: typ, Repr: repr, Exact: true, Len: -1}
}

// futureChildren are the state of an _asyncio Future or Task, ahead of its attributes.
func (q *req) futureChildren(addr uint64, t *typeInfo) ([]attribute, error) {
	task := t.repr == q.k.mods.taskRepr
	f, err := q.readFuture(addr, task)
	if err != nil {
		return nil, err
	}
	var out []attribute
	if task {
		// The task's id as asyncio's ps and pstree show it.
		out = append(out, attribute{name: "task id", value: synthetic("int", "0x"+strconv.FormatUint(addr, 16))})
		mark := len(q.out)
		err := q.taskName(f.name)
		name := string(q.out[mark:])
		q.out = q.out[:mark]
		if err != nil && err != errNotState {
			return nil, err
		}
		if err == nil {
			out = append(out, attribute{name: "name", value: synthetic("str", name)})
		}
	}
	state := futureStates[f.state]
	if task && f.numCancels > 0 && f.state == cpython.FutureStatePending {
		state = "cancelling"
	}
	out = append(out, attribute{name: "state", value: synthetic("str", "'"+state+"'")})
	if task {
		if f.coro != 0 {
			out = append(out, attribute{name: "coro", addr: f.coro})
		}
		if f.waiter != 0 && f.waiter != q.k.none {
			out = append(out, attribute{name: "wait_for", addr: f.waiter})
		}
		out = append(out, attribute{name: "cancelling", value: synthetic("int", strconv.Itoa(int(f.numCancels)))})
	}
	switch f.state {
	case cpython.FutureStateFinished:
		if f.exception != 0 && f.exception != q.k.none {
			out = append(out, attribute{name: "exception", addr: f.exception})
		} else {
			out = append(out, attribute{name: "result", addr: f.result})
		}
	case cpython.FutureStateCancelled:
		if f.cancelMsg != 0 && f.cancelMsg != q.k.none {
			out = append(out, attribute{name: "cancel message", addr: f.cancelMsg})
		}
	}
	if f.nCallbacks > 0 {
		out = append(out, attribute{name: "callbacks", value: synthetic("int", strconv.FormatInt(f.nCallbacks, 10))})
	}
	return out, nil
}
