package values

import (
	"slices"
	"strings"
	"sync/atomic"

	"github.com/aioscope/aioscope/cpython"
)

// typeKey is what the reader uses of a type object's own fields. Two reads of a type object
// with the same key and a non-zero version tag are reads of the same, unchanged type: CPython
// gives a type a new tag from a counter that never repeats whenever the type, or a class of its
// MRO, is modified (its dict, its bases), and a type made at the address of a freed one gets a
// tag of its own. The pointers compared besides cover the changes that do not touch the tag
// (a new __qualname__).
type typeKey struct {
	tag        uint32 // tp_version_tag; 0: not assigned, the type cannot be recognised again
	flags      uint64
	repr       uint64 // tp_repr: which C function renders instances
	namePtr    uint64 // tp_name
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

// typeInfo is what the reader uses of a type object, and what it has derived from it and from
// the classes of its MRO (typeExt), worked out once for every request that meets the type.
type typeInfo struct {
	addr uint64
	typeKey
	name string // tp_name
	heap bool
	// kind is the built-in type whose tp_repr the type has ("int", "dict", "object"...), or ""
	// (known.reprs), when kindKnown; set when the typeInfo is made, never changed after.
	kind      string
	kindKnown bool

	ext atomic.Pointer[typeExt] // see get and update
}

// noExt is what is known of a type before anything is derived from it.
var noExt typeExt

// get returns what has been derived from t so far: a value never modified once published.
func (t *typeInfo) get() *typeExt {
	if e := t.ext.Load(); e != nil {
		return e
	}
	return &noExt
}

// update publishes a copy of what has been derived from t, changed by f. Requests that share t
// may update it at once: each change is made on the latest copy. f must not append to the
// copy's slices in place (they are shared with the copy before).
func (t *typeInfo) update(f func(ext *typeExt)) {
	for {
		old := t.ext.Load()
		var next typeExt
		if old != nil {
			next = *old
		}
		f(&next)
		if t.ext.CompareAndSwap(old, &next) {
			return
		}
	}
}

// typeExt is what the reader has derived from a type: filled in as requests need it, kept as
// long as the typeInfo is (see typ).
type typeExt struct {
	mro                             []uint64 // nil: not read yet
	shortName, qualname, module     string
	hasName, hasQualname, hasModule bool
	moduleOK                        bool
	lookups                         []lookupEntry
	slots                           []memberDef // the object slots of the whole MRO, the class's own first
	hasSlots                        bool
	members                         []memberDef // the class's own object slots
	hasMembers                      bool
	isModule                        int8 // 0: not known yet, 1: no, 2: yes
	dataclassFields                 []string
	dataclassFn                     uint64 // the __repr__ dataclassFields were read for
	dataclassDone                   bool
	// reprByType: the class's instances get the default object repr, which only their type
	// and address make.
	reprByType bool
}

// lookupEntry is the result of one _PyType_Lookup: the class that has the name and the value.
type lookupEntry struct {
	name         string
	owner, value uint64 // 0, 0: no class of the MRO has it
}

// builtin is the built-in type whose tp_repr t has (known.reprs): "int", "dict", "object"...;
// "" for others.
func (q *req) builtin(t *typeInfo) string {
	if t.kindKnown {
		return t.kind
	}
	return q.k.reprs[t.repr]
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

// typ returns the type object at addr. A type met before is taken from, in order: the types the
// request met last; the built-in types; the types of the request's moment (see Reader.Moment);
// the types every request shares, once a read of the type object shows it unchanged (typeKey).
func (q *req) typ(addr uint64) (*typeInfo, error) {
	// Two ways of a table by a hash of the address: the first holds the type met last.
	h := (addr * 0x9e3779b97f4a7c15) >> (64 - recentBits) &^ 1
	a, b := &q.recent[h], &q.recent[h+1]
	if t := *a; t != nil && t.addr == addr {
		return t, nil
	}
	if t := *b; t != nil && t.addr == addr {
		*a, *b = t, *a
		return t, nil
	}
	t, err := q.findType(addr)
	if err != nil {
		return nil, err
	}
	*a, *b = t, *a
	return t, nil
}

func (q *req) findType(addr uint64) (*typeInfo, error) {
	if q.k != nil {
		if t := q.k.typeInfos[addr]; t != nil {
			return t, nil
		}
	}
	m := q.r.moment
	if t := m.typ(addr); t != nil {
		return t, nil
	}
	key, heap, err := q.readTypeKey(addr)
	if err != nil {
		return nil, err
	}
	shared := q.r.kinds
	if key.tag != 0 {
		if t := shared.typ(addr); t != nil && t.typeKey == key {
			m.putType(t)
			return t, nil
		}
	}
	t := &typeInfo{addr: addr, typeKey: key, heap: heap}
	if q.k != nil {
		t.kind, t.kindKnown = q.k.reprs[key.repr], true
	}
	defer q.staticReads()()
	if t.name, err = q.cString(key.namePtr); err != nil {
		return nil, err
	}
	if key.tag != 0 {
		shared.putType(t)
	}
	m.putType(t)
	return t, nil
}

// readTypeKey reads the fields of the type object at addr and checks that it is one.
func (q *req) readTypeKey(addr uint64) (typeKey, bool, error) {
	defer q.staticReads()()
	to := &q.r.off.TypeObject
	tv := &q.r.v.Type
	b, err := q.read(addr, int(to.Size))
	if err != nil {
		return typeKey{}, false, err
	}
	k := typeKey{
		tag:        le32(b, tv.VersionTag),
		flags:      le64(b, to.TpFlags),
		repr:       le64(b, to.TpRepr),
		namePtr:    le64(b, to.TpName),
		basicSize:  int64(le64(b, tv.BasicSize)),
		itemSize:   int64(le64(b, tv.ItemSize)),
		dictOffset: int64(le64(b, tv.DictOffset)),
		members:    le64(b, tv.Members),
		dict:       le64(b, tv.Dict),
		mro:        le64(b, tv.Mro),
		descrGet:   le64(b, tv.DescrGet),
		descrSet:   le64(b, tv.DescrSet),
	}
	heap := k.flags&cpython.TPFlagsHeapType != 0
	if le64(b, q.r.off.PyObject.ObType) == 0 || k.flags&tpFlagsReady == 0 || k.basicSize <= 0 || k.basicSize > 1<<20 ||
		k.itemSize < 0 || k.itemSize > 1<<16 || k.dict%8 != 0 || k.mro%8 != 0 || k.members%8 != 0 {
		return typeKey{}, false, changed(addr, "not a type object")
	}
	if heap {
		hb, err := q.read(addr+tv.HtName, int(tv.HtModule+8-tv.HtName))
		if err != nil {
			return typeKey{}, false, err
		}
		k.htName, k.htQualname, k.cachedKeys = le64(hb, 0), le64(hb, tv.HtQualname-tv.HtName), le64(hb, tv.HtCachedKeys-tv.HtName)
		if k.htName == 0 || k.htQualname == 0 {
			return typeKey{}, false, changed(addr, "heap type without a name")
		}
	}
	return k, heap, nil
}

// maxSharedTypes bounds the types kept for every request: a program that makes classes all the
// time (namedtuple per call) must not make the reader grow without end.
const maxSharedTypes = 1 << 14

func (k *kinds) typ(addr uint64) *typeInfo {
	k.typesMu.RLock()
	defer k.typesMu.RUnlock()
	return k.types[addr]
}

func (k *kinds) putType(t *typeInfo) {
	k.typesMu.Lock()
	defer k.typesMu.Unlock()
	if k.types == nil || len(k.types) >= maxSharedTypes {
		k.types = map[uint64]*typeInfo{}
	}
	k.types[t.addr] = t
}

// cachedLookup returns a lookup of name done before on t.
func (t *typeInfo) cachedLookup(name string) (lookupEntry, bool) {
	for _, e := range t.get().lookups {
		if e.name == name {
			return e, true
		}
	}
	return lookupEntry{}, false
}

// mroOf returns the classes of t's MRO (t itself first). The slice is shared: not to be modified.
func (q *req) mroOf(t *typeInfo) ([]uint64, error) {
	ext := t.get()
	mro := ext.mro
	if mro != nil {
		return mro, nil
	}
	if t.mro == 0 {
		mro = []uint64{t.addr}
	} else {
		defer q.staticReads()() // the MRO tuple lives as long as the type
		s, err := q.tuple(t.mro)
		if err != nil {
			return nil, err
		}
		if s.n == 0 || s.n > maxMRO {
			return nil, changed(t.addr, "MRO of %d classes", s.n)
		}
		if mro, err = q.items(t.mro, s, 0, s.n); err != nil {
			return nil, err
		}
	}
	t.update(func(ext *typeExt) {
		ext.mro = mro
	})
	return mro, nil
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
	if !t.heap {
		return shortName(t.name), nil
	}
	ext := t.get()
	name, ok := ext.shortName, ext.hasName
	if ok {
		return name, nil
	}
	defer q.staticReads()()
	name, err := q.strValue(t.htName, maxName)
	if err != nil {
		return "", err
	}
	t.update(func(ext *typeExt) {
		ext.shortName, ext.hasName = name, true
	})
	return name, nil
}

func shortName(tpName string) string {
	if i := strings.LastIndexByte(tpName, '.'); i >= 0 {
		return tpName[i+1:]
	}
	return tpName
}

// typeQualname is type.__qualname__.
func (q *req) typeQualname(t *typeInfo) (string, error) {
	if !t.heap {
		return shortName(t.name), nil
	}
	ext := t.get()
	qn, ok := ext.qualname, ext.hasQualname
	if ok {
		return qn, nil
	}
	defer q.staticReads()()
	qn, err := q.strValue(t.htQualname, maxName)
	if err != nil {
		return "", err
	}
	t.update(func(ext *typeExt) {
		ext.qualname, ext.hasQualname = qn, true
	})
	return qn, nil
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
	ext := t.get()
	mod, ok, known := ext.module, ext.moduleOK, ext.hasModule
	if known {
		return mod, ok, nil
	}
	mod, ok, err = q.readTypeModule(t)
	if err != nil {
		return "", false, err
	}
	t.update(func(ext *typeExt) {
		ext.module, ext.moduleOK, ext.hasModule = mod, ok, true
	})
	return mod, ok, nil
}

func (q *req) readTypeModule(t *typeInfo) (string, bool, error) {
	if t.dict == 0 {
		return "", false, nil
	}
	defer q.staticReads()() // a class's dict lives as long as the class
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
	if e, ok := t.cachedLookup(name); ok {
		if e.owner == 0 {
			return nil, 0, nil
		}
		owner, err := q.typ(e.owner)
		return owner, e.value, err
	}
	owner, value, err = q.lookupMRO(t, name)
	if err != nil {
		return nil, 0, err
	}
	e := lookupEntry{name: name, value: value}
	if owner != nil {
		e.owner = owner.addr
	}
	t.update(func(ext *typeExt) {
		ext.lookups = append(slices.Clip(ext.lookups), e)
	})
	return owner, value, nil
}

func (q *req) lookupMRO(t *typeInfo, name string) (owner *typeInfo, value uint64, err error) {
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
