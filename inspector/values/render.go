package values

import (
	"errors"
	"strconv"

	"github.com/aioscope/aioscope/cpython"
)

// The repr dispatch mirrors CPython's: singletons by address, then the type's tp_repr (inherited
// unchanged by subclasses that define no __repr__), then the Python-level __repr__ found along
// the MRO for the standard-library classes whose repr depends only on their state.

func (q *req) write(s string)   { q.out = append(q.out, s...) }
func (q *req) writeByte(c byte) { q.out = append(q.out, c) }
func (q *req) writeAddr(a uint64) {
	q.out = append(append(q.out, "0x"...), strconv.FormatUint(a, 16)...)
}
func (q *req) writeInt(v int64)     { q.out = strconv.AppendInt(q.out, v, 10) }
func (q *req) writeFloat(x float64) { q.out = cpython.AppendFloatRepr(q.out, x) }

// repr appends repr() of the object at addr. depth counts the containers around it.
func (q *req) repr(addr uint64, depth int) error {
	k := q.k
	switch addr {
	case 0:
		return changed(0, "NULL object")
	case k.none:
		q.write("None")
		return nil
	case k.trueObj:
		q.write("True")
		return nil
	case k.falseObj:
		q.write("False")
		return nil
	case k.ellipsis:
		q.write("Ellipsis")
		return nil
	case k.notImpl:
		q.write("NotImplemented")
		return nil
	}
	t, err := q.typeOf(addr)
	if err != nil {
		return err
	}
	switch q.builtin(t) {
	case "int":
		s, err := q.intText(addr)
		if err != nil {
			return err
		}
		if len(s) > 0 && s[0] == '<' {
			q.trunc = true
		}
		q.write(s)
		return nil
	case "bool":
		return changed(addr, "a bool that is neither True nor False")
	case "float":
		x, err := q.float(addr)
		if err != nil {
			return err
		}
		q.writeFloat(x)
		return nil
	case "str":
		return q.strRepr(addr)
	case "bytes":
		return q.bytesRepr(addr, "", "")
	case "bytearray":
		return q.bytearrayRepr(addr)
	case "tuple", "list", "set", "dict", "frozendict":
		return q.containerRepr(addr, t, q.builtin(t), depth)
	case "object":
		t.update(func(ext *typeExt) {
			ext.reprByType = true
		})
		return q.objectRepr(addr, t)
	case "BaseException":
		return q.exceptionRepr(addr, t, depth)
	case "type":
		return q.typeRepr(addr)
	}
	m := &k.mods
	switch {
	case t.repr == m.dequeRepr && m.dequeRepr != 0:
		return q.containerRepr(addr, t, "deque", depth)
	case t.repr == m.taskRepr && m.taskRepr != 0:
		return q.taskRepr(addr, t, depth)
	case t.repr == m.futureRepr && m.futureRepr != 0:
		return q.futureRepr(addr, t, depth)
	}
	if !t.heap {
		switch t.name {
		case "function":
			return q.functionRepr(addr)
		case "coroutine", "generator", "async_generator":
			return q.genRepr(addr, t)
		case "builtin_function_or_method":
			return q.cfunctionRepr(addr)
		case "code":
			return q.codeRepr(addr)
		case "cell":
			return q.cellRepr(addr)
		case "lazy_import":
			return q.lazyImportRepr(addr)
		case "module":
			return q.moduleRepr(addr, t)
		}
	}
	if t.heap {
		_, fn, err := q.lookup(t, "__repr__")
		if err != nil {
			return err
		}
		if done, err := q.pythonRepr(addr, t, fn, depth); done || err != nil {
			return err
		}
		if !q.knownRepr(fn) {
			// Not a __repr__ the reader reproduces, nor a dataclass's: every instance of the
			// class gets the object repr.
			t.update(func(ext *typeExt) {
				ext.reprByType = true
			})
		}
	}
	// A repr that runs code: say what the object is, the way object.__repr__ would.
	q.inexact = true
	return q.objectRepr(addr, t)
}

// knownRepr reports whether fn is one of the standard library's __repr__ the reader
// reproduces from an object's state.
func (q *req) knownRepr(fn uint64) bool {
	m := &q.k.mods
	if fn == 0 {
		return false
	}
	switch fn {
	case m.enumRepr, m.flagRepr, m.eventRepr, m.lockRepr, m.semRepr, m.condRepr, m.queueRepr, m.handleRepr, m.timeoutRepr:
		return true
	}
	return false
}

// pythonRepr renders objects whose class has a Python-level __repr__ (fn) that the reader
// reproduces. done is false when it does not know fn.
func (q *req) pythonRepr(addr uint64, t *typeInfo, fn uint64, depth int) (bool, error) {
	m := &q.k.mods
	if fn == 0 {
		return false, nil
	}
	switch fn {
	case m.enumRepr, m.flagRepr:
		return q.enumRepr(addr, t, fn == m.flagRepr, depth)
	case m.eventRepr, m.lockRepr, m.semRepr, m.condRepr:
		return true, q.lockRepr(addr, t, fn)
	case m.queueRepr:
		return true, q.queueRepr(addr, t, depth)
	case m.handleRepr:
		return q.handleRepr(addr, t)
	case m.timeoutRepr:
		return q.timeoutRepr(addr)
	}
	return q.dataclassRepr(addr, t, fn, depth)
}

// strRepr appends repr() of a str, cut to MaxStrLen code points.
func (q *req) strRepr(addr uint64) error {
	max := q.r.lim.MaxStrLen
	s, err := q.strView(addr, max)
	if err != nil {
		return err
	}
	q.out = cpython.AppendStrRepr(q.out, q.r.print, s.kind, s.data)
	if s.length > int64(len(s.data)/s.kind) {
		q.trunc = true
		q.out = append(q.out, "... <"...)
		q.out = strconv.AppendInt(q.out, s.length, 10)
		q.out = append(q.out, " chars>"...)
	}
	return nil
}

func (q *req) bytesRepr(addr uint64, prefix, suffix string) error {
	n, b, err := q.bytesData(addr, q.r.lim.MaxStrLen)
	if err != nil {
		return err
	}
	q.write(prefix)
	q.out = cpython.AppendBytesRepr(q.out, b)
	q.write(suffix)
	q.bytesCut(n, len(b))
	return nil
}

func (q *req) bytesCut(n int64, shown int) {
	if n > int64(shown) {
		q.trunc = true
		q.out = append(q.out, "... <"...)
		q.out = strconv.AppendInt(q.out, n, 10)
		q.out = append(q.out, " bytes>"...)
	}
}

func (q *req) bytearrayRepr(addr uint64) error {
	ba := &q.r.v.ByteArray
	n, err := q.i64(addr + ba.Size)
	if err != nil {
		return err
	}
	if n < 0 || n > maxLen {
		return changed(addr, "bytearray of %d bytes", n)
	}
	m := min(n, int64(q.r.lim.MaxStrLen))
	var b []byte
	if m > 0 {
		start, err := q.bytePtr(addr + ba.Start)
		if err != nil {
			return err
		}
		if b, err = q.readCopy(start, int(m)); err != nil {
			return err
		}
	}
	t, err := q.typeOf(addr)
	if err != nil {
		return err
	}
	name, err := q.typeName(t)
	if err != nil {
		return err
	}
	// bytearray_repr uses the type's __name__ (subclasses included) around the bytes repr.
	q.write(name)
	q.writeByte('(')
	q.out = cpython.AppendBytesRepr(q.out, b)
	q.writeByte(')')
	q.bytesCut(n, len(b))
	return nil
}

// containerLen is the number of items of a tuple, list, dict, set or deque, for summaries.
func (q *req) containerLen(addr uint64, kind string) (int64, error) {
	switch kind {
	case "tuple":
		s, err := q.tuple(addr)
		return s.n, err
	case "list":
		s, err := q.list(addr)
		return s.n, err
	case "dict", "frozendict":
		it, err := q.dict(addr)
		if err != nil {
			return 0, err
		}
		return it.used, nil
	case "set":
		it, err := q.set(addr)
		if err != nil {
			return 0, err
		}
		return it.used, nil
	case "deque":
		d, err := q.deque(addr)
		return d.n, err
	}
	return 0, nil
}

// summary writes "<list of 3 items>" for a container below the depth limit.
func (q *req) summary(addr uint64, t *typeInfo, kind string) error {
	n, err := q.containerLen(addr, kind)
	if err != nil {
		return err
	}
	name, err := q.typeName(t)
	if err != nil {
		return err
	}
	q.trunc = true
	q.write("<" + name + " of ")
	q.writeInt(n)
	if n == 1 {
		q.write(" item>")
	} else {
		q.write(" items>")
	}
	return nil
}

// recursionMarker is what Py_ReprEnter makes a container print when it meets itself.
func recursionMarker(kind, name string) string {
	switch kind {
	case "tuple":
		return "(...)"
	case "list", "deque":
		return "[...]"
	case "dict":
		return "{...}"
	}
	return name + "(...)"
}

// containerRepr writes a tuple, list, dict, set or frozenset (and their subclasses without a
// __repr__), frozendict or deque.
func (q *req) containerRepr(addr uint64, t *typeInfo, kind string, depth int) error {
	if q.path[addr] {
		name := shortName(t.name)
		q.write(recursionMarker(kind, name))
		return nil
	}
	if depth >= q.r.lim.MaxDepth {
		return q.summary(addr, t, kind)
	}
	q.path[addr] = true
	defer delete(q.path, addr)
	switch kind {
	case "tuple":
		s, err := q.tuple(addr)
		if err != nil {
			return err
		}
		q.writeByte('(')
		n, err := q.seqItems(addr, s, depth)
		if err != nil {
			return err
		}
		if n == 1 && s.n == 1 {
			q.writeByte(',')
		}
		q.writeByte(')')
	case "list":
		s, err := q.list(addr)
		if err != nil {
			return err
		}
		q.writeByte('[')
		if _, err := q.seqItems(addr, s, depth); err != nil {
			return err
		}
		q.writeByte(']')
	case "dict", "frozendict":
		it, err := q.dict(addr)
		if err != nil {
			return err
		}
		if kind == "frozendict" {
			if it.used == 0 {
				q.write("frozendict()")
				return nil
			}
			q.write("frozendict(")
		}
		q.writeByte('{')
		if err := q.entryItems(it.next, true, depth); err != nil {
			return err
		}
		q.writeByte('}')
		if kind == "frozendict" {
			q.writeByte(')')
		}
	case "set":
		it, err := q.set(addr)
		if err != nil {
			return err
		}
		// set_repr: "{...}" for exact sets, "Name({...})" otherwise, "Name()" when empty.
		exact := t.addr == q.k.types["set"]
		if it.used == 0 {
			q.write(t.name + "()")
			return nil
		}
		if !exact {
			q.write(t.name + "(")
		}
		q.writeByte('{')
		if err := q.entryItems(it.nextEntry, false, depth); err != nil {
			return err
		}
		q.writeByte('}')
		if !exact {
			q.writeByte(')')
		}
	case "deque":
		d, err := q.deque(addr)
		if err != nil {
			return err
		}
		name, err := q.typeName(t)
		if err != nil {
			return err
		}
		q.write(name + "([")
		if err := q.dequeItemsRepr(addr, d, depth); err != nil {
			return err
		}
		q.write("]")
		if d.maxlen >= 0 {
			q.write(", maxlen=")
			q.writeInt(d.maxlen)
		}
		q.writeByte(')')
	}
	return nil
}

// cut writes the marker of items left out and records that the repr is cut.
func (q *req) cut(first bool) {
	if !first {
		q.write(", ")
	}
	q.write("...")
	q.trunc = true
}

// stopErr turns running out of time into a cut; other errors pass.
func (q *req) stopErr(err error, first bool) error {
	if errors.Is(err, errTimeUp) {
		q.cut(first)
		return nil
	}
	return err
}

// seqItems writes the items of a tuple or list separated by ", " and returns how many.
func (q *req) seqItems(owner uint64, s seqInfo, depth int) (int, error) {
	shown := min(s.n, int64(q.r.lim.MaxItems))
	written := 0
	for start := int64(0); start < shown; start += chunkEntries {
		if q.stopItems() {
			q.cut(written == 0)
			return written, nil
		}
		items, err := q.items(owner, s, start, min(chunkEntries, shown-start))
		if err != nil {
			return written, err
		}
		n, more, err := q.itemReprs(items, written, depth)
		written += n
		if !more {
			return written, err
		}
	}
	if s.n > shown {
		q.cut(written == 0)
	}
	return written, nil
}

// itemReprs writes items of a container separated by ", ", after the written ones before them,
// and returns how many it wrote. more is false when the repr stops there: it has reached
// MaxReprLen or its time is up (the cut is written), or an item failed (err).
func (q *req) itemReprs(items []uint64, written, depth int) (n int, more bool, err error) {
	for i, it := range items {
		if q.stopItems() {
			q.cut(written+i == 0)
			return i, false, nil
		}
		if written+i > 0 {
			q.write(", ")
		}
		if err := q.repr(it, depth+1); err != nil {
			return i, false, q.stopErr(err, true)
		}
	}
	return len(items), true, nil
}

// entryItems writes the entries of a dict ("key: value") or, without values, of a set ("key")
// separated by ", ", at most MaxItems of them; next is the dict's or set's iterator.
func (q *req) entryItems(next func() (key, value uint64, ok bool, err error), withValues bool, depth int) error {
	for i := 0; ; i++ {
		if i >= q.r.lim.MaxItems || q.stopItems() {
			if _, _, ok, err := next(); err != nil || ok {
				q.cut(i == 0)
			}
			return nil
		}
		k, v, ok, err := next()
		if err != nil {
			return q.stopErr(err, i == 0)
		}
		if !ok {
			return nil
		}
		if i > 0 {
			q.write(", ")
		}
		if err := q.repr(k, depth+1); err != nil {
			return q.stopErr(err, true)
		}
		if withValues {
			q.write(": ")
			if err := q.repr(v, depth+1); err != nil {
				return q.stopErr(err, true)
			}
		}
	}
}

func (q *req) dequeItemsRepr(addr uint64, d dequeInfo, depth int) error {
	shown := min(d.n, int64(q.r.lim.MaxItems))
	items, err := q.dequeItems(addr, d, 0, shown)
	if err != nil {
		return q.stopErr(err, true)
	}
	n, more, err := q.itemReprs(items, 0, depth)
	if !more {
		return err
	}
	if d.n > shown {
		q.cut(n == 0)
	}
	return nil
}

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
