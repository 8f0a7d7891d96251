package values

import (
	"strconv"

	"github.com/aioscope/aioscope/cpython"
)

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
