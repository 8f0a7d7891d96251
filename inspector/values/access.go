package values

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aioscope/aioscope/cpython"
)

// Reading parts of a value as an expression names them — obj.name, obj[key], len(obj) — for a
// debugger's watch expressions and hovers. Only what memory holds is read: an attribute a
// property, a method or __getattr__ computes, an item __getitem__ computes, and a length __len__
// computes are refused, since only running code in the target could produce them.

// PyError is the exception Python itself raises for a lookup: Type is its name (AttributeError,
// KeyError, IndexError, TypeError) and Message its text, as Python words it.
type PyError struct {
	Type    string
	Message string
}

func (e *PyError) Error() string { return e.Type + ": " + e.Message }

// NeedsCodeError reports a lookup that only code running in the target could answer.
type NeedsCodeError struct {
	What string // e.g. "attribute 'area' of a 'Shape' object"
	Why  string // e.g. "a property computes it"
}

func (e *NeedsCodeError) Error() string {
	return fmt.Sprintf("%s: %s, and aioscope never runs code in the process", e.What, e.Why)
}

// Key is a subscript: an int or a str.
type Key struct {
	Str   string
	Int   int64
	IsStr bool
}

// IntKey and StrKey make keys.
func IntKey(i int64) Key  { return Key{Int: i} }
func StrKey(s string) Key { return Key{Str: s, IsStr: true} }

// repr is the key as Python writes it in a KeyError.
func (k Key) repr() string {
	if k.IsStr {
		return pyQuote(k.Str)
	}
	return strconv.FormatInt(k.Int, 10)
}

// pyQuote quotes s roughly as repr() does, for messages only.
func pyQuote(s string) string {
	q := strconv.Quote(s)
	if !strings.Contains(s, "'") {
		q = "'" + strings.ReplaceAll(q[1:len(q)-1], `\"`, `"`) + "'"
	}
	return q
}

// errTagged is the failure of a lookup in a small int that a frame holds without an object.
func errTagged(what string) error {
	return &NeedsCodeError{What: what + " of an int", Why: "ints have no attributes or items memory holds"}
}

// Attr reads obj.name for the object at addr (a Value's Addr) as Python's attribute lookup
// would find it without running code: a __slots__ member, the instance's __dict__, a class
// attribute that is not a descriptor; for a module, its globals; for a class, the attributes
// of its MRO. It fails with a *PyError (AttributeError) when Python would, and with a
// *NeedsCodeError when a property, a method or __getattr__ would be involved, or when the
// attribute belongs to a built-in type whose attributes memory does not hold.
func (r *Reader) Attr(addr uint64, name string) (Value, error) {
	if addr == 0 {
		return Value{}, errTagged("attribute '" + name + "'")
	}
	q, t, err := r.objectReq(addr)
	if err != nil {
		return Value{}, err
	}
	var v uint64
	switch {
	case t.flags&cpython.TPFlagsTypeSubclass != 0:
		v, err = q.classAttr(addr, name)
	case t.static("module"):
		v, err = q.moduleAttr(addr, t, name)
	default:
		v, err = q.objectAttr(addr, t, name)
	}
	if err != nil {
		return Value{}, err
	}
	return q.value(v)
}

func (q *req) typeNameOr(t *typeInfo) string {
	if n, err := q.typeName(t); err == nil {
		return n
	}
	return shortName(t.name)
}

// objectAttr is PyObject_GenericGetAttr without code: see Attr.
func (q *req) objectAttr(addr uint64, t *typeInfo, name string) (uint64, error) {
	tn := q.typeNameOr(t)
	what := fmt.Sprintf("attribute '%s' of a '%s' object", name, tn)
	if name == "args" && t.flags&cpython.TPFlagsBaseExcSubclass != 0 {
		// BaseException keeps args in its C struct, where Children finds it too.
		if o, err := q.overrides(t, "args"); err != nil || !o {
			if err != nil {
				return 0, err
			}
			return q.ptr(addr + q.r.v.ExcArgs)
		}
	}
	if t.heap {
		if _, ga, err := q.lookup(t, "__getattribute__"); err != nil {
			return 0, err
		} else if ga != 0 {
			return 0, &NeedsCodeError{What: what, Why: "the class defines __getattribute__"}
		}
	}
	v, err := q.getattr(addr, t, name)
	var ue *unreadableError
	if errors.As(err, &ue) {
		_, cv, lerr := q.lookup(t, name)
		why := "a descriptor of its class computes it"
		if lerr == nil && cv != 0 {
			if ct, terr := q.typeOf(cv); terr == nil {
				switch {
				case ct.static("function"):
					why = "it is a method, bound when Python looks it up"
				case ct.static("property"):
					why = "a property computes it"
				}
			}
		}
		return 0, &NeedsCodeError{What: what, Why: why}
	}
	if err != nil || v != 0 {
		return v, err
	}
	if t.heap {
		if _, ga, err := q.lookup(t, "__getattr__"); err != nil {
			return 0, err
		} else if ga != 0 {
			return 0, &NeedsCodeError{What: what, Why: "the class defines __getattr__"}
		}
	}
	if known, err := q.attrsKnown(t, name); err != nil || !known {
		if err == nil {
			err = &NeedsCodeError{What: what, Why: "attributes of built-in types are not in memory aioscope can read"}
		}
		return 0, err
	}
	return 0, &PyError{Type: "AttributeError", Message: fmt.Sprintf("'%s' object has no attribute '%s'", tn, name)}
}

// attrsKnown reports whether the reader can tell that an object of type t has no attribute
// name: every class of its MRO keeps its attributes in a dict the reader reads, apart from
// object, whose own attributes are all dunder names.
func (q *req) attrsKnown(t *typeInfo, name string) (bool, error) {
	if strings.HasPrefix(name, "__") && strings.HasSuffix(name, "__") {
		return false, nil
	}
	mro, err := q.mroOf(t)
	if err != nil {
		return false, err
	}
	for _, c := range mro {
		ct, err := q.typ(c)
		if err != nil {
			return false, err
		}
		if ct.dict == 0 && !ct.static("object") {
			return false, nil
		}
	}
	return true, nil
}

// classAttr is cls.name for a class: the first class of its MRO whose dict has name.
func (q *req) classAttr(cls uint64, name string) (uint64, error) {
	ct, err := q.typ(cls)
	if err != nil {
		return 0, err
	}
	cn := q.typeNameOr(ct)
	what := fmt.Sprintf("attribute '%s' of class %s", name, cn)
	_, v, err := q.lookup(ct, name)
	if err != nil {
		return 0, err
	}
	if v != 0 {
		vt, err := q.typeOf(v)
		if err != nil {
			return 0, err
		}
		if vt.descrGet != 0 && !vt.static("function") {
			return 0, &NeedsCodeError{What: what, Why: "a descriptor computes it"}
		}
		return v, nil
	}
	if known, err := q.attrsKnown(ct, name); err != nil || !known {
		if err == nil {
			err = &NeedsCodeError{What: what, Why: "attributes of built-in types are not in memory aioscope can read"}
		}
		return 0, err
	}
	mt, err := q.typeOf(cls)
	if err != nil {
		return 0, err
	}
	if mt.heap {
		return 0, &NeedsCodeError{What: what, Why: "its metaclass may provide it"}
	}
	return 0, &PyError{Type: "AttributeError", Message: fmt.Sprintf("type object '%s' has no attribute '%s'", cn, name)}
}

// moduleAttr is module.name: the module's globals (a module's __getattr__ is code).
func (q *req) moduleAttr(addr uint64, t *typeInfo, name string) (uint64, error) {
	d, err := q.moduleDict(addr)
	if err != nil {
		return 0, err
	}
	var v, modName, getattr uint64
	if err := q.dictGetMany(d, map[string]*uint64{name: &v, "__name__": &modName, "__getattr__": &getattr}); err != nil {
		return 0, err
	}
	if v != 0 {
		return v, nil
	}
	mn := "?"
	if modName != 0 {
		if s, err := q.strValue(modName, maxName); err == nil {
			mn = s
		}
	}
	what := fmt.Sprintf("attribute '%s' of module '%s'", name, mn)
	if getattr != 0 {
		return 0, &NeedsCodeError{What: what, Why: "the module defines __getattr__"}
	}
	if strings.HasPrefix(name, "__") && strings.HasSuffix(name, "__") {
		return 0, &NeedsCodeError{What: what, Why: "attributes of built-in types are not in memory aioscope can read"}
	}
	return 0, &PyError{Type: "AttributeError", Message: fmt.Sprintf("module '%s' has no attribute '%s'", mn, name)}
}

// containerKind names the built-in container a type stores its items as ("list", "dict",
// "deque"...), "" for other types.
func (q *req) containerKind(t *typeInfo) string {
	if t.repr == q.k.mods.dequeRepr && q.k.mods.dequeRepr != 0 {
		return "deque"
	}
	switch k := q.k.reprs[t.repr]; k {
	case "tuple", "list", "dict", "frozendict", "set", "str", "bytes", "bytearray":
		return k
	}
	// A subclass with a __repr__ of its own still stores its items as its base does.
	switch {
	case t.flags&cpython.TPFlagsListSubclass != 0:
		return "list"
	case t.flags&cpython.TPFlagsTupleSubclass != 0:
		return "tuple"
	case t.flags&cpython.TPFlagsDictSubclass != 0:
		return "dict"
	case t.flags&cpython.TPFlagsUnicodeSubclass != 0:
		return "str"
	case t.flags&cpython.TPFlagsBytesSubclass != 0:
		return "bytes"
	}
	return ""
}

// overrides reports whether a class of t's MRO written in Python defines name (which then runs
// instead of the built-in behaviour the reader reproduces).
func (q *req) overrides(t *typeInfo, name string) (bool, error) {
	if !t.heap {
		return false, nil
	}
	owner, v, err := q.lookup(t, name)
	if err != nil || v == 0 {
		return false, err
	}
	return owner.heap, nil
}
