package values

import (
	"fmt"
	"strings"
	"time"

	"github.com/aioscope/aioscope/cpython"
)

// typeInfo is what the reader uses of a type object.
type typeInfo struct {
	addr       uint64
	flags      uint64
	repr       uint64 // tp_repr: which C function renders instances
	name       string // tp_name
	heap       bool
	basicSize  int64
	itemSize   int64
	dictOffset int64
	members    uint64
	dict       uint64 // tp_dict; NULL for static built-in types
	mro        uint64 // a tuple
	descrGet   uint64
	descrSet   uint64
	// Heap types only.
	htName, htQualname, cachedKeys uint64
}

// static reports whether t is a built-in (static) type named name. Static types cannot be
// created by Python code, so the name identifies them.
func (t *typeInfo) static(name string) bool { return !t.heap && t.name == name }

const tpFlagsReady = 1 << 12

// typeOf reads the type of the object at addr.
func (q *req) typeOf(addr uint64) (*typeInfo, error) {
	ob := q.r.off.PyObject.ObType
	b, err := q.head(addr, int(ob)+8)
	if err != nil {
		return nil, err
	}
	t := le64(b, ob)
	if t == 0 || t%8 != 0 {
		return nil, changed(addr, "object of type %#x", t)
	}
	return q.typ(t)
}

// typ reads the type object at addr (cached for the request).
func (q *req) typ(addr uint64) (*typeInfo, error) {
	if t := q.types[addr]; t != nil {
		return t, nil
	}
	if q.k != nil {
		if t := q.k.typeInfos[addr]; t != nil {
			return t, nil
		}
	}
	defer q.staticReads()()
	to := &q.r.off.TypeObject
	tv := &q.r.v.Type
	b, err := q.read(addr, int(to.Size))
	if err != nil {
		return nil, err
	}
	t := &typeInfo{
		addr:       addr,
		flags:      le64(b, to.TpFlags),
		repr:       le64(b, to.TpRepr),
		basicSize:  int64(le64(b, tv.BasicSize)),
		itemSize:   int64(le64(b, tv.ItemSize)),
		dictOffset: int64(le64(b, tv.DictOffset)),
		members:    le64(b, tv.Members),
		dict:       le64(b, tv.Dict),
		mro:        le64(b, tv.Mro),
		descrGet:   le64(b, tv.DescrGet),
		descrSet:   le64(b, tv.DescrSet),
	}
	t.heap = t.flags&cpython.TPFlagsHeapType != 0
	if le64(b, q.r.off.PyObject.ObType) == 0 || t.flags&tpFlagsReady == 0 || t.basicSize <= 0 || t.basicSize > 1<<20 ||
		t.itemSize < 0 || t.itemSize > 1<<16 || t.dict%8 != 0 || t.mro%8 != 0 || t.members%8 != 0 {
		return nil, changed(addr, "not a type object")
	}
	if t.name, err = q.cString(le64(b, to.TpName)); err != nil {
		return nil, err
	}
	if t.heap {
		hb, err := q.read(addr+tv.HtName, int(tv.HtModule+8-tv.HtName))
		if err != nil {
			return nil, err
		}
		t.htName, t.htQualname, t.cachedKeys = le64(hb, 0), le64(hb, tv.HtQualname-tv.HtName), le64(hb, tv.HtCachedKeys-tv.HtName)
		if t.htName == 0 || t.htQualname == 0 {
			return nil, changed(addr, "heap type without a name")
		}
	}
	q.types[addr] = t
	return t, nil
}

// mroOf returns the classes of t's MRO (t itself first).
func (q *req) mroOf(t *typeInfo) ([]uint64, error) {
	if t.mro == 0 {
		return []uint64{t.addr}, nil
	}
	s, err := q.tuple(t.mro)
	if err != nil {
		return nil, err
	}
	if s.n == 0 || s.n > maxMRO {
		return nil, changed(t.addr, "MRO of %d classes", s.n)
	}
	return q.items(t.mro, s, 0, s.n)
}

// isSubtype reports whether base is in t's MRO.
func (q *req) isSubtype(t *typeInfo, base uint64) (bool, error) {
	if base == 0 {
		return false, nil
	}
	if t.addr == base {
		return true, nil
	}
	mro, err := q.mroOf(t)
	if err != nil {
		return false, err
	}
	for _, c := range mro {
		if c == base {
			return true, nil
		}
	}
	return false, nil
}

// typeName is type.__name__: the heap type's name, or tp_name after its last dot.
func (q *req) typeName(t *typeInfo) (string, error) {
	if t.heap {
		return q.strValue(t.htName, maxName)
	}
	return shortName(t.name), nil
}

func shortName(tpName string) string {
	if i := strings.LastIndexByte(tpName, '.'); i >= 0 {
		return tpName[i+1:]
	}
	return tpName
}

// typeQualname is type.__qualname__.
func (q *req) typeQualname(t *typeInfo) (string, error) {
	if t.heap {
		return q.strValue(t.htQualname, maxName)
	}
	return shortName(t.name), nil
}

// typeModule is type.__module__ when it is a str ("builtins" for static types without a dot
// in their name); ok is false when a heap type's __module__ is missing or not a str.
func (q *req) typeModule(t *typeInfo) (mod string, ok bool, err error) {
	if !t.heap {
		if i := strings.LastIndexByte(t.name, '.'); i >= 0 {
			return t.name[:i], true, nil
		}
		return "builtins", true, nil
	}
	if t.dict == 0 {
		return "", false, nil
	}
	m, err := q.dictGet(t.dict, "__module__")
	if err != nil || m == 0 {
		return "", false, err
	}
	if isStr, err := q.isStr(m); err != nil || !isStr {
		return "", false, err
	}
	s, err := q.strValue(m, maxName)
	return s, err == nil, err
}

// lookup is _PyType_Lookup: the first class of t's MRO whose dict has name, and the value
// there. Static types keep their dict elsewhere and are skipped.
func (q *req) lookup(t *typeInfo, name string) (owner *typeInfo, value uint64, err error) {
	defer q.staticReads()() // classes live as long as their instances
	mro, err := q.mroOf(t)
	if err != nil {
		return nil, 0, err
	}
	for _, c := range mro {
		ct, err := q.typ(c)
		if err != nil {
			return nil, 0, err
		}
		if ct.dict == 0 {
			continue
		}
		v, err := q.dictGet(ct.dict, name)
		if err != nil {
			return nil, 0, err
		}
		if v != 0 {
			return ct, v, nil
		}
	}
	return nil, 0, nil
}

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
	kq := &req{r: r, deadline: time.Now().Add(r.resolveBudget()), types: map[uint64]*typeInfo{}, path: map[uint64]bool{}}
	if k == nil {
		k = &known{types: map[string]uint64{}, reprs: map[uint64]string{}, typeInfos: map[uint64]*typeInfo{}}
		if err := kq.resolveBuiltins(k); err != nil {
			return nil, fmt.Errorf("finding the target's built-in types: %w", err)
		}
	}
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
	left := len(want)
	for left > 0 {
		k, v, ok, err := it.next()
		if err != nil || !ok {
			return err
		}
		if isStr, err := q.isStr(k); err != nil || !isStr {
			continue
		}
		s, err := q.strValue(k, maxName)
		if err != nil {
			continue
		}
		if p, ok := want[s]; ok && *p == 0 {
			*p = v
			left--
		}
	}
	return nil
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
	var collections, enum, dataclasses, locks, queues, events, timeouts, asyncioC uint64
	if err := q.dictGetMany(modules, map[string]*uint64{"collections": &collections, "enum": &enum,
		"dataclasses": &dataclasses, "asyncio.locks": &locks, "asyncio.queues": &queues, "asyncio.events": &events,
		"asyncio.timeouts": &timeouts, "_asyncio": &asyncioC}); err != nil {
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
		m.queueRepr != 0 && m.handleRepr != 0 && m.timerInfo != 0 && m.timeoutRepr != 0 && m.taskType != 0
	return m, whole, nil
}
