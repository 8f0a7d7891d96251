package values

import (
	"unicode/utf8"

	"github.com/aioscope/aioscope/cpython"
)

// handleRepr is Handle.__repr__ with Handle._repr_info or TimerHandle._repr_info:
// <TimerHandle when=1234.5 _set_result_unless_cancelled() at /…/futures.py:NNN>.
func (q *req) handleRepr(addr uint64, t *typeInfo) (bool, error) {
	m := &q.k.mods
	_, info, err := q.lookup(t, "_repr_info")
	if err != nil || (info != m.handleInfo && info != m.timerInfo) || info == 0 {
		return false, err
	}
	mark := len(q.out)
	ok, err := q.handleReprInfo(addr, t, info == m.timerInfo)
	if err == errNotState || (err == nil && !ok) {
		q.out = q.out[:mark]
		return false, nil
	}
	return true, err
}

func (q *req) handleReprInfo(addr uint64, t *typeInfo, timer bool) (bool, error) {
	var cached, cancelled, callback, loop, srcTB, when uint64
	for _, s := range []struct {
		name string
		dst  *uint64
	}{{"_repr", &cached}, {"_cancelled", &cancelled}, {"_callback", &callback}, {"_loop", &loop},
		{"_source_traceback", &srcTB}, {"_when", &when}} {
		if s.name == "_when" && !timer {
			continue
		}
		v, err := q.slotValue(addr, t, s.name)
		if err != nil {
			return false, err
		}
		if v == 0 {
			return false, nil
		}
		*s.dst = v
	}
	if cached != q.k.none {
		// Handle.cancel() in debug mode keeps the repr it had: show that text.
		if ok, err := q.isStr(cached); err != nil || !ok {
			return false, err
		}
		s, err := q.str(cached, q.r.lim.MaxReprLen)
		if err != nil {
			return false, err
		}
		text, err := cpython.DecodeUnicode(s.kind, s.data)
		if err != nil || !utf8.ValidString(text) {
			return false, err
		}
		q.write(text)
		return true, nil
	}
	if srcTB != q.k.none {
		return false, nil // debug mode: "created at" from a traceback summary
	}
	debug, err := q.loopDebug(loop)
	if err != nil || debug {
		return false, err
	}
	isCancelled, err := q.truthy(cancelled)
	if err != nil {
		return false, err
	}
	name, err := q.typeName(t)
	if err != nil {
		return false, err
	}
	q.write("<" + name)
	if isCancelled {
		q.write(" cancelled")
	}
	if timer {
		x, ok, err := q.floatObject(when)
		if err != nil || !ok {
			return false, err
		}
		q.write(" when=")
		q.writeFloat(x)
	}
	if callback != q.k.none {
		q.writeByte(' ')
		if ok, err := q.callbackSource(callback); err != nil || !ok {
			return false, err
		}
	}
	q.writeByte('>')
	return true, nil
}

// loopDebug is loop.get_debug(): the event loop's _debug attribute.
func (q *req) loopDebug(loop uint64) (bool, error) {
	if loop == q.k.none {
		return false, nil
	}
	// Every handle of a snapshot has the same loop.
	if debug, ok := q.r.moment.debug(loop); ok {
		return debug, nil
	}
	debug, err := q.readLoopDebug(loop)
	if err == nil {
		q.r.moment.putDebug(loop, debug)
	}
	return debug, err
}

func (q *req) readLoopDebug(loop uint64) (bool, error) {
	lt, err := q.typeOf(loop)
	if err != nil {
		return false, err
	}
	d, err := q.instAttr(loop, lt, "_debug")
	if err != nil {
		return false, err
	}
	if d == 0 {
		return false, errNotState
	}
	return q.truthy(d)
}

// maxUnwrap bounds the __wrapped__ chain inspect.unwrap follows (it stops at sys.getrecursionlimit()).
const maxUnwrap = 100

// callbackSource is format_helpers._format_callback_source(func, ()) outside debug mode:
// "qualname()" and, for a Python function, " at file:line" of the function it wraps. ok is
// false for callables whose name needs code (functools.partial, other objects).
func (q *req) callbackSource(fn uint64) (bool, error) {
	// Thousands of handles of one snapshot call the same function.
	if text, ok := q.r.moment.callback(fn); ok {
		q.write(text)
		return true, nil
	}
	ft, err := q.typeOf(fn)
	if err != nil {
		return false, err
	}
	switch {
	case ft.static("function"):
		mark := len(q.out)
		ok, err := q.functionSource(fn)
		if ok && err == nil {
			q.r.moment.putCallback(fn, string(q.out[mark:]))
		}
		return ok, err
	case ft.static("method"):
		// A bound method's __qualname__ is its function's; inspect.isfunction is False.
		f, err := q.ptr(fn + 16)
		if err != nil {
			return false, err
		}
		fft, err := q.typeOf(f)
		if err != nil || !fft.static("function") {
			return false, err
		}
		qn, err := q.ptr(f + q.r.v.Function.Qualname)
		if err != nil {
			return false, err
		}
		s, err := q.name(qn)
		if err != nil {
			return false, err
		}
		q.write(s + "()")
		return true, nil
	case ft.static("builtin_function_or_method"):
		if err := q.writeCfunctionQualname(fn); err != nil {
			return false, err
		}
		q.write("()")
		return true, nil
	}
	return false, nil
}

// functionSource writes what _format_callback_source writes for a Python function: its
// qualified name, "()" and where the function it wraps (inspect.unwrap) is defined.
func (q *req) functionSource(fn uint64) (bool, error) {
	qn, err := q.ptr(fn + q.r.v.Function.Qualname)
	if err != nil {
		return false, err
	}
	if err := q.writeName(qn); err != nil {
		return false, err
	}
	q.write("()")
	// inspect.unwrap, then the code's file and first line.
	inner := fn
	for i := 0; ; i++ {
		if i == maxUnwrap {
			return false, nil
		}
		fd, err := q.optPtr(inner + q.r.v.Function.Dict)
		if err != nil {
			return false, err
		}
		if fd == 0 {
			break
		}
		w, err := q.dictGet(fd, "__wrapped__")
		if err != nil {
			return false, err
		}
		if w == 0 {
			break
		}
		wt, err := q.typeOf(w)
		if err != nil {
			return false, err
		}
		if !wt.static("function") {
			return false, nil
		}
		inner = w
	}
	code, err := q.ptr(inner + q.r.v.Function.Code)
	if err != nil {
		return false, err
	}
	co := &q.r.off.CodeObject
	b, err := q.read(code, int(co.Size))
	if err != nil {
		return false, err
	}
	fileP, line := le64(b, co.Filename), int64(int32(le32(b, co.FirstLineNo)))
	q.write(" at ")
	if err := q.writeName(fileP); err != nil {
		return false, err
	}
	q.writeByte(':')
	q.writeInt(line)
	return true, nil
}

// writeCfunctionQualname writes a built-in function's __qualname__: its name, prefixed with the
// qualified name of the type of the object it is bound to (unless that is a module).
func (q *req) writeCfunctionQualname(fn uint64) error {
	name, self, st, err := q.cfunction(fn)
	if err != nil {
		return err
	}
	if self == 0 {
		q.write(name)
		return nil
	}
	owner := st
	if st.flags&cpython.TPFlagsTypeSubclass != 0 {
		if owner, err = q.typ(self); err != nil {
			return err
		}
	}
	qn, err := q.typeQualname(owner)
	if err != nil {
		return err
	}
	q.write(qn)
	q.writeByte('.')
	q.write(name)
	return nil
}

// methodName is the ml_name of the PyMethodDef at ml: static data, read once in a moment (every
// task's wakeup callback has the same).
func (q *req) methodName(ml uint64) (string, error) {
	m := q.r.moment
	if name, ok := momentGet(m, m.methodNames(), ml); ok {
		return name, nil
	}
	np, err := q.bytePtr(ml + q.r.v.CFunction.MlName)
	if err != nil {
		return "", err
	}
	name, err := q.cString(np)
	if err == nil && m != nil {
		momentPut(m, &m.methods, ml, name)
	}
	return name, err
}

// timeoutRepr is asyncio.Timeout.__repr__: <Timeout [active] when=1234.568>.
func (q *req) timeoutRepr(addr uint64) (bool, error) {
	t, err := q.typeOf(addr)
	if err != nil {
		return false, err
	}
	var state, when uint64
	if err := q.instAttrs(addr, t, map[string]*uint64{"_state": &state, "_when": &when}); err != nil {
		return false, err
	}
	if state == 0 || when == 0 {
		return false, nil
	}
	st, err := q.typeOf(state)
	if err != nil {
		return false, err
	}
	if st.addr != q.k.mods.stateType || st.addr == 0 {
		return false, nil
	}
	var name, value uint64
	if err := q.instAttrs(state, st, map[string]*uint64{"_name_": &name, "_value_": &value}); err != nil {
		return false, err
	}
	if name == 0 || value == 0 {
		return false, nil
	}
	entered, err := q.strEquals(name, "ENTERED")
	if err != nil {
		return false, err
	}
	if ok, err := q.isStr(value); err != nil || !ok {
		return false, err
	}
	v, err := q.strValue(value, maxName)
	if err != nil {
		return false, err
	}
	q.write("<Timeout [" + v + "]")
	if entered {
		q.write(" when=")
		if when == q.k.none {
			q.write("None")
		} else {
			x, ok, err := q.floatObject(when)
			if err != nil || !ok {
				return false, err
			}
			q.writeFloat(cpython.RoundFloat(x, 3))
		}
	}
	q.writeByte('>')
	return true, nil
}
