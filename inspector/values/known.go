package values

import (
	"fmt"
	"time"
)

// known holds the addresses that identify objects: singletons and built-in types (found once
// through the builtins dict), and classes and functions of the standard library whose repr the
// reader reproduces (found through sys.modules, once their modules are imported).
type known struct {
	none, trueObj, falseObj, ellipsis, notImpl uint64
	types                                      map[string]uint64 // built-in types by name
	reprs                                      map[uint64]string // tp_repr of built-in types → type name
	// The built-in types found through the builtins dict (and None's type): static types live
	// as long as the interpreter and never change, so requests share what was read of them.
	typeInfos map[uint64]*typeInfo

	// From sys.modules; 0 until found.
	mods      modKnown
	modsAt    time.Time // when mods was last looked for
	modsWhole bool      // everything in mods was found
}

// modKnown identifies standard-library classes and functions.
type modKnown struct {
	deque                  uint64 // collections.deque
	dequeRepr              uint64 // its tp_repr
	enumRepr, flagRepr     uint64 // enum.Enum.__repr__, enum.Flag.__repr__
	dcField                uint64 // dataclasses._FIELD
	eventRepr, lockRepr    uint64
	semRepr, condRepr      uint64
	queueRepr              uint64
	handleRepr             uint64 // asyncio.events.Handle.__repr__
	handleInfo, timerInfo  uint64 // Handle._repr_info and TimerHandle._repr_info
	timerHandle            uint64
	timeoutRepr            uint64
	futureType, taskType   uint64 // _asyncio.Future, _asyncio.Task
	futureRepr, taskRepr   uint64 // their tp_repr
	timeoutType, stateType uint64 // asyncio.timeouts.Timeout, _State
	sleepFn, waitForFn     uint64 // asyncio.tasks.sleep and wait_for
}

// builtinTypes are the built-in names the reader identifies by address.
var builtinTypes = []string{"int", "bool", "float", "str", "bytes", "bytearray", "tuple", "list", "dict", "set",
	"frozenset", "object", "type", "BaseException", "frozendict", "complex", "range"}

// modsRetry is how long the reader waits before looking again for standard-library modules the
// target had not imported.
const modsRetry = time.Second

// resolveBudget bounds the search for the known objects, apart from any request's budget:
// four times the request budget, within [100 ms, 2 s].
func (r *Reader) resolveBudget() time.Duration {
	return min(max(4*r.lim.Budget, 100*time.Millisecond), 2*time.Second)
}

// resolveKnown returns the identifying addresses, looking them up if needed. Without the
// built-in types nothing can be rendered, so failing to find them fails the request; what the
// standard-library modules define stays 0 until they are imported, and the values it would
// identify fall back to generic reprs meanwhile. A known is never changed once published:
// requests under way keep the one they started with.
func (r *Reader) resolveKnown() (*known, error) {
	r.kinds.mu.Lock()
	defer r.kinds.mu.Unlock()
	k := r.kinds.known
	if k != nil && (k.modsWhole || time.Since(k.modsAt) < modsRetry) {
		return k, nil
	}
	kq := &req{r: r, deadline: time.Now().Add(r.resolveBudget()), path: map[uint64]bool{}}
	if k == nil {
		k = &known{types: map[string]uint64{}, reprs: map[uint64]string{}, typeInfos: map[uint64]*typeInfo{}}
		if err := kq.resolveBuiltins(k); err != nil {
			return nil, fmt.Errorf("finding the target's built-in types: %w", err)
		}
	}
	// The types met from here on are given their kind (typeInfo.kind) when they are made.
	kq.k = k
	next := *k
	if m, whole, err := kq.resolveModules(); err == nil {
		next.mods, next.modsWhole = m, whole
	}
	next.modsAt = time.Now()
	r.kinds.known = &next
	return r.kinds.known, nil
}

func (q *req) interp() (uint64, error) {
	if q.r.rtAddr == 0 {
		return 0, changed(0, "no runtime address")
	}
	return q.ptr(q.r.rtAddr + q.r.off.RuntimeState.InterpretersHead)
}

func (q *req) resolveBuiltins(k *known) error {
	interp, err := q.interp()
	if err != nil {
		return err
	}
	b, err := q.ptr(interp + q.r.off.InterpreterState.Builtins)
	if err != nil {
		return err
	}
	want := map[string]*uint64{"None": &k.none, "True": &k.trueObj, "False": &k.falseObj, "Ellipsis": &k.ellipsis,
		"NotImplemented": &k.notImpl}
	addrs := make([]uint64, len(builtinTypes))
	for i, n := range builtinTypes {
		want[n] = &addrs[i]
	}
	if err := q.dictGetMany(b, want); err != nil {
		return err
	}
	for i, n := range builtinTypes {
		if addrs[i] == 0 {
			continue
		}
		t, err := q.typ(addrs[i])
		if err != nil {
			return err
		}
		k.types[n] = addrs[i]
		if _, dup := k.reprs[t.repr]; !dup && n != "bool" {
			k.reprs[t.repr] = n
		}
		if !t.heap {
			k.typeInfos[t.addr] = t
		}
	}
	if k.none != 0 {
		if t, err := q.typeOf(k.none); err == nil && !t.heap {
			k.typeInfos[t.addr] = t
		}
	}
	// No request has these yet: they are given their kind before k is published.
	for _, t := range k.typeInfos {
		t.kind, t.kindKnown = k.reprs[t.repr], true
	}
	if k.none == 0 || k.types["int"] == 0 || k.types["object"] == 0 {
		return changed(b, "builtins without None, int or object")
	}
	return nil
}

// dictGetMany looks up several str keys in one walk of a dict.
func (q *req) dictGetMany(dict uint64, want map[string]*uint64) error {
	it, err := q.dict(dict)
	if err != nil {
		return err
	}
	// A key that is not a str, or cannot be read as a name, is passed over.
	return it.fill(want, func(k uint64) (*uint64, error) {
		if isStr, err := q.isStr(k); err != nil || !isStr {
			return nil, nil
		}
		s, err := q.strValue(k, maxName)
		if err != nil {
			return nil, nil
		}
		return want[s], nil
	})
}

// moduleDict returns md_dict of module m.
func (q *req) moduleDict(m uint64) (uint64, error) {
	return q.ptr(m + q.r.v.ModuleDict)
}

// classDictItem is cls.__dict__[name], 0 if absent.
func (q *req) classDictItem(cls uint64, name string) (uint64, error) {
	if cls == 0 {
		return 0, nil
	}
	t, err := q.typ(cls)
	if err != nil || t.dict == 0 {
		return 0, err
	}
	return q.dictGet(t.dict, name)
}

func (q *req) resolveModules() (modKnown, bool, error) {
	var m modKnown
	interp, err := q.interp()
	if err != nil {
		return m, false, err
	}
	modules, err := q.ptr(interp + q.r.off.InterpreterState.ImportsModules)
	if err != nil {
		return m, false, err
	}
	var collections, enum, dataclasses, locks, queues, events, timeouts, tasks, asyncioC uint64
	if err := q.dictGetMany(modules, map[string]*uint64{"collections": &collections, "enum": &enum,
		"dataclasses": &dataclasses, "asyncio.locks": &locks, "asyncio.queues": &queues, "asyncio.events": &events,
		"asyncio.timeouts": &timeouts, "asyncio.tasks": &tasks, "_asyncio": &asyncioC}); err != nil {
		return m, false, err
	}
	attrs := func(mod uint64, want map[string]*uint64) error {
		if mod == 0 {
			return nil
		}
		d, err := q.moduleDict(mod)
		if err != nil {
			return err
		}
		return q.dictGetMany(d, want)
	}
	var enumC, flagC, eventC, lockC, semC, condC, queueC, handleC uint64
	for _, a := range []struct {
		mod  uint64
		want map[string]*uint64
	}{
		{collections, map[string]*uint64{"deque": &m.deque}},
		{enum, map[string]*uint64{"Enum": &enumC, "Flag": &flagC}},
		{dataclasses, map[string]*uint64{"_FIELD": &m.dcField}},
		{locks, map[string]*uint64{"Event": &eventC, "Lock": &lockC, "Semaphore": &semC, "Condition": &condC}},
		{queues, map[string]*uint64{"Queue": &queueC}},
		{events, map[string]*uint64{"Handle": &handleC, "TimerHandle": &m.timerHandle}},
		{timeouts, map[string]*uint64{"Timeout": &m.timeoutType, "_State": &m.stateType}},
		{asyncioC, map[string]*uint64{"Future": &m.futureType, "Task": &m.taskType}},
		{tasks, map[string]*uint64{"sleep": &m.sleepFn, "wait_for": &m.waitForFn}},
	} {
		if err := attrs(a.mod, a.want); err != nil {
			return m, false, err
		}
	}
	for _, f := range []struct {
		cls  uint64
		name string
		dst  *uint64
	}{
		{enumC, "__repr__", &m.enumRepr}, {flagC, "__repr__", &m.flagRepr}, {eventC, "__repr__", &m.eventRepr},
		{lockC, "__repr__", &m.lockRepr}, {semC, "__repr__", &m.semRepr}, {condC, "__repr__", &m.condRepr},
		{queueC, "__repr__", &m.queueRepr}, {handleC, "__repr__", &m.handleRepr},
		{handleC, "_repr_info", &m.handleInfo}, {m.timerHandle, "_repr_info", &m.timerInfo},
		{m.timeoutType, "__repr__", &m.timeoutRepr},
	} {
		v, err := q.classDictItem(f.cls, f.name)
		if err != nil {
			return m, false, err
		}
		*f.dst = v
	}
	for _, t := range []struct {
		cls uint64
		dst *uint64
	}{{m.deque, &m.dequeRepr}, {m.futureType, &m.futureRepr}, {m.taskType, &m.taskRepr}} {
		if t.cls == 0 {
			continue
		}
		ti, err := q.typ(t.cls)
		if err != nil {
			return m, false, err
		}
		*t.dst = ti.repr
	}
	whole := m.deque != 0 && m.enumRepr != 0 && m.flagRepr != 0 && m.dcField != 0 && m.eventRepr != 0 &&
		m.queueRepr != 0 && m.handleRepr != 0 && m.timerInfo != 0 && m.timeoutRepr != 0 && m.taskType != 0 &&
		m.sleepFn != 0 && m.waitForFn != 0
	return m, whole, nil
}
