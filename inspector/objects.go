package inspector

import (
	"encoding/binary"
	"slices"
	"strconv"

	"github.com/aioscope/aioscope/cpython"
	"github.com/aioscope/aioscope/inspector/internal/snapmem"
)

// The Python objects the walk decodes besides tasks, coroutines and frames: types, str, int,
// bytes and set objects, each read in one place.

// typeInfo is what the walker needs of a Python type object.
type typeInfo struct {
	flags uint64
	name  string // tp_name, at most cpython.MaxTypeNameLen bytes, as CPython's reader compares it
}

// heap reports a type created at run time (a class), which may have any name.
func (t *typeInfo) heap() bool { return t.flags&cpython.TPFlagsHeapType != 0 }

// typeCache holds the type objects a snapshot met. Types live as long as their instances, and
// the walk meets the same few (coroutine, int, str, future) again and again: the ones met last
// are kept ahead of the map.
type typeCache struct {
	recent addrCache[typeInfo]
	all    map[uint64]*typeInfo
}

// addrCache keeps a few objects by address, ahead of a map that holds them all: one compare
// instead of a hash lookup for the objects a walk meets over and over.
type addrCache[T any] [16]struct {
	addr uint64
	v    *T
}

func (c *addrCache[T]) get(addr uint64) *T {
	if e := &c[(addr>>4)%uint64(len(c))]; e.addr == addr {
		return e.v
	}
	return nil
}

func (c *addrCache[T]) put(addr uint64, v *T) {
	e := &c[(addr>>4)%uint64(len(c))]
	e.addr, e.v = addr, v
}

// typeOf returns the type of the Python object at obj, read through r.
func (w *walker) typeOf(r snapmem.Reader, obj uint64) (*typeInfo, error) {
	tp, err := w.ptr(r, obj+w.o.PyObject.ObType)
	if err != nil {
		return nil, err
	}
	if t := w.types.recent.get(tp); t != nil {
		return t, nil
	}
	if t, ok := w.types.all[tp]; ok {
		w.types.recent.put(tp, t)
		return t, nil
	}
	if tp == 0 {
		return nil, inconsistent("object 0x%x has no type", obj)
	}
	to := &w.o.TypeObject
	flags, err := w.any.Uint64(tp + to.TpFlags)
	if err != nil {
		return nil, err
	}
	namePtr, err := w.any.Uint64(tp + to.TpName)
	if err != nil {
		return nil, err
	}
	if flags&cpython.TPFlagsReady == 0 || namePtr == 0 {
		// Not a type object: the object's memory was freed and reused while it was read.
		return nil, inconsistent("object 0x%x has no valid type", obj)
	}
	t := &typeInfo{flags: flags, name: w.cString(namePtr)}
	if t.name == "" {
		return nil, inconsistent("object 0x%x has no valid type", obj)
	}
	if w.types.all == nil {
		w.types.all = map[uint64]*typeInfo{}
	}
	w.types.all[tp] = t
	w.types.recent.put(tp, t)
	return t, nil
}

// cString reads a type's tp_name, a C string, as far as CPython's reader looks at it.
func (w *walker) cString(addr uint64) string {
	var buf [cpython.MaxTypeNameLen]byte
	if err := w.any.ReadInto(buf[:], addr); err != nil {
		// The name may end just before unmapped memory: read what is there, byte by byte.
		for i := range buf {
			if w.any.ReadInto(buf[i:i+1], addr+uint64(i)) != nil || buf[i] == 0 {
				buf[i] = 0
				break
			}
		}
	}
	if i := slices.Index(buf[:], 0); i >= 0 {
		return string(buf[:i])
	}
	return string(buf[:])
}

// taskName decodes a task's name: a str, or the int counter of an auto-named task ("Task-N"),
// which CPython stores unformatted to save work at task creation.
func (w *walker) taskName(r snapmem.Reader, obj uint64) (string, error) {
	if obj == 0 {
		return "", inconsistent("task without a name object")
	}
	t, err := w.typeOf(r, obj)
	if err != nil {
		return "", err
	}
	switch {
	case t.flags&cpython.TPFlagsLongSubclass != 0:
		v, err := w.smallInt(r, obj)
		if err != nil {
			return "", err
		}
		var buf [32]byte
		return string(strconv.AppendInt(append(buf[:0], "Task-"...), v, 10)), nil
	case t.flags&cpython.TPFlagsUnicodeSubclass != 0:
		return w.str(r, obj, w.l.MaxTaskNameLen)
	}
	return "", inconsistent("invalid task name object at 0x%x", obj)
}

// smallInt decodes an int object that fits in an int64.
func (w *walker) smallInt(r snapmem.Reader, obj uint64) (int64, error) {
	lo := &w.o.LongObject
	tag, err := r.Uint64(obj + lo.LvTag)
	if err != nil {
		return 0, err
	}
	nd := int(min(tag>>3, uint64(w.l.MaxLongDigits)+1))
	digits, err := r.Read(obj+lo.ObDigit, 4*nd)
	if err != nil {
		return 0, err
	}
	v, err := cpython.DecodeLong(tag, digits, w.l.MaxLongDigits)
	if err != nil {
		return 0, inconsistent("int at 0x%x: %v", obj, err)
	}
	return v, nil
}

// str decodes a compact str object, truncated to maxLen code points as CPython's reader does.
// Unlike CPython 3.14's reader it decodes every string kind, so non-ASCII names come out right.
func (w *walker) str(r snapmem.Reader, obj uint64, maxLen int) (string, error) {
	uo := &w.o.UnicodeObject
	// asciiobject_size is a plain value in the table, not checked against the fields read from
	// the header (which are checked against the object's size): a corrupt table giving a small
	// one must make a short read, not an out-of-range index.
	hdr, err := r.Read(obj, int(max(uo.ASCIIObjectSize, uo.Length+8, uo.State+4)))
	if err != nil {
		return "", err
	}
	length := int64(le64(hdr, uo.Length))
	st := cpython.ParseUnicodeState(binary.LittleEndian.Uint32(hdr[uo.State:]))
	if length < 0 {
		return "", inconsistent("invalid string length %d at 0x%x", length, obj)
	}
	if !st.Compact {
		return "", inconsistent("cannot read non-compact string at 0x%x", obj)
	}
	if st.Kind != 1 && st.Kind != 2 && st.Kind != 4 {
		return "", inconsistent("invalid string kind %d at 0x%x", st.Kind, obj)
	}
	n := int(min(length, int64(maxLen)))
	data, err := r.Read(obj+w.o.UnicodeDataOffset(st.ASCII), n*st.Kind)
	if err != nil {
		return "", err
	}
	s, err := cpython.DecodeUnicode(st.Kind, data)
	if err != nil {
		return "", inconsistent("string at 0x%x: %v", obj, err)
	}
	return s, nil
}

// bytesObject copies the contents of a bytes object, or returns nil if it is longer than maxLen.
func (w *walker) bytesObject(r snapmem.Reader, obj uint64, maxLen int) ([]byte, error) {
	if obj == 0 {
		return nil, nil
	}
	bo := &w.o.BytesObject
	n, err := r.Uint64(obj + bo.ObSize)
	if err != nil {
		return nil, err
	}
	if int64(n) < 0 || n > uint64(maxLen) {
		return nil, nil
	}
	data, err := r.Read(obj+bo.ObSval, int(n))
	if err != nil {
		return nil, err
	}
	// The read may alias this snapshot's page copies; the caller may keep the result longer.
	return append([]byte(nil), data...), nil
}

// setMembers returns the keys of a Python set in hash-table slot order, skipping empty slots
// and the dummy entries deleted keys leave behind (hash -1), and the Reader for what they are.
func (w *walker) setMembers(r snapmem.Reader, set uint64) ([]uint64, snapmem.Reader, error) {
	so := &w.o.SetObject
	sb, r, err := r.Object(set, int(so.Size))
	if err != nil {
		return nil, r, err
	}
	used := int64(le64(sb, so.Used))
	mask := le64(sb, so.Mask)
	table := le64(sb, so.Table)
	if mask >= w.l.MaxSetMask || used < 0 || uint64(used) > mask+1 || table == 0 {
		return nil, r, inconsistent("invalid set object at 0x%x (used=%d mask=%d)", set, used, mask)
	}
	entries, r, err := r.Object(table, int(16*(mask+1)))
	if err != nil {
		return nil, r, err
	}
	var keys []uint64
	for i := uint64(0); i <= mask && int64(len(keys)) < used; i++ {
		key := le64(entries, 16*i) &^ w.l.TagBits
		hash := int64(le64(entries, 16*i+8))
		if key != 0 && hash != -1 {
			keys = append(keys, key)
		}
	}
	return keys, r, nil
}
