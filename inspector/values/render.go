package values

import (
	"strconv"

	"github.com/aioscope/aioscope/cpython"
)

// The repr dispatch mirrors CPython's: singletons by address, then the type's tp_repr (inherited
// unchanged by subclasses that define no __repr__), then the Python-level __repr__ found along
// the MRO for the standard-library classes whose repr depends only on their state.

func (q *req) write(s string)   { q.out = append(q.out, s...) }
func (q *req) writeByte(c byte) { q.out = append(q.out, c) }
func (q *req) writeAddr(a uint64) {
	q.out = append(append(q.out, "0x"...), strconv.FormatUint(a, 16)...)
}
func (q *req) writeInt(v int64)     { q.out = strconv.AppendInt(q.out, v, 10) }
func (q *req) writeFloat(x float64) { q.out = cpython.AppendFloatRepr(q.out, x) }

// repr appends repr() of the object at addr. depth counts the containers around it.
func (q *req) repr(addr uint64, depth int) error {
	k := q.k
	switch addr {
	case 0:
		return changed(0, "NULL object")
	case k.none:
		q.write("None")
		return nil
	case k.trueObj:
		q.write("True")
		return nil
	case k.falseObj:
		q.write("False")
		return nil
	case k.ellipsis:
		q.write("Ellipsis")
		return nil
	case k.notImpl:
		q.write("NotImplemented")
		return nil
	}
	t, err := q.typeOf(addr)
	if err != nil {
		return err
	}
	switch q.builtin(t) {
	case "int":
		s, err := q.intText(addr)
		if err != nil {
			return err
		}
		if len(s) > 0 && s[0] == '<' {
			q.trunc = true
		}
		q.write(s)
		return nil
	case "bool":
		return changed(addr, "a bool that is neither True nor False")
	case "float":
		x, err := q.float(addr)
		if err != nil {
			return err
		}
		q.writeFloat(x)
		return nil
	case "str":
		return q.strRepr(addr)
	case "bytes":
		return q.bytesRepr(addr, "", "")
	case "bytearray":
		return q.bytearrayRepr(addr)
	case "tuple", "list", "set", "dict", "frozendict":
		return q.containerRepr(addr, t, q.builtin(t), depth)
	case "object":
		t.update(func(ext *typeExt) {
			ext.reprByType = true
		})
		return q.objectRepr(addr, t)
	case "BaseException":
		return q.exceptionRepr(addr, t, depth)
	case "type":
		return q.typeRepr(addr)
	}
	m := &k.mods
	switch {
	case t.repr == m.dequeRepr && m.dequeRepr != 0:
		return q.containerRepr(addr, t, "deque", depth)
	case t.repr == m.taskRepr && m.taskRepr != 0:
		return q.taskRepr(addr, t, depth)
	case t.repr == m.futureRepr && m.futureRepr != 0:
		return q.futureRepr(addr, t, depth)
	}
	if !t.heap {
		switch t.name {
		case "function":
			return q.functionRepr(addr)
		case "coroutine", "generator", "async_generator":
			return q.genRepr(addr, t)
		case "builtin_function_or_method":
			return q.cfunctionRepr(addr)
		case "code":
			return q.codeRepr(addr)
		case "cell":
			return q.cellRepr(addr)
		case "lazy_import":
			return q.lazyImportRepr(addr)
		case "module":
			return q.moduleRepr(addr, t)
		}
	}
	if t.heap {
		_, fn, err := q.lookup(t, "__repr__")
		if err != nil {
			return err
		}
		if done, err := q.pythonRepr(addr, t, fn, depth); done || err != nil {
			return err
		}
		if !q.knownRepr(fn) {
			// Not a __repr__ the reader reproduces, nor a dataclass's: every instance of the
			// class gets the object repr.
			t.update(func(ext *typeExt) {
				ext.reprByType = true
			})
		}
	}
	// A repr that runs code: say what the object is, the way object.__repr__ would.
	q.inexact = true
	return q.objectRepr(addr, t)
}

// knownRepr reports whether fn is one of the standard library's __repr__ the reader
// reproduces from an object's state.
func (q *req) knownRepr(fn uint64) bool {
	m := &q.k.mods
	if fn == 0 {
		return false
	}
	switch fn {
	case m.enumRepr, m.flagRepr, m.eventRepr, m.lockRepr, m.semRepr, m.condRepr, m.queueRepr, m.handleRepr, m.timeoutRepr:
		return true
	}
	return false
}

// pythonRepr renders objects whose class has a Python-level __repr__ (fn) that the reader
// reproduces. done is false when it does not know fn.
func (q *req) pythonRepr(addr uint64, t *typeInfo, fn uint64, depth int) (bool, error) {
	m := &q.k.mods
	if fn == 0 {
		return false, nil
	}
	switch fn {
	case m.enumRepr, m.flagRepr:
		return q.enumRepr(addr, t, fn == m.flagRepr, depth)
	case m.eventRepr, m.lockRepr, m.semRepr, m.condRepr:
		return true, q.lockRepr(addr, t, fn)
	case m.queueRepr:
		return true, q.queueRepr(addr, t, depth)
	case m.handleRepr:
		return q.handleRepr(addr, t)
	case m.timeoutRepr:
		return q.timeoutRepr(addr)
	}
	return q.dataclassRepr(addr, t, fn, depth)
}

// strRepr appends repr() of a str, cut to MaxStrLen code points.
func (q *req) strRepr(addr uint64) error {
	max := q.r.lim.MaxStrLen
	s, err := q.strView(addr, max)
	if err != nil {
		return err
	}
	q.out = cpython.AppendStrRepr(q.out, q.r.print, s.kind, s.data)
	if s.length > int64(len(s.data)/s.kind) {
		q.trunc = true
		q.out = append(q.out, "... <"...)
		q.out = strconv.AppendInt(q.out, s.length, 10)
		q.out = append(q.out, " chars>"...)
	}
	return nil
}

func (q *req) bytesRepr(addr uint64, prefix, suffix string) error {
	n, b, err := q.bytesData(addr, q.r.lim.MaxStrLen)
	if err != nil {
		return err
	}
	q.write(prefix)
	q.out = cpython.AppendBytesRepr(q.out, b)
	q.write(suffix)
	q.bytesCut(n, len(b))
	return nil
}

func (q *req) bytesCut(n int64, shown int) {
	if n > int64(shown) {
		q.trunc = true
		q.out = append(q.out, "... <"...)
		q.out = strconv.AppendInt(q.out, n, 10)
		q.out = append(q.out, " bytes>"...)
	}
}

func (q *req) bytearrayRepr(addr uint64) error {
	ba := &q.r.v.ByteArray
	n, err := q.i64(addr + ba.Size)
	if err != nil {
		return err
	}
	if n < 0 || n > maxLen {
		return changed(addr, "bytearray of %d bytes", n)
	}
	m := min(n, int64(q.r.lim.MaxStrLen))
	var b []byte
	if m > 0 {
		start, err := q.bytePtr(addr + ba.Start)
		if err != nil {
			return err
		}
		if b, err = q.readCopy(start, int(m)); err != nil {
			return err
		}
	}
	t, err := q.typeOf(addr)
	if err != nil {
		return err
	}
	name, err := q.typeName(t)
	if err != nil {
		return err
	}
	// bytearray_repr uses the type's __name__ (subclasses included) around the bytes repr.
	q.write(name)
	q.writeByte('(')
	q.out = cpython.AppendBytesRepr(q.out, b)
	q.writeByte(')')
	q.bytesCut(n, len(b))
	return nil
}
