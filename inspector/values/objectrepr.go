package values

import (
	"errors"

	"github.com/aioscope/aioscope/cpython"
)

// objectRepr is object.__repr__: "<module.Qualname object at 0x…>", or "<tp_name object at
// 0x…>" for builtins and types whose __module__ is not a str.
func (q *req) objectRepr(addr uint64, t *typeInfo) error {
	mod, ok, err := q.typeModule(t)
	if err != nil {
		return err
	}
	whole := addr == q.valueAddr && len(q.out) == 0
	q.writeByte('<')
	if ok && mod != "builtins" {
		qn, err := q.typeQualname(t)
		if err != nil {
			return err
		}
		q.write(mod)
		q.writeByte('.')
		q.write(qn)
	} else {
		q.write(t.name)
	}
	q.write(" object at ")
	q.writeAddr(addr)
	q.writeByte('>')
	if whole {
		// The value's whole repr, so far: its type's and its address.
		q.byTypeEnd = len(q.out)
	}
	return nil
}

// exceptionRepr is BaseException.__repr__: Name(arg) for one argument, Name(a, b) otherwise.
func (q *req) exceptionRepr(addr uint64, t *typeInfo, depth int) error {
	args, err := q.ptr(addr + q.r.v.ExcArgs)
	if err != nil {
		return err
	}
	at, err := q.typeOf(args)
	if err != nil {
		return err
	}
	if q.builtin(at) != "tuple" {
		return changed(addr, "exception args of type %s", at.name)
	}
	s, err := q.tuple(args)
	if err != nil {
		return err
	}
	q.write(shortName(t.name))
	if depth >= q.r.lim.MaxDepth && s.n > 0 {
		q.write("(...)")
		q.trunc = true
		return nil
	}
	q.writeByte('(')
	if _, err := q.seqItems(args, s, depth); err != nil {
		return err
	}
	q.writeByte(')')
	return nil
}

// typeRepr is type.__repr__: <class 'module.Qualname'>.
func (q *req) typeRepr(addr uint64) error {
	t, err := q.typ(addr)
	if err != nil {
		return err
	}
	mod, ok, err := q.typeModule(t)
	if err != nil {
		return err
	}
	if ok && mod != "builtins" {
		qn, err := q.typeQualname(t)
		if err != nil {
			return err
		}
		q.write("<class '" + mod + "." + qn + "'>")
		return nil
	}
	q.write("<class '" + t.name + "'>")
	return nil
}

// functionRepr: <function Qualname at 0x…>.
func (q *req) functionRepr(addr uint64) error {
	qn, err := q.ptr(addr + q.r.v.Function.Qualname)
	if err != nil {
		return err
	}
	q.write("<function ")
	if err := q.writeName(qn); err != nil {
		return err
	}
	q.write(" at ")
	q.writeAddr(addr)
	q.writeByte('>')
	return nil
}

// genRepr: <coroutine object Qualname at 0x…> (and generator, async_generator).
func (q *req) genRepr(addr uint64, t *typeInfo) error {
	qn, err := q.ptr(addr + q.r.v.Gen.Qualname)
	if err != nil {
		return err
	}
	q.writeByte('<')
	q.write(t.name)
	q.write(" object ")
	if err := q.writeName(qn); err != nil {
		return err
	}
	q.write(" at ")
	q.writeAddr(addr)
	q.writeByte('>')
	return nil
}

// cfunctionRepr: <built-in function name> or <built-in method name of Type object at 0x…>.
func (q *req) cfunctionRepr(addr uint64) error {
	name, self, st, err := q.cfunction(addr)
	if err != nil {
		return err
	}
	if self == 0 {
		q.write("<built-in function " + name + ">")
		return nil
	}
	q.write("<built-in method " + name + " of " + st.name + " object at ")
	q.writeAddr(self)
	q.writeByte('>')
	return nil
}

// cfunction reads a built-in function's name and the object it is bound to, with that object's
// type; self is 0 for a function bound to nothing or to a module, which Python shows as a
// function rather than a method.
func (q *req) cfunction(fn uint64) (name string, self uint64, st *typeInfo, err error) {
	cf := &q.r.v.CFunction
	ml, err := q.ptr(fn + cf.Ml)
	if err != nil {
		return "", 0, nil, err
	}
	if name, err = q.methodName(ml); err != nil {
		return "", 0, nil, err
	}
	if self, err = q.optPtr(fn + cf.Self); err != nil || self == 0 {
		return name, 0, nil, err
	}
	if st, err = q.typeOf(self); err != nil {
		return "", 0, nil, err
	}
	if isMod, err := q.isModule(st); err != nil || isMod {
		return name, 0, nil, err
	}
	return name, self, st, nil
}

// isModule reports whether t is module or a subclass of it.
func (q *req) isModule(t *typeInfo) (bool, error) {
	ext := t.get()
	known := ext.isModule
	if known != 0 {
		return known == 2, nil
	}
	mro, err := q.mroOf(t)
	if err != nil {
		return false, err
	}
	is := false
	for _, c := range mro {
		ct, err := q.typ(c)
		if err != nil {
			return false, err
		}
		if ct.static("module") {
			is = true
			break
		}
	}
	t.update(func(ext *typeExt) {
		ext.isModule = 1
		if is {
			ext.isModule = 2
		}
	})
	return is, nil
}

// codeRepr: <code object name at 0x…, file "f.py", line 3>.
func (q *req) codeRepr(addr uint64) error {
	co := &q.r.off.CodeObject
	b, err := q.read(addr, int(co.Size))
	if err != nil {
		return err
	}
	nameP, fileP := le64(b, co.Name), le64(b, co.Filename)
	line := int64(int32(le32(b, co.FirstLineNo)))
	name, err := q.name(nameP)
	if err != nil {
		return err
	}
	if line == 0 {
		line = -1
	}
	q.write("<code object " + name + " at ")
	q.writeAddr(addr)
	if fileP != 0 {
		if ok, err := q.isStr(fileP); err == nil && ok {
			file, err := q.strValue(fileP, maxName)
			if err != nil {
				return err
			}
			q.write(", file \"" + file + "\", line ")
			q.writeInt(line)
			q.writeByte('>')
			return nil
		}
	}
	q.write(", file ???, line ")
	q.writeInt(line)
	q.writeByte('>')
	return nil
}

// cellRepr: <cell at 0x…: Type object at 0x…> or <cell at 0x…: empty>.
func (q *req) cellRepr(addr uint64) error {
	ref, err := q.optPtr(addr + q.r.v.CellRef)
	if err != nil {
		return err
	}
	q.write("<cell at ")
	q.writeAddr(addr)
	if ref == 0 {
		q.write(": empty>")
		return nil
	}
	t, err := q.typeOf(ref)
	if err != nil {
		return err
	}
	name := t.name
	if len(name) > 80 {
		name = name[:80]
	}
	q.write(": " + name + " object at ")
	q.writeAddr(ref)
	q.writeByte('>')
	return nil
}

// lazyImportRepr (3.15): <lazy_import 'module.name'> for "lazy import module.name".
func (q *req) lazyImportRepr(addr uint64) error {
	var from, attr uint64
	var err error
	if q.r.v.LazyFrom != 0 {
		if from, err = q.optPtr(addr + q.r.v.LazyFrom); err != nil {
			return err
		}
		if attr, err = q.optPtr(addr + q.r.v.LazyFrom + 8); err != nil {
			return err
		}
	}
	if from == 0 || attr != 0 {
		// "lazy from m import a" was not characterised; say what the object is.
		q.inexact = true
		t, err := q.typeOf(addr)
		if err != nil {
			return err
		}
		return q.objectRepr(addr, t)
	}
	q.write("<lazy_import ")
	if err := q.strRepr(from); err != nil {
		return err
	}
	q.writeByte('>')
	return nil
}

// moduleRepr is ModuleType.__repr__ (importlib._bootstrap._module_repr): from the module's
// __spec__, else its __name__ and __file__: <module 'os' (frozen)>, <module 'json' from '…'>.
func (q *req) moduleRepr(addr uint64, t *typeInfo) error {
	d, err := q.optPtr(addr + q.r.v.ModuleDict)
	if err != nil {
		return err
	}
	var spec, loader, name, file uint64
	if d != 0 {
		if err := q.dictGetMany(d, map[string]*uint64{"__spec__": &spec, "__loader__": &loader, "__name__": &name,
			"__file__": &file}); err != nil {
			return err
		}
	}
	mark := len(q.out)
	fallback := func() error {
		q.out = q.out[:mark]
		q.inexact = true
		return q.objectRepr(addr, t)
	}
	// writeStr writes repr(s), or str(s) when quoted is false; ok is false for a non-str.
	writeStr := func(s uint64, quoted bool) (bool, error) {
		if isStr, err := q.isStr(s); err != nil || !isStr {
			return false, err
		}
		if quoted {
			return true, q.strRepr(s)
		}
		v, err := q.str(s, q.r.lim.MaxStrLen)
		if err != nil {
			return false, err
		}
		text, err := cpython.DecodeUnicode(v.kind, v.data)
		q.write(text)
		return err == nil, err
	}
	if spec != 0 && spec != q.k.none {
		st, err := q.typeOf(spec)
		if err != nil {
			return err
		}
		var sName, origin, sLoader, fileattr uint64
		if err := q.instAttrs(spec, st, map[string]*uint64{"name": &sName, "origin": &origin, "loader": &sLoader,
			"_set_fileattr": &fileattr}); err != nil {
			return err
		}
		if sName == 0 || origin == 0 || origin == q.k.none || fileattr == 0 {
			// No origin: the text depends on the loader's class (namespace packages).
			return fallback()
		}
		q.write("<module ")
		if sName == q.k.none {
			q.write("'?'")
		} else if ok, err := writeStr(sName, true); err != nil || !ok {
			return errors.Join(err, fallback())
		}
		hasLoc, err := q.truthy(fileattr)
		if err != nil {
			return fallback()
		}
		if hasLoc {
			q.write(" from ")
			if ok, err := writeStr(origin, true); err != nil || !ok {
				return errors.Join(err, fallback())
			}
		} else {
			q.write(" (")
			if ok, err := writeStr(origin, false); err != nil || !ok {
				return errors.Join(err, fallback())
			}
			q.writeByte(')')
		}
		q.writeByte('>')
		return nil
	}
	if file == 0 && loader != 0 && loader != q.k.none {
		return fallback() // "(loader repr)": code
	}
	q.write("<module ")
	if name == 0 {
		q.write("'?'")
	} else if ok, err := writeStr(name, true); err != nil || !ok {
		return errors.Join(err, fallback())
	}
	if file != 0 {
		q.write(" from ")
		if ok, err := writeStr(file, true); err != nil || !ok {
			return errors.Join(err, fallback())
		}
	}
	q.writeByte('>')
	return nil
}
