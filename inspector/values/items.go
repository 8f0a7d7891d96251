package values

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/aioscope/aioscope/cpython"
)

// Item reads obj[key] for the object at addr: an item of a list, tuple or deque (an int key,
// negative counting from the end), or of a dict or frozendict (a str key, or an int key, which
// also finds an equal bool or float key). It fails with a *PyError (IndexError, KeyError,
// TypeError) when Python would, and with a *NeedsCodeError when the object's class defines
// __getitem__ (or, for a missing key, __missing__) in Python.
func (r *Reader) Item(addr uint64, key Key) (Value, error) {
	if addr == 0 {
		return Value{}, errTagged("item " + key.repr())
	}
	q, t, err := r.objectReq(addr)
	if err != nil {
		return Value{}, err
	}
	tn := q.typeNameOr(t)
	what := fmt.Sprintf("item %s of a '%s' object", key.repr(), tn)
	if o, err := q.overrides(t, "__getitem__"); err != nil {
		return Value{}, err
	} else if o {
		return Value{}, &NeedsCodeError{What: what, Why: "its class defines __getitem__"}
	}
	kind := q.containerKind(t)
	var v uint64
	switch kind {
	case "list", "tuple", "deque":
		if key.IsStr {
			return Value{}, &PyError{Type: "TypeError", Message: fmt.Sprintf("%s indices must be integers or slices, not str", kind)}
		}
		if v, err = q.seqItem(addr, kind, key.Int); err != nil {
			return Value{}, err
		}
	case "dict", "frozendict":
		if v, err = q.dictItem(addr, key); err != nil {
			return Value{}, err
		}
		if v == 0 {
			if o, err := q.overrides(t, "__missing__"); err != nil {
				return Value{}, err
			} else if o {
				return Value{}, &NeedsCodeError{What: what, Why: "the key is missing and its class defines __missing__"}
			}
			return Value{}, &PyError{Type: "KeyError", Message: key.repr()}
		}
	case "set":
		return Value{}, &PyError{Type: "TypeError", Message: fmt.Sprintf("'%s' object is not subscriptable", tn)}
	case "str", "bytes", "bytearray":
		return Value{}, &NeedsCodeError{What: what, Why: "indexing a " + kind + " makes a new object"}
	default:
		switch addr {
		case q.k.none, q.k.trueObj, q.k.falseObj, q.k.ellipsis, q.k.notImpl:
			return Value{}, &PyError{Type: "TypeError", Message: fmt.Sprintf("'%s' object is not subscriptable", tn)}
		}
		switch q.k.reprs[t.repr] {
		case "int", "float", "complex", "object":
			return Value{}, &PyError{Type: "TypeError", Message: fmt.Sprintf("'%s' object is not subscriptable", tn)}
		}
		if t.heap {
			if known, err := q.attrsKnown(t, "x"); err != nil {
				return Value{}, err
			} else if known {
				return Value{}, &PyError{Type: "TypeError", Message: fmt.Sprintf("'%s' object is not subscriptable", tn)}
			}
		}
		return Value{}, &NeedsCodeError{What: what, Why: "aioscope reads items of lists, tuples, deques and dicts only"}
	}
	return q.value(v)
}

// seqItem is item i of a list, tuple or deque.
func (q *req) seqItem(addr uint64, kind string, i int64) (uint64, error) {
	var n int64
	var s seqInfo
	var d dequeInfo
	var err error
	switch kind {
	case "list":
		s, err = q.list(addr)
		n = s.n
	case "tuple":
		s, err = q.tuple(addr)
		n = s.n
	case "deque":
		d, err = q.deque(addr)
		n = d.n
	}
	if err != nil {
		return 0, err
	}
	if i < 0 {
		i += n
	}
	if i < 0 || i >= n {
		return 0, &PyError{Type: "IndexError", Message: kind + " index out of range"}
	}
	var items []uint64
	if kind == "deque" {
		items, err = q.dequeItems(addr, d, i, 1)
	} else {
		items, err = q.items(addr, s, i, 1)
	}
	if err != nil {
		return 0, err
	}
	if len(items) != 1 {
		return 0, changed(addr, "%s of %d items has no item %d", kind, n, i)
	}
	return items[0], nil
}

// dictItem finds key in the dict at addr; 0 when absent. An int key is looked up in the hash
// table, as Python does; a str key by walking the items, since str hashes are keyed with the
// target's secret.
func (q *req) dictItem(addr uint64, key Key) (uint64, error) {
	it, err := q.dict(addr)
	if err != nil {
		return 0, err
	}
	if !key.IsStr {
		switch it.keys.Kind {
		case cpython.DictKeysUnicode, cpython.DictKeysSplit:
			return 0, nil // such a table holds str keys only
		case cpython.DictKeysGeneral:
			if !it.split {
				return q.probeInt(addr, it, key.Int)
			}
		}
	}
	for {
		k, v, ok, err := it.next()
		if err != nil || !ok {
			return 0, err
		}
		eq, err := q.keyEquals(k, key)
		if err != nil {
			return 0, err
		}
		if eq {
			return v, nil
		}
	}
}

// pyHashInt is hash(n) of an int, which involves no secret: n modulo 2**61 - 1, keeping the
// sign, and -2 for -1.
func pyHashInt(n int64) int64 {
	const modulus = 1<<61 - 1
	var h int64
	if n >= 0 {
		h = int64(uint64(n) % modulus)
	} else {
		h = -int64((uint64(-(n + 1)) + 1) % modulus)
	}
	if h == -1 {
		h = -2
	}
	return h
}

// perturbShift is PERTURB_SHIFT of Objects/dictobject.c.
const perturbShift = 5

// probeInt looks up an int key in a combined dict's hash table as dictobject.c's lookup does:
// slot hash & mask, then the perturbed sequence, until an empty slot.
func (q *req) probeInt(addr uint64, it *dictIter, n int64) (uint64, error) {
	k := &it.keys
	size := uint64(1) << k.Log2Size
	width := uint64(1) << (k.Log2IndexBytes - k.Log2Size)
	h := pyHashInt(n)
	mask := size - 1
	perturb := uint64(h)
	i := perturb & mask
	for probes := uint64(0); probes < 2*size+64; probes++ {
		b, err := q.read(it.keysA+q.r.v.Dict.KeysIndices+i*width, int(width))
		if err != nil {
			return 0, err
		}
		var ix int64
		switch width {
		case 1:
			ix = int64(int8(b[0]))
		case 2:
			ix = int64(int16(binary.LittleEndian.Uint16(b)))
		case 4:
			ix = int64(int32(le32(b, 0)))
		default:
			ix = int64(le64(b, 0))
		}
		switch {
		case ix == -1: // DKIX_EMPTY
			return 0, nil
		case ix >= k.NEntries || ix < -2:
			return 0, changed(addr, "dict index %d of %d entries", ix, k.NEntries)
		case ix >= 0:
			e, err := q.read(it.keysA+k.EntriesOffset+uint64(ix)*k.EntrySize, int(k.EntrySize))
			if err != nil {
				return 0, err
			}
			if int64(le64(e, 0)) == h {
				key, value := le64(e, k.KeyOffset), le64(e, k.ValueOffset)
				if key == 0 || value == 0 || key%8 != 0 || value%8 != 0 {
					return 0, changed(addr, "dict entry %d: key %#x value %#x", ix, key, value)
				}
				if eq, err := q.keyEquals(key, IntKey(n)); err != nil || eq {
					return value, err
				}
			}
		}
		perturb >>= perturbShift
		i = mask & (i*5 + perturb + 1)
		if q.timeUp() {
			return 0, errTimeUp
		}
	}
	return 0, changed(addr, "dict probe of %d slots found no empty one", size)
}

// keyEquals reports whether the object at k equals key as a dict compares keys.
func (q *req) keyEquals(k uint64, key Key) (bool, error) {
	if !key.IsStr {
		switch k {
		case q.k.trueObj:
			return key.Int == 1, nil
		case q.k.falseObj:
			return key.Int == 0, nil
		}
	}
	t, err := q.typeOf(k)
	if err != nil {
		return false, err
	}
	if key.IsStr {
		if t.flags&cpython.TPFlagsUnicodeSubclass == 0 {
			return false, nil
		}
		_, length, _, _, _, err := q.strLayout(k)
		if err != nil {
			return false, err
		}
		if length > int64(len(key.Str)) {
			return false, nil // a code point takes at least one byte of UTF-8
		}
		s, err := q.strValue(k, int(length))
		return s == key.Str, err
	}
	switch q.k.reprs[t.repr] {
	case "int":
	case "float":
		f, err := q.float(k)
		return err == nil && f == float64(key.Int) && int64(f) == key.Int, err
	default:
		if t.flags&cpython.TPFlagsLongSubclass == 0 {
			return false, nil
		}
	}
	s, err := q.intText(k)
	return s == strconv.FormatInt(key.Int, 10), err
}

// Len reads len(obj) for the object at addr: the length of a str (in code points), bytes,
// bytearray, tuple, list, dict, frozendict, set, frozenset or deque. It fails with a *PyError
// (TypeError) for an object Python gives no length, and with a *NeedsCodeError when the
// object's class defines __len__ in Python.
func (r *Reader) Len(addr uint64) (int64, error) {
	if addr == 0 {
		return 0, &PyError{Type: "TypeError", Message: "object of type 'int' has no len()"}
	}
	q, t, err := r.objectReq(addr)
	if err != nil {
		return 0, err
	}
	tn := q.typeNameOr(t)
	if o, err := q.overrides(t, "__len__"); err != nil {
		return 0, err
	} else if o {
		return 0, &NeedsCodeError{What: fmt.Sprintf("len() of a '%s' object", tn), Why: "its class defines __len__"}
	}
	switch addr {
	case q.k.none, q.k.trueObj, q.k.falseObj, q.k.ellipsis, q.k.notImpl:
		return 0, &PyError{Type: "TypeError", Message: fmt.Sprintf("object of type '%s' has no len()", tn)}
	}
	switch kind := q.containerKind(t); kind {
	case "str":
		_, n, _, _, _, err := q.strLayout(addr)
		return n, err
	case "bytes":
		n, _, err := q.bytesData(addr, 0)
		return n, err
	case "bytearray":
		n, err := q.i64(addr + q.r.v.ByteArray.Size)
		if err == nil && (n < 0 || n > maxLen) {
			err = changed(addr, "bytearray of %d bytes", n)
		}
		return n, err
	case "":
	default:
		return q.containerLen(addr, kind)
	}
	switch q.k.reprs[t.repr] {
	case "int", "float", "bool", "complex", "object", "type", "BaseException":
		return 0, &PyError{Type: "TypeError", Message: fmt.Sprintf("object of type '%s' has no len()", tn)}
	}
	if t.heap {
		if known, err := q.attrsKnown(t, "x"); err != nil {
			return 0, err
		} else if known {
			return 0, &PyError{Type: "TypeError", Message: fmt.Sprintf("object of type '%s' has no len()", tn)}
		}
	}
	return 0, &NeedsCodeError{What: fmt.Sprintf("len() of a '%s' object", tn), Why: "aioscope reads the length of built-in containers, strings and bytes only"}
}

// Naming says how the children Children lists for a value are named, so that a client can
// write an expression for each.
type Naming uint8

const (
	NoChildren     Naming = iota
	IndexNames            // items of a tuple, list or deque: obj[i]
	KeyNames              // items of a dict: named by the key's repr, obj[key]
	PositionNames         // items of a set: positions, which no expression names
	AttributeNames        // attributes of an object: obj.name
	StateNames            // a Future's or Task's state (no expression names it), then attributes
)

// ChildNaming says how the children of the object at addr are named.
func (r *Reader) ChildNaming(addr uint64) (Naming, error) {
	if addr == 0 {
		return NoChildren, nil
	}
	q, t, err := r.objectReq(addr)
	if err != nil {
		return NoChildren, err
	}
	kind, _, err := q.shape(addr, t)
	if err != nil {
		return NoChildren, err
	}
	switch kind {
	case shapeSeq, shapeDeque:
		return IndexNames, nil
	case shapeDict:
		return KeyNames, nil
	case shapeSet:
		return PositionNames, nil
	case shapeFuture:
		return StateNames, nil
	case shapeInstance:
		return AttributeNames, nil
	}
	return NoChildren, nil
}
