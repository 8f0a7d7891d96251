package values

import (
	"errors"
	"math"

	"github.com/aioscope/aioscope/cpython"
)

// whenDue returns the loop time at which a TimerHandle fires or an asyncio.Timeout expires.
// ok is false for other objects and for a Timeout without a deadline.
func (q *req) whenDue(addr uint64, t *typeInfo) (float64, bool, error) {
	m := &q.k.mods
	var when uint64
	for _, c := range []struct {
		cls  uint64
		slot bool // TimerHandle keeps _when in a slot, Timeout in its __dict__
	}{{m.timerHandle, true}, {m.timeoutType, false}} {
		is, err := q.isSubtype(t, c.cls)
		if err != nil {
			return 0, false, err
		}
		if !is {
			continue
		}
		if c.slot {
			when, err = q.slotValue(addr, t, "_when")
		} else {
			when, err = q.instAttr(addr, t, "_when")
		}
		if err != nil {
			return 0, false, err
		}
		break
	}
	if when == 0 || when == q.k.none {
		return 0, false, nil
	}
	return q.floatObject(when)
}

// timeLeftChild is the synthetic child "seconds left" of a timer or timeout, when the reader
// has the target's clock.
func (q *req) timeLeftChild(addr uint64, t *typeInfo) (*attribute, error) {
	if q.r.clock == nil {
		return nil, nil
	}
	when, ok, err := q.whenDue(addr, t)
	if err != nil || !ok {
		return nil, err
	}
	now, err := q.r.clock()
	if err != nil {
		return nil, nil // the clock is an extra; the rest of the value stands
	}
	return &attribute{name: "seconds left", value: synthetic("float", cpython.FloatRepr(cpython.RoundFloat(when-now, 3)))}, nil
}

// TimeLeft returns how many seconds are left before the TimerHandle at ref fires (or the
// asyncio.Timeout expires): its deadline in loop time minus the target's clock now (negative
// when it is overdue). ok is false when the object has no deadline or the Reader has no Clock.
func (r *Reader) TimeLeft(ref Ref) (seconds float64, ok bool, err error) {
	if r.clock == nil || ref == 0 {
		return 0, false, nil
	}
	q, err := r.newReq(uint64(ref))
	if err != nil {
		return 0, false, err
	}
	defer q.release()
	t, err := q.typeOf(uint64(ref))
	if err != nil {
		return 0, false, err
	}
	when, ok, err := q.whenDue(uint64(ref), t)
	if err != nil || !ok {
		return 0, false, err
	}
	now, err := r.clock()
	if err != nil {
		return 0, false, err
	}
	return when - now, true, nil
}

// Deadline is a deadline a suspended coroutine frame waits for: the timer of asyncio.sleep, or
// an active asyncio.timeout() (wait_for's included) around what the frame awaits.
type Deadline struct {
	// Kind is DeadlineSleep, DeadlineTimeout or DeadlineWaitFor; "" when the frame waits for no
	// deadline the reader knows.
	Kind string
	// When is the deadline in the target's event-loop time (loop.time(): CLOCK_MONOTONIC in its
	// time namespace, in seconds); LoopTime tells what time it is there now.
	When float64
}

// LoopTime returns the target's event-loop time now (see Config.Clock).
func (r *Reader) LoopTime() (float64, error) {
	if r.clock == nil {
		return 0, errors.New("values: no clock of the target")
	}
	return r.clock()
}

// Kinds of Deadline.
const (
	// DeadlineSleep: the frame is asyncio.sleep's, and Left is its TimerHandle's (its local h).
	DeadlineSleep = "sleep"
	// DeadlineTimeout: the frame holds an active asyncio.Timeout (asyncio.timeout(),
	// timeout_at()), in a variable (async with ... as cm) or on its value stack (without as).
	DeadlineTimeout = "timeout"
	// DeadlineWaitFor: the frame is asyncio.wait_for's, with its Timeout on the value stack.
	DeadlineWaitFor = "wait_for"
)

// frameDeadline finds the deadline the frame f waits for, among its variables vars and on its
// value stack. Only a suspended coroutine frame has one: a running frame's stack is changing.
func (q *req) frameDeadline(f *frameInfo, vars []Variable) (Deadline, error) {
	m := &q.k.mods
	if !f.suspended || f.funcObj == 0 {
		return Deadline{}, nil
	}
	if f.funcObj == m.sleepFn && m.sleepFn != 0 {
		for _, v := range vars {
			if v.Name != "h" || v.Err != nil || v.Addr == 0 {
				continue
			}
			t, err := q.typeOf(v.Addr)
			if err != nil {
				return Deadline{}, err
			}
			if is, err := q.isSubtype(t, m.timerHandle); err != nil || !is {
				return Deadline{}, err
			}
			when, ok, err := q.whenDue(v.Addr, t)
			if err != nil || !ok {
				return Deadline{}, err
			}
			return Deadline{Kind: DeadlineSleep, When: when}, nil
		}
		return Deadline{}, nil
	}
	if m.timeoutType == 0 {
		return Deadline{}, nil
	}
	kind := DeadlineTimeout
	if f.funcObj == m.waitForFn && m.waitForFn != 0 {
		kind = DeadlineWaitFor
	}
	earliest, found := math.Inf(1), false
	consider := func(obj uint64, t *typeInfo) error {
		when, ok, err := q.activeTimeout(obj, t)
		if err == nil && ok && when < earliest {
			earliest, found = when, true
		}
		return err
	}
	for i, v := range vars {
		if v.Err != nil || v.Addr == 0 {
			continue
		}
		var t *typeInfo
		var err error
		if i < len(q.varTypes) && q.varTypes[i] != 0 {
			t, err = q.typ(q.varTypes[i]) // met when the variable was rendered
		} else {
			t, err = q.typeOf(v.Addr)
		}
		if err == nil {
			err = consider(v.Addr, t)
		}
		if err != nil {
			return Deadline{}, err
		}
	}
	base := f.addr + q.r.off.InterpreterFrame.LocalsPlus + 8*uint64(len(f.kinds))
	if f.sp >= base && f.sp%8 == 0 {
		depth := int64(f.sp-base) / 8
		if depth > f.stackSize || depth > maxFastLocals {
			return Deadline{}, changed(f.addr, "value stack of %d items for %d", depth, f.stackSize)
		}
		// What the frame awaits is not a timeout: a Timeout is held below it (async with).
		awaited := int64(-1)
		if a := int64(q.r.lay.AwaitedSlot); a > 0 && depth >= a {
			awaited = depth - a
		}
		if depth > 0 {
			b, err := q.frameBytes(base, int(8*depth))
			if err != nil {
				return Deadline{}, err
			}
			stack := append(q.stack[:0], b...)
			q.stack = stack
			for i := int64(0); i < depth; i++ {
				kind, obj, _ := cpython.DecodeStackRef(le64(stack, uint64(8*i)))
				if i == awaited || kind != cpython.StackRefObject || obj == 0 || obj%8 != 0 {
					continue
				}
				t, err := q.typeOf(obj)
				if err == nil {
					err = consider(obj, t)
				}
				if err != nil {
					return Deadline{}, err
				}
			}
		}
	}
	if !found {
		return Deadline{}, nil
	}
	return Deadline{Kind: kind, When: earliest}, nil
}

// activeTimeout returns the deadline of the object at addr when it is an asyncio.Timeout that
// is active (entered, not expired or left) and has one.
func (q *req) activeTimeout(addr uint64, t *typeInfo) (float64, bool, error) {
	m := &q.k.mods
	if !t.heap {
		return 0, false, nil
	}
	if is, err := q.isSubtype(t, m.timeoutType); err != nil || !is {
		return 0, false, err
	}
	state, err := q.instAttr(addr, t, "_state")
	if err != nil || state == 0 {
		return 0, false, err
	}
	st, err := q.typeOf(state)
	if err != nil {
		return 0, false, err
	}
	if st.addr != m.stateType || m.stateType == 0 {
		return 0, false, nil
	}
	name, err := q.instAttr(state, st, "_name_")
	if err != nil || name == 0 {
		return 0, false, err
	}
	if entered, err := q.strEquals(name, "ENTERED"); err != nil || !entered {
		return 0, false, err
	}
	return q.whenDue(addr, t)
}
