package values

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/aioscope/aioscope/cpython"
)

// The reprs of asyncio's objects are Python code (asyncio/locks.py, queues.py, events.py,
// timeouts.py, base_futures.py, base_tasks.py), identical in 3.14 and 3.15. They print state
// only, so the reader reproduces them from the objects' fields.

// truthy is bool(v) for the values asyncio keeps in its flags: bools, None, ints, and
// containers (by length).
func (q *req) truthy(v uint64) (bool, error) {
	switch v {
	case 0:
		return false, changed(0, "NULL attribute")
	case q.k.trueObj:
		return true, nil
	case q.k.falseObj, q.k.none:
		return false, nil
	}
	t, err := q.typeOf(v)
	if err != nil {
		return false, err
	}
	kind := q.builtin(t)
	if t.repr == q.k.mods.dequeRepr && q.k.mods.dequeRepr != 0 {
		kind = "deque"
	}
	switch kind {
	case "int":
		tag, err := q.u64(v + q.r.off.LongObject.LvTag)
		if err != nil {
			return false, err
		}
		lt, err := cpython.ParseLongTag(tag)
		if err != nil {
			return false, changed(v, "%v", err)
		}
		return !lt.Zero, nil
	case "list", "tuple", "dict", "set", "deque":
		n, err := q.containerLen(v, kind)
		return n > 0, err
	}
	return false, errNotState
}

// errNotState: an attribute does not have a type whose truth the reader knows; the object's
// repr falls back.
var errNotState = fmt.Errorf("values: state of an unexpected type")

// sizedLen is len(v) for a deque or list of waiters, 0 for None.
func (q *req) sizedLen(v uint64) (int64, error) {
	if v == q.k.none || v == 0 {
		return 0, nil
	}
	t, err := q.typeOf(v)
	if err != nil {
		return 0, err
	}
	kind := q.builtin(t)
	if t.repr == q.k.mods.dequeRepr && q.k.mods.dequeRepr != 0 {
		kind = "deque"
	}
	switch kind {
	case "list", "tuple", "dict", "set", "deque":
		return q.containerLen(v, kind)
	}
	return 0, errNotState
}

// withFallback renders a state-based repr; when the state is not what asyncio keeps there, the
// object gets the default object repr instead.
func (q *req) withFallback(addr uint64, t *typeInfo, render func() error) error {
	mark := len(q.out)
	err := render()
	if err == errNotState {
		q.out = q.out[:mark]
		q.inexact = true
		return q.objectRepr(addr, t)
	}
	return err
}

// lockRepr is the __repr__ of Event, Lock, Semaphore and Condition:
// <asyncio.locks.Lock object at 0x… [locked, waiters:2]>.
func (q *req) lockRepr(addr uint64, t *typeInfo, fn uint64) error {
	m := &q.k.mods
	return q.withFallback(addr, t, func() error {
		var value, locked, waiters, lock uint64
		if err := q.instAttrs(addr, t, map[string]*uint64{"_value": &value, "_locked": &locked, "_waiters": &waiters, "_lock": &lock}); err != nil {
			return err
		}
		var extra string
		switch fn {
		case m.eventRepr:
			set, err := q.truthy(value)
			if err != nil {
				return err
			}
			extra = map[bool]string{true: "set", false: "unset"}[set]
		case m.lockRepr:
			l, err := q.truthy(locked)
			if err != nil {
				return err
			}
			extra = map[bool]string{true: "locked", false: "unlocked"}[l]
		case m.semRepr:
			l, err := q.semaphoreLocked(value, waiters)
			if err != nil {
				return err
			}
			if l {
				extra = "locked"
			} else {
				vt, err := q.typeOf(value)
				if err != nil {
					return err
				}
				if q.builtin(vt) != "int" {
					return errNotState
				}
				s, err := q.intText(value)
				if err != nil {
					return err
				}
				extra = "unlocked, value:" + s
			}
		case m.condRepr:
			// Condition.locked is the bound lock.locked of its _lock.
			if lock == 0 {
				return errNotState
			}
			lt, err := q.typeOf(lock)
			if err != nil {
				return err
			}
			var ll uint64
			if err := q.instAttrs(lock, lt, map[string]*uint64{"_locked": &ll}); err != nil {
				return err
			}
			l, err := q.truthy(ll)
			if err != nil {
				return err
			}
			extra = map[bool]string{true: "locked", false: "unlocked"}[l]
		}
		if waiters == 0 {
			return errNotState
		}
		n, err := q.sizedLen(waiters)
		if err != nil {
			return err
		}
		if n > 0 {
			extra += ", waiters:" + strconv.FormatInt(n, 10)
		}
		if err := q.objectRepr(addr, t); err != nil {
			return err
		}
		q.out = q.out[:len(q.out)-1] // the object repr's ">"
		q.write(" [" + extra + "]>")
		return nil
	})
}

// semaphoreLocked is Semaphore.locked(): no value left, or a waiter not cancelled.
func (q *req) semaphoreLocked(value, waiters uint64) (bool, error) {
	if value == 0 {
		return false, errNotState
	}
	v, err := q.truthy(value)
	if err != nil {
		return false, err
	}
	if !v {
		return true, nil
	}
	if waiters == q.k.none || waiters == 0 {
		return false, nil
	}
	wt, err := q.typeOf(waiters)
	if err != nil {
		return false, err
	}
	if wt.repr != q.k.mods.dequeRepr || q.k.mods.dequeRepr == 0 {
		return false, errNotState
	}
	d, err := q.deque(waiters)
	if err != nil {
		return false, err
	}
	for start := int64(0); start < d.n; start += chunkEntries {
		if q.timeUp() {
			return false, errTimeUp
		}
		ws, err := q.dequeItems(waiters, d, start, chunkEntries)
		if err != nil {
			return false, err
		}
		for _, w := range ws {
			st, err := q.futureState(w)
			if err != nil {
				return false, err
			}
			if st != cpython.FutureStateCancelled {
				return true, nil
			}
		}
	}
	return false, nil
}

// isFuture reports whether addr is an _asyncio.Future or Task (or a subclass).
func (q *req) isFuture(t *typeInfo) (bool, error) {
	m := &q.k.mods
	if m.futureType == 0 {
		return false, nil
	}
	if t.repr == m.futureRepr || t.repr == m.taskRepr {
		return q.isSubtype(t, m.futureType)
	}
	return false, nil
}

// futureState reads fut_state of an _asyncio Future or Task.
func (q *req) futureState(addr uint64) (int32, error) {
	t, err := q.typeOf(addr)
	if err != nil {
		return 0, err
	}
	if ok, err := q.isFuture(t); err != nil {
		return 0, err
	} else if !ok {
		return 0, errNotState
	}
	b, err := q.read(addr+q.r.v.Future.State, 4)
	if err != nil {
		return 0, err
	}
	st := int32(le32(b, 0))
	if st < cpython.FutureStatePending || st > cpython.FutureStateFinished {
		return 0, changed(addr, "future state %d", st)
	}
	return st, nil
}

// queueRepr is Queue.__repr__: <Queue at 0x… maxsize=2 _queue=[1] _getters[1] tasks=1>.
func (q *req) queueRepr(addr uint64, t *typeInfo, depth int) error {
	return q.withFallback(addr, t, func() error {
		var maxsize, queue, getters, putters, unfinished, shutdown uint64
		if err := q.instAttrs(addr, t, map[string]*uint64{"_maxsize": &maxsize, "_queue": &queue, "_getters": &getters,
			"_putters": &putters, "_unfinished_tasks": &unfinished, "_is_shutdown": &shutdown}); err != nil {
			return err
		}
		if maxsize == 0 || getters == 0 || putters == 0 || unfinished == 0 || shutdown == 0 {
			return errNotState
		}
		name, err := q.typeName(t)
		if err != nil {
			return err
		}
		q.write("<" + name + " at ")
		q.writeAddr(addr)
		q.write(" maxsize=")
		if err := q.repr(maxsize, depth+1); err != nil {
			return err
		}
		if queue != 0 {
			if n, err := q.sizedLen(queue); err != nil {
				return err
			} else if n > 0 {
				q.write(" _queue=")
				if err := q.listOf(queue, depth); err != nil {
					return err
				}
			}
		}
		for _, w := range []struct {
			name string
			v    uint64
		}{{"_getters", getters}, {"_putters", putters}} {
			n, err := q.sizedLen(w.v)
			if err != nil {
				return err
			}
			if n > 0 {
				q.write(" " + w.name + "[" + strconv.FormatInt(n, 10) + "]")
			}
		}
		if ok, err := q.truthy(unfinished); err != nil {
			return err
		} else if ok {
			q.write(" tasks=")
			if err := q.repr(unfinished, depth+1); err != nil {
				return err
			}
		}
		if ok, err := q.truthy(shutdown); err != nil {
			return err
		} else if ok {
			q.write(" shutdown")
		}
		q.writeByte('>')
		return nil
	})
}

// listOf writes repr(list(v)) for a deque or list v.
func (q *req) listOf(v uint64, depth int) error {
	t, err := q.typeOf(v)
	if err != nil {
		return err
	}
	switch {
	case t.repr == q.k.mods.dequeRepr && q.k.mods.dequeRepr != 0:
		d, err := q.deque(v)
		if err != nil {
			return err
		}
		if depth+1 >= q.r.lim.MaxDepth {
			return q.summary(v, t, "deque")
		}
		q.writeByte('[')
		if err := q.dequeItemsRepr(v, d, depth+1); err != nil {
			return err
		}
		q.writeByte(']')
		return nil
	case q.builtin(t) == "list":
		return q.containerRepr(v, t, "list", depth+1)
	}
	return errNotState
}

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

// future is the state of an _asyncio Future or Task.
type future struct {
	state                       int32
	exception, result, sourceTB uint64
	// The callables of the done-callbacks the repr needs: callback0, then the first two and the
	// last of the list (callbacks[:nShown]).
	callbacks                   [4]uint64
	nShown                      int
	nCallbacks                  int64
	numCancels                  int32
	waiter, coro, name          uint64 // Task only
	loop                        uint64
	cancelMsg                   uint64
	blocking, logTB, mustCancel bool
}

// readFuture reads an _asyncio Future or Task. Of its done-callbacks it keeps the first two and
// the last, which is what the repr shows.
func (q *req) readFuture(addr uint64, task bool) (future, error) {
	fo := &q.r.v.Future
	size := fo.FutureSize
	if task {
		size = max(fo.TaskContext+8, size)
	}
	b, err := q.read(addr, int(size))
	if err != nil {
		return future{}, err
	}
	f := future{
		state:     int32(le32(b, fo.State)),
		exception: le64(b, fo.Exception),
		result:    le64(b, fo.Result),
		sourceTB:  le64(b, fo.SourceTB),
		loop:      le64(b, fo.Loop),
		cancelMsg: le64(b, fo.CancelMsg),
	}
	bits := b[fo.StateBits]
	f.logTB, f.blocking, f.mustCancel = bits&1 != 0, bits&2 != 0, bits&4 != 0
	cb0, cbs := le64(b, fo.Callback0), le64(b, fo.Callbacks)
	if task {
		f.numCancels = int32(le32(b, fo.NumCancelsRequested))
		f.waiter = le64(b, fo.FutWaiter)
		f.coro = le64(b, fo.TaskCoro) &^ 3
		f.name = le64(b, fo.TaskName)
	}
	// b is not used past here: the reads below may replace it.
	if f.state < cpython.FutureStatePending || f.state > cpython.FutureStateFinished {
		return future{}, changed(addr, "future state %d", f.state)
	}
	if cb0 != 0 {
		f.callbacks[0], f.nShown = cb0, 1
		f.nCallbacks = 1
	}
	if cbs != 0 {
		s, err := q.list(cbs)
		if err != nil {
			return future{}, err
		}
		f.nCallbacks += s.n
		// The repr needs the first two and the last.
		last := int64(-1)
		for _, i := range [...]int64{0, 1, s.n - 1} {
			if i < 0 || i >= s.n || i <= last {
				continue
			}
			last = i
			it, err := q.items(cbs, s, i, 1)
			if err != nil {
				return future{}, err
			}
			pair, err := q.tuple(it[0])
			if err != nil {
				return future{}, err
			}
			cb, err := q.items(it[0], pair, 0, 1)
			if err != nil || len(cb) == 0 {
				return future{}, changed(cbs, "callback entry %d", i)
			}
			f.callbacks[f.nShown] = cb[0]
			f.nShown++
		}
	}
	if f.result == 0 {
		f.result = q.k.none // the _result getter's None
	}
	return f, nil
}

// callbacksRepr writes "cb=[first, <n more>, last]" as base_futures._format_callbacks does.
func (q *req) callbacksRepr(f future) (bool, error) {
	n := f.nCallbacks
	q.write("cb=[")
	one := func(fn uint64) (bool, error) { return q.callbackSource(fn) }
	switch {
	case n == 1:
		if ok, err := one(f.callbacks[0]); !ok || err != nil {
			return ok, err
		}
	case n == 2:
		if ok, err := one(f.callbacks[0]); !ok || err != nil {
			return ok, err
		}
		q.write(", ")
		if ok, err := one(f.callbacks[1]); !ok || err != nil {
			return ok, err
		}
	case n > 2:
		if ok, err := one(f.callbacks[0]); !ok || err != nil {
			return ok, err
		}
		q.write(", <" + strconv.FormatInt(n-2, 10) + " more>, ")
		if ok, err := one(f.callbacks[f.nShown-1]); !ok || err != nil {
			return ok, err
		}
	}
	q.writeByte(']')
	return true, nil
}

var futureStates = [...]string{"pending", "cancelled", "finished"}

// futureInfo writes what base_futures._future_repr_info adds after the state: the result or
// exception, the callbacks. ok is false where that needs code (debug mode's source tracebacks).
func (q *req) futureInfo(f future, depth int) (bool, error) {
	if f.sourceTB != 0 && f.sourceTB != q.k.none {
		return false, nil
	}
	if f.state == cpython.FutureStateFinished {
		if f.exception != 0 && f.exception != q.k.none {
			q.write(" exception=")
			if err := q.repr(f.exception, depth+1); err != nil {
				return false, err
			}
		} else {
			q.write(" result=")
			if ok, err := q.reprlib(f.result, reprlibLevel); err != nil || !ok {
				return ok, err
			}
		}
	}
	if f.nCallbacks > 0 {
		q.writeByte(' ')
		return q.callbacksRepr(f)
	}
	return true, nil
}

// futureRepr is Future.__repr__: <Future pending cb=[Task.task_wakeup()]>.
func (q *req) futureRepr(addr uint64, t *typeInfo, depth int) error {
	return q.asyncReprGuard(addr, t, func() (bool, error) {
		f, err := q.readFuture(addr, false)
		if err != nil {
			return false, err
		}
		name, err := q.typeName(t)
		if err != nil {
			return false, err
		}
		q.write("<" + name + " " + futureStates[f.state])
		if ok, err := q.futureInfo(f, depth); err != nil || !ok {
			return ok, err
		}
		q.writeByte('>')
		return true, nil
	})
}

// asyncReprGuard applies reprlib.recursive_repr (a future met again prints "...") and falls
// back to the object repr when render cannot reproduce the text.
func (q *req) asyncReprGuard(addr uint64, t *typeInfo, render func() (bool, error)) error {
	key := addr | 2
	if q.path[key] {
		q.write("...")
		return nil
	}
	if depth := len(q.path); depth > 4*q.r.lim.MaxDepth {
		return changed(addr, "futures nested %d deep", depth)
	}
	q.path[key] = true
	defer delete(q.path, key)
	mark := len(q.out)
	ok, err := render()
	if err == errNotState || (err == nil && !ok) {
		q.out = q.out[:mark]
		q.inexact = true
		return q.objectRepr(addr, t)
	}
	return err
}

// taskRepr is Task.__repr__ (base_tasks._task_repr):
// <Task pending name='worker' coro=<worker() running at /app.py:12> wait_for=<Future pending cb=[Task.task_wakeup()]>>.
func (q *req) taskRepr(addr uint64, t *typeInfo, depth int) error {
	return q.asyncReprGuard(addr, t, func() (bool, error) {
		f, err := q.readFuture(addr, true)
		if err != nil {
			return false, err
		}
		name, err := q.typeName(t)
		if err != nil {
			return false, err
		}
		state := futureStates[f.state]
		if f.numCancels > 0 && f.state == cpython.FutureStatePending {
			state = "cancelling"
		}
		q.write("<" + name + " " + state + " name=")
		if err := q.taskName(f.name); err != nil {
			return false, err
		}
		// The remaining parts in _task_repr_info's order: coro, wait_for, then the rest of
		// _future_repr_info after its state.
		if f.coro != 0 {
			q.write(" coro=<")
			if ok, err := q.coroDescription(f.coro); err != nil || !ok {
				return ok, err
			}
			q.writeByte('>')
		}
		if f.waiter != 0 && f.waiter != q.k.none {
			q.write(" wait_for=")
			if depth >= q.r.lim.MaxDepth {
				q.write("...")
				q.trunc = true
			} else if err := q.repr(f.waiter, depth+1); err != nil {
				return false, err
			}
		}
		if ok, err := q.futureInfo(f, depth); err != nil || !ok {
			return ok, err
		}
		q.writeByte('>')
		return true, nil
	})
}

// taskName writes repr(task.get_name()): the name str, or 'Task-N' for a counter.
func (q *req) taskName(name uint64) error {
	if name == 0 {
		return changed(0, "task without a name")
	}
	t, err := q.typeOf(name)
	if err != nil {
		return err
	}
	switch {
	case t.flags&cpython.TPFlagsUnicodeSubclass != 0:
		return q.strRepr(name)
	case q.builtin(t) == "int":
		s, err := q.intText(name)
		if err != nil {
			return err
		}
		q.write("'Task-" + s + "'")
		return nil
	}
	return errNotState
}

// coroDescription is coroutines._format_coroutine for native coroutines and generators:
// "qualname() running at file:line", or "qualname() done, defined at file:firstline".
func (q *req) coroDescription(coro uint64) (bool, error) {
	ct, err := q.typeOf(coro)
	if err != nil {
		return false, err
	}
	if !ct.static("coroutine") && !ct.static("generator") {
		return false, nil
	}
	qn, err := q.ptr(coro + q.r.v.Gen.Qualname)
	if err != nil {
		return false, err
	}
	s, err := q.name(qn)
	if err != nil {
		return false, err
	}
	go_ := &q.r.off.GenObject
	b, err := q.read(coro+go_.GiFrameState, 1)
	if err != nil {
		return false, err
	}
	st := int8(b[0])
	frame := coro + go_.GiIframe
	code, err := q.ptr(frame + q.r.off.InterpreterFrame.Executable)
	if err != nil {
		return false, err
	}
	code &^= 3
	co := &q.r.off.CodeObject
	cb, err := q.readCopy(code, int(co.Size))
	if err != nil {
		return false, err
	}
	file, err := q.name(le64(cb, co.Filename))
	if err != nil {
		return false, err
	}
	states := &q.r.v.States
	if st == states.Cleared || (states.Completed != -128 && st == states.Completed) {
		q.write(s + "() done, defined at " + file + ":" + strconv.Itoa(int(int32(le32(cb, co.FirstLineNo)))))
		return true, nil
	}
	if !states.FrameSlotsValid(st) {
		return false, changed(coro, "frame state %d", st)
	}
	line, ok, err := q.frameLine(frame, code, cb)
	if err != nil {
		return false, err
	}
	q.write(s + "() running at " + file + ":")
	if ok {
		q.write(strconv.Itoa(line))
	} else {
		q.write("None")
	}
	return true, nil
}

// frameLine is the line a frame is at (PyUnstable_InterpreterFrame_GetLine).
func (q *req) frameLine(frame, code uint64, cb []byte) (int, bool, error) {
	co := &q.r.off.CodeObject
	ip, err := q.u64(frame + q.r.off.InterpreterFrame.InstrPtr)
	if err != nil {
		return 0, false, err
	}
	addrq, ok := cpython.CodeUnitIndex(ip, code+co.CoCodeAdaptive)
	if !ok {
		return 0, false, changed(frame, "instruction pointer %#x outside its code", ip)
	}
	lt := le64(cb, co.Linetable)
	n, table, err := q.bytesData(lt, 1<<20)
	if err != nil {
		return 0, false, err
	}
	if int64(len(table)) != n {
		return 0, false, nil
	}
	loc, ok := cpython.FindLocation(table, int(int32(le32(cb, co.FirstLineNo))), addrq)
	if !ok || loc.Line < 0 {
		return 0, false, nil
	}
	return loc.Line, true, nil
}

// reprlib.repr with the default aRepr limits, for a future's result.
const (
	reprlibLevel     = 6
	reprlibMaxString = 30
	reprlibMaxLong   = 40
	reprlibMaxOther  = 30
	reprlibMaxSeq    = 6
)

// reprlib writes reprlib.repr(v) for str, int, tuple and list, and for other values whose repr
// the reader reproduces (cut to 30 characters as repr_instance does). ok is false for the
// types reprlib sorts (dict, set) and values whose repr needs code.
func (q *req) reprlib(v uint64, level int) (bool, error) {
	t, err := q.typeOf(v)
	if err != nil {
		return false, err
	}
	typename, err := q.typeName(t)
	if err != nil {
		return false, err
	}
	mod, _, err := q.typeModule(t)
	if err != nil {
		return false, err
	}
	builtin := mod == "builtins"
	switch {
	case typename == "str" && builtin:
		return true, q.reprlibStr(v)
	case typename == "int" && builtin:
		mark := len(q.out)
		s, err := q.intText(v)
		if err != nil {
			return false, err
		}
		if s[0] == '<' {
			return false, nil
		}
		q.out = append(q.out[:mark], middleCut(s, reprlibMaxLong)...)
		return true, nil
	case (typename == "tuple" || typename == "list") && builtin:
		var s seqInfo
		if typename == "tuple" {
			s, err = q.tuple(v)
		} else {
			s, err = q.list(v)
		}
		if err != nil {
			return false, err
		}
		left, right := "(", ")"
		if typename == "list" {
			left, right = "[", "]"
		}
		q.write(left)
		if level <= 0 && s.n > 0 {
			q.write("...")
		} else {
			items, err := q.items(v, s, 0, reprlibMaxSeq)
			if err != nil {
				return false, err
			}
			for i, it := range items {
				if i > 0 {
					q.write(", ")
				}
				if ok, err := q.reprlib(it, level-1); err != nil || !ok {
					return ok, err
				}
			}
			if s.n > reprlibMaxSeq {
				q.write(", ...")
			}
			if s.n == 1 && typename == "tuple" {
				q.writeByte(',')
			}
		}
		q.write(right)
		return true, nil
	case (typename == "dict" || typename == "set" || typename == "frozenset" || typename == "deque") &&
		(builtin || mod == "collections"):
		return false, nil
	}
	mark := len(q.out)
	inexact := q.inexact
	q.inexact = false
	if err := q.repr(v, 0); err != nil {
		return false, err
	}
	if q.inexact {
		q.out = q.out[:mark]
		q.inexact = inexact
		return false, nil
	}
	q.inexact = inexact
	s := string(q.out[mark:])
	q.out = append(q.out[:mark], middleCut(s, reprlibMaxOther)...)
	return true, nil
}

// reprlibStr is Repr.repr_str.
func (q *req) reprlibStr(v uint64) error {
	kind, length, data, ascii, _, err := q.strLayout(v)
	if err != nil {
		return err
	}
	const max = reprlibMaxString
	head, err := q.strChars(v, data, kind, ascii, 0, min(length, max))
	if err != nil {
		return err
	}
	s := string(cpython.AppendStrRepr(nil, q.r.print, kind, head))
	if utf8.RuneCountInString(s) <= max {
		q.write(s)
		return nil
	}
	i := (max - 3) / 2
	j := max - 3 - i
	// repr(x[:i] + x[len(x)-j:]), then its first i and last j characters around "...".
	tail, err := q.strChars(v, data, kind, ascii, length-int64(j), int64(j))
	if err != nil {
		return err
	}
	joined := append(append([]byte(nil), head[:i*kind]...), tail...)
	s = string(cpython.AppendStrRepr(nil, q.r.print, kind, joined))
	r := []rune(s)
	q.write(string(r[:i]) + "..." + string(r[len(r)-j:]))
	return nil
}

// middleCut keeps the first and last characters of s around "..." when it is longer than max,
// as reprlib does.
func middleCut(s string, max int) string {
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	i := (max - 3) / 2
	j := max - 3 - i
	return string(r[:i]) + "..." + string(r[len(r)-j:])
}
