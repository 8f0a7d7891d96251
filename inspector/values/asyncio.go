package values

import (
	"fmt"
	"strconv"

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
