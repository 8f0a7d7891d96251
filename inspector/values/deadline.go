package values

import (
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
	wt, err := q.typeOf(when)
	if err != nil {
		return 0, false, err
	}
	if q.k.reprs[wt.repr] != "float" {
		return 0, false, nil
	}
	x, err := q.float(when)
	return x, err == nil, err
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
