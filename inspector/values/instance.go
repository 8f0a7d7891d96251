package values

import (
	"github.com/aioscope/aioscope/cpython"
)

// instanceDict returns a walk of vars(obj): the inline values of the object when they are
// valid, else its managed __dict__, else the dict at tp_dictoffset. It returns nil when the
// object has no attributes.
func (q *req) instanceDict(addr uint64, t *typeInfo) (*dictIter, error) {
	if t.flags&cpython.TPFlagsInlineValues != 0 && t.cachedKeys != 0 {
		values := addr + uint64(t.basicSize)
		hdr, err := q.read(values, int(q.r.v.Dict.ValuesArr))
		if err != nil {
			return nil, err
		}
		dv, err := q.r.v.ParseDictValues(hdr)
		if err != nil {
			return nil, changed(addr, "%v", err)
		}
		if dv.Embedded && dv.Valid {
			it, err := q.keysIter(addr, t.cachedKeys, 0)
			if err != nil {
				return nil, err
			}
			if err := it.setValues(values, false); err != nil {
				return nil, err
			}
			return it, nil
		}
	}
	var d uint64
	var err error
	switch {
	case t.flags&cpython.TPFlagsManagedDict != 0:
		d, err = q.optPtr(uint64(int64(addr) + q.r.v.Dict.ManagedDictOffset))
	case t.dictOffset > 0 && t.dictOffset < t.basicSize:
		d, err = q.optPtr(addr + uint64(t.dictOffset))
	}
	if err != nil || d == 0 {
		return nil, err
	}
	dt, err := q.typeOf(d)
	if err != nil {
		return nil, err
	}
	if dt.flags&cpython.TPFlagsDictSubclass == 0 {
		return nil, changed(addr, "__dict__ of type %s", dt.name)
	}
	return q.dict(d)
}

// instAttr is vars(obj)[name], 0 when absent.
func (q *req) instAttr(addr uint64, t *typeInfo, name string) (uint64, error) {
	it, err := q.instanceDict(addr, t)
	if err != nil || it == nil {
		return 0, err
	}
	return it.find(name)
}

// instAttrs reads several attributes of vars(obj) in one walk.
func (q *req) instAttrs(addr uint64, t *typeInfo, want map[string]*uint64) error {
	it, err := q.instanceDict(addr, t)
	if err != nil || it == nil {
		return err
	}
	// Each key is compared in place, without making a string of it: reprs of locks, queues and
	// enums walk an instance's dict every time.
	return it.fill(want, func(k uint64) (*uint64, error) {
		for name, dst := range want {
			if *dst != 0 {
				continue
			}
			if eq, err := q.strEquals(k, name); err != nil || eq {
				return dst, err
			}
		}
		return nil, nil
	})
}

// slot is one __slots__ member of an object's class.
type slot struct {
	name  string
	value uint64 // 0: unset
}

// members returns the object slots a heap type adds (its PyMemberDef array). The slice is
// shared: not to be modified.
func (q *req) members(t *typeInfo) ([]memberDef, error) {
	if !t.heap || t.members == 0 {
		return nil, nil
	}
	ext := t.get()
	ms, ok := ext.members, ext.hasMembers
	if ok {
		return ms, nil
	}
	ms, err := q.readMembers(t)
	if err != nil {
		return nil, err
	}
	t.update(func(ext *typeExt) {
		ext.members, ext.hasMembers = ms, true
	})
	return ms, nil
}

// readMembers reads the PyMemberDef array of a heap type, which lives as long as the type.
func (q *req) readMembers(t *typeInfo) ([]memberDef, error) {
	defer q.staticReads()()
	md := &q.r.v.MemberDef
	var out []memberDef
	for i := uint64(0); i < maxMembers; i++ {
		b, err := q.read(t.members+i*md.Size, int(md.Size))
		if err != nil {
			return nil, err
		}
		name := le64(b, md.Name)
		if name == 0 {
			return out, nil
		}
		typ := int32(le32(b, md.Type))
		if typ != cpython.MemberTypeObjectEx && typ != cpython.MemberTypeObject {
			continue
		}
		m := memberDef{offset: int64(le64(b, md.Offset)), flags: int32(le32(b, md.Flags))}
		// b is only valid until the next read.
		if m.name, err = q.cString(name); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return nil, changed(t.addr, "more than %d members", maxMembers)
}

type memberDef struct {
	name   string
	offset int64
	flags  int32
}

// memberValue reads a __slots__ member of the object at addr (0 when unset).
func (q *req) memberValue(addr uint64, t *typeInfo, m memberDef) (uint64, error) {
	off := m.offset
	if m.flags&cpython.MemberAfterItems != 0 {
		n, err := q.i64(addr + q.r.v.VarSize)
		if err != nil {
			return 0, err
		}
		if n < 0 || n > maxLen {
			return 0, changed(addr, "object of %d items", n)
		}
		off += n * t.itemSize
	}
	if off < int64(q.r.off.PyObject.Size) || off > 1<<24 || off%8 != 0 {
		return 0, changed(addr, "slot %s at offset %d", m.name, off)
	}
	if off+8 <= headSize {
		// Most objects with slots are small: their slots come with the head read of them.
		b, err := q.head(addr, int(off)+8)
		if err != nil {
			return 0, err
		}
		if v := le64(b, uint64(off)); v%8 == 0 {
			return v, nil
		}
		return 0, changed(addr+uint64(off), "pointer field holds %#x", le64(b, uint64(off)))
	}
	return q.optPtr(addr + uint64(off))
}

// allSlots returns the object slots of the classes of t's MRO, the class's own first then its
// bases'. The slice is shared: not to be modified.
func (q *req) allSlots(t *typeInfo) ([]memberDef, error) {
	ext := t.get()
	all, ok := ext.slots, ext.hasSlots
	if ok {
		return all, nil
	}
	mro, err := q.mroOf(t)
	if err != nil {
		return nil, err
	}
	for _, c := range mro {
		ct, err := q.typ(c)
		if err != nil {
			return nil, err
		}
		ms, err := q.members(ct)
		if err != nil {
			return nil, err
		}
		all = append(all, ms...)
	}
	t.update(func(ext *typeExt) {
		ext.slots, ext.hasSlots = all, true
	})
	return all, nil
}

// slots reads the __slots__ of the object at addr, the class's own first then its bases'.
func (q *req) slots(addr uint64, t *typeInfo) ([]slot, error) {
	all, err := q.allSlots(t)
	if err != nil {
		return nil, err
	}
	var out []slot
	for _, m := range all {
		v, err := q.memberValue(addr, t, m)
		if err != nil {
			return nil, err
		}
		out = append(out, slot{name: m.name, value: v})
	}
	return out, nil
}

// slotValue is the value of the __slots__ member name of the object at addr (0 when unset or
// absent).
func (q *req) slotValue(addr uint64, t *typeInfo, name string) (uint64, error) {
	all, err := q.allSlots(t)
	if err != nil {
		return 0, err
	}
	for _, m := range all {
		if m.name == name {
			return q.memberValue(addr, t, m)
		}
	}
	return 0, nil
}

// errUnreadable marks an attribute whose value only running code could produce (a property,
// a method); the caller falls back.
type unreadableError struct{ name string }

func (e *unreadableError) Error() string { return "attribute " + e.name + " is computed by code" }

// getattr reads obj.name without running code, in PyObject_GenericGetAttr's order: a data
// descriptor in the class (only __slots__ members can be read), the instance dict, then a
// plain class attribute. It returns 0 when there is no such attribute.
func (q *req) getattr(addr uint64, t *typeInfo, name string) (uint64, error) {
	_, cv, err := q.lookup(t, name)
	if err != nil {
		return 0, err
	}
	if cv != 0 {
		ct, err := q.typeOf(cv)
		if err != nil {
			return 0, err
		}
		if ct.static("member_descriptor") {
			member, err := q.ptr(cv + q.r.v.Descr.Member)
			if err != nil {
				return 0, err
			}
			md := &q.r.v.MemberDef
			b, err := q.read(member, int(md.Size))
			if err != nil {
				return 0, err
			}
			typ := int32(le32(b, md.Type))
			if typ != cpython.MemberTypeObjectEx && typ != cpython.MemberTypeObject {
				return 0, &unreadableError{name}
			}
			return q.memberValue(addr, t, memberDef{name: name, offset: int64(le64(b, md.Offset)), flags: int32(le32(b, md.Flags))})
		}
		if ct.descrSet != 0 {
			return 0, &unreadableError{name}
		}
	}
	v, err := q.instAttr(addr, t, name)
	if err != nil || v != 0 {
		return v, err
	}
	if cv != 0 {
		ct, err := q.typeOf(cv)
		if err != nil {
			return 0, err
		}
		if ct.descrGet != 0 {
			return 0, &unreadableError{name}
		}
	}
	return cv, nil
}

// enumRepr is Enum.__repr__ / Flag.__repr__: <Color.RED: 1>, <Perm.R|W: 3>, <Perm: 0>.
func (q *req) enumRepr(addr uint64, t *typeInfo, flag bool, depth int) (bool, error) {
	var name, value uint64
	if err := q.instAttrs(addr, t, map[string]*uint64{"_name_": &name, "_value_": &value}); err != nil {
		return false, err
	}
	if name == 0 || value == 0 {
		return false, nil
	}
	_, vr, err := q.lookup(t, "_value_repr_")
	if err != nil {
		return false, err
	}
	if vr != 0 && vr != q.k.none {
		// A slot wrapper such as int.__repr__ prints what repr() prints when the value's type
		// has that repr; anything else is code.
		vrt, err := q.typeOf(vr)
		if err != nil {
			return false, err
		}
		if !vrt.static("wrapper_descriptor") {
			return false, nil
		}
		dt, err := q.ptr(vr + q.r.v.Descr.Type)
		if err != nil {
			return false, err
		}
		dti, err := q.typ(dt)
		if err != nil {
			return false, err
		}
		vt, err := q.typeOf(value)
		if err != nil {
			return false, err
		}
		if vt.repr != dti.repr {
			return false, nil
		}
	}
	cls, err := q.typeName(t)
	if err != nil {
		return false, err
	}
	q.write("<" + cls)
	if name == q.k.none && flag {
		q.write(": ")
	} else {
		if ok, err := q.isStr(name); err != nil || !ok {
			return false, err
		}
		s, err := q.strValue(name, maxName)
		if err != nil {
			return false, err
		}
		q.write("." + s + ": ")
	}
	if depth >= q.r.lim.MaxDepth {
		q.write("...>")
		q.trunc = true
		return true, nil
	}
	if err := q.repr(value, depth+1); err != nil {
		return true, err
	}
	q.writeByte('>')
	return true, nil
}

// Code object names that identify the __repr__ dataclasses generate: reprlib's recursion guard
// wrapping a function compiled from a string by __create_fn__.
const (
	dataclassWrapperQualname = "recursive_repr.<locals>.decorating_function.<locals>.wrapper"
	dataclassReprQualname    = "__create_fn__.<locals>.__repr__"
)

// functionCode returns the code object of a Python function, 0 when fn is not a function.
func (q *req) functionCode(fn uint64) (uint64, error) {
	ft, err := q.typeOf(fn)
	if err != nil || !ft.static("function") {
		return 0, err
	}
	return q.ptr(fn + q.r.v.Function.Code)
}

func (q *req) codeNames(code uint64) (qualname, filename string, err error) {
	co := &q.r.off.CodeObject
	b, err := q.read(code, int(co.Size))
	if err != nil {
		return "", "", err
	}
	qp, fp := le64(b, co.Qualname), le64(b, co.Filename)
	if qualname, err = q.name(qp); err != nil {
		return "", "", err
	}
	filename, err = q.name(fp)
	return qualname, filename, err
}

// isDataclassRepr reports whether fn is the __repr__ @dataclass generated.
func (q *req) isDataclassRepr(fn uint64) (bool, error) {
	code, err := q.functionCode(fn)
	if err != nil || code == 0 {
		return false, err
	}
	qn, _, err := q.codeNames(code)
	if err != nil || qn != dataclassWrapperQualname {
		return false, err
	}
	fd, err := q.optPtr(fn + q.r.v.Function.Dict)
	if err != nil || fd == 0 {
		return false, err
	}
	wrapped, err := q.dictGet(fd, "__wrapped__")
	if err != nil || wrapped == 0 {
		return false, err
	}
	wcode, err := q.functionCode(wrapped)
	if err != nil || wcode == 0 {
		return false, err
	}
	wqn, wfile, err := q.codeNames(wcode)
	if err != nil {
		return false, err
	}
	return wqn == dataclassReprQualname && wfile == "<string>", nil
}

// dataclassRepr is the generated dataclass __repr__: Qualname(f1=..., f2=...), the fields of
// __dataclass_fields__ that are real fields with repr=True, "..." when it meets itself.
func (q *req) dataclassRepr(addr uint64, t *typeInfo, fn uint64, depth int) (bool, error) {
	if q.k.mods.dcField == 0 {
		return false, nil
	}
	shown, ok, err := q.dataclassFields(t, fn)
	if err != nil || !ok {
		return false, err
	}
	key := addr | 1
	if q.path[key] {
		q.write("...")
		return true, nil
	}
	qn, err := q.typeQualname(t)
	if err != nil {
		return false, err
	}
	return q.dataclassValues(addr, t, qn, shown, depth)
}

// dataclassFields returns the names of the fields the generated __repr__ fn of class t shows;
// ok is false when fn is not that __repr__. They are read once for a class: the generated
// __repr__ has them written into its code when the class is made.
func (q *req) dataclassFields(t *typeInfo, fn uint64) ([]string, bool, error) {
	ext := t.get()
	done, cachedFn, names := ext.dataclassDone, ext.dataclassFn, ext.dataclassFields
	if done && cachedFn == fn {
		return names, names != nil, nil
	}
	names, ok, err := q.readDataclassFields(t, fn)
	if err != nil {
		return nil, false, err
	}
	if !ok {
		names = nil
	} else if names == nil {
		names = []string{}
	}
	t.update(func(ext *typeExt) {
		ext.dataclassFn, ext.dataclassDone, ext.dataclassFields = fn, true, names
	})
	return names, ok, nil
}

func (q *req) readDataclassFields(t *typeInfo, fn uint64) ([]string, bool, error) {
	owner, _, err := q.lookup(t, "__repr__")
	if err != nil || owner == nil {
		return nil, false, err
	}
	if ok, err := q.isDataclassRepr(fn); err != nil || !ok {
		return nil, false, err
	}
	fields, err := q.dictGet(owner.dict, "__dataclass_fields__")
	if err != nil || fields == 0 {
		return nil, false, err
	}
	var shown []string
	it, err := q.dict(fields)
	if err != nil {
		return nil, false, err
	}
	for i := 0; ; i++ {
		if i > maxMembers {
			return nil, false, changed(fields, "more than %d dataclass fields", maxMembers)
		}
		_, f, ok, err := it.next()
		if err != nil {
			return nil, false, err
		}
		if !ok {
			break
		}
		ft, err := q.typeOf(f)
		if err != nil {
			return nil, false, err
		}
		kind, err := q.slotValue(f, ft, "_field_type")
		if err != nil {
			return nil, false, err
		}
		if kind != q.k.mods.dcField {
			continue
		}
		rep, err := q.slotValue(f, ft, "repr")
		if err != nil {
			return nil, false, err
		}
		if rep != q.k.trueObj {
			if rep != q.k.falseObj {
				return nil, false, nil // a repr flag that is not a bool: leave it to code
			}
			continue
		}
		np, err := q.slotValue(f, ft, "name")
		if err != nil || np == 0 {
			return nil, false, err
		}
		name, err := q.name(np)
		if err != nil {
			return nil, false, err
		}
		shown = append(shown, name)
	}
	return shown, true, nil
}

// dataclassValues writes Qualname(f1=..., f2=...) for the fields shown of the dataclass
// instance at addr.
func (q *req) dataclassValues(addr uint64, t *typeInfo, qn string, shown []string, depth int) (bool, error) {
	key := addr | 1
	// Read the values before writing anything, so that an unreadable field falls back whole.
	vals := make([]uint64, len(shown))
	for i, name := range shown {
		v, err := q.getattr(addr, t, name)
		if _, code := err.(*unreadableError); code {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if v == 0 {
			return false, nil // AttributeError in Python
		}
		vals[i] = v
	}
	if depth >= q.r.lim.MaxDepth && len(shown) > 0 {
		q.write(qn + "(...)")
		q.trunc = true
		return true, nil
	}
	q.path[key] = true
	defer delete(q.path, key)
	q.write(qn + "(")
	for i, name := range shown {
		if q.stopItems() {
			q.cut(i == 0)
			break
		}
		if i > 0 {
			q.write(", ")
		}
		q.write(name + "=")
		if err := q.repr(vals[i], depth+1); err != nil {
			return true, q.stopErr(err, true)
		}
	}
	q.writeByte(')')
	return true, nil
}
