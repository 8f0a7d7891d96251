package values

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/aioscope/aioscope/cpython"
)

// maxFastLocals bounds a code object's fast-local slots (CPython's own limit is far lower in
// practice; a garbage count must not make the reader allocate much).
const maxFastLocals = 1 << 16

// ErrFrameFinished reports a generator or coroutine frame that has completed: its variables
// are gone.
var ErrFrameFinished = errors.New("values: the frame has finished")

// frameInfo is a decoded _PyInterpreterFrame with its code object.
type frameInfo struct {
	addr      uint64
	code      uint64
	flags     uint32
	names     []uint64 // localsplusnames
	nameStrs  []string // the same, decoded
	kinds     []byte
	slots     []byte // the fast locals, 8 bytes each
	globals   uint64
	builtins  uint64
	locals    uint64 // f_locals: a dict for module and class frames, else 0
	funcObj   uint64 // f_funcobj: the function the frame runs
	sp        uint64 // stackpointer: the top of the value stack
	stackSize int64  // co_stacksize
	created   bool   // a coroutine or generator that has not started
	executing bool
	suspended bool // a suspended coroutine or generator: its value stack is as it left it
}

// frame reads the frame at addr.
func (q *req) frame(addr uint64) (*frameInfo, error) {
	fo := &q.r.off.InterpreterFrame
	// One read for the frame, its fast locals and the top of its value stack, and a
	// coroutine's state just before the frame, as far as they lie on the frame's page.
	page := addr &^ (pageSize - 1)
	lo, hi := max(addr-frameBefore, page), min(addr+fo.LocalsPlus+frameAfter, page+pageSize)
	if hi < addr+fo.LocalsPlus || lo > addr {
		lo, hi = addr, addr+fo.LocalsPlus
	}
	w, err := q.read(lo, int(hi-lo))
	if err != nil {
		return nil, err
	}
	q.frameWin, q.frameWinAddr = append(q.frameWin[:0], w...), lo
	b := q.frameWin[addr-lo:]
	f := &q.fi
	*f = frameInfo{addr: addr, code: le64(b, fo.Executable) &^ q.r.lay.TagBits,
		globals: le64(b, q.r.v.Frame.Globals), builtins: le64(b, q.r.v.Frame.Builtins), locals: le64(b, q.r.v.Frame.Locals),
		funcObj: le64(b, q.r.v.Frame.FuncObj) &^ q.r.lay.TagBits, sp: le64(b, fo.StackPointer) &^ q.r.lay.TagBits}
	owner := int(b[fo.Owner])
	if f.code == 0 || q.r.lay.IsFrameOwnerSkipped(owner) || owner > q.r.lay.FrameOwnerFrameObject {
		return nil, changed(addr, "not a Python frame (owner %d)", owner)
	}
	cl := q.recentCode(f.code)
	if cl == nil {
		ct, err := q.typeOf(f.code)
		if err != nil {
			return nil, err
		}
		if !ct.static("code") {
			return nil, changed(addr, "frame executable of type %s", ct.name)
		}
		if cl, err = q.codeLocals(f.code); err != nil {
			return nil, err
		}
		// The frame holds its code object: in one moment, the address names that code.
		q.r.moment.putCode(f.code, cl)
	}
	if q.moment != nil {
		q.codes[(f.code*0x9e3779b97f4a7c15)>>(64-recentBits)] = cl
	}
	if owner == q.r.lay.FrameOwnerGenerator {
		gen := addr - q.r.off.GenObject.GiIframe
		st, err := q.frameBytes(gen+q.r.off.GenObject.GiFrameState, 1)
		if err != nil {
			return nil, err
		}
		s := int8(st[0])
		states := &q.r.v.States
		if !states.FrameSlotsValid(s) {
			if s == states.Cleared || s == states.Completed {
				return nil, ErrFrameFinished
			}
			return nil, changed(addr, "generator frame state %d", s)
		}
		f.created, f.executing = s == states.Created, s == states.Executing
		f.suspended = !f.created && !f.executing
	}
	f.flags, f.names, f.nameStrs, f.kinds, f.stackSize = cl.flags, cl.names, cl.nameStrs, cl.kinds, cl.stackSize
	nlp := int64(len(cl.kinds))
	if nlp > 0 {
		b, err := q.frameBytes(addr+fo.LocalsPlus, int(8*nlp))
		if err != nil {
			return nil, err
		}
		q.fastLocals = append(q.fastLocals[:0], b...)
		f.slots = q.fastLocals
	}
	return f, nil
}

// How much of a frame's surroundings the read of the frame takes: a coroutine's state lies a
// few bytes before its frame, the fast locals and the value stack after the frame's header.
const (
	frameBefore = 16
	frameAfter  = 256
)

// frameBytes returns n bytes at addr, from the read of the frame being read when they were in
// it; valid until the next read.
func (q *req) frameBytes(addr uint64, n int) ([]byte, error) {
	if off := addr - q.frameWinAddr; addr >= q.frameWinAddr && off+uint64(n) <= uint64(len(q.frameWin)) {
		return q.frameWin[off : off+uint64(n) : off+uint64(n)], nil
	}
	return q.read(addr, n)
}

// slotValue decodes fast-local slot i: an object address, or a tagged int; ok is false for an
// unbound variable (NULL, or an empty cell).
func (q *req) slotObject(f *frameInfo, i int) (addr uint64, tagged int64, isInt, ok bool, err error) {
	kind, obj, iv := cpython.DecodeStackRef(le64(f.slots, uint64(8*i)))
	switch kind {
	case cpython.StackRefNull:
		return 0, 0, false, false, nil
	case cpython.StackRefInt:
		return 0, iv, true, true, nil
	case cpython.StackRefInvalid:
		return 0, 0, false, false, changed(f.addr, "slot %d holds an invalid stack reference", i)
	}
	if obj%8 != 0 {
		return 0, 0, false, false, changed(f.addr, "slot %d holds %#x", i, obj)
	}
	if cpython.SlotHoldsCell(f.kinds[i]) {
		t, err := q.typeOf(obj)
		if err != nil {
			return 0, 0, false, false, err
		}
		// A function frame that has not run MAKE_CELL / COPY_FREE_VARS yet holds the raw value.
		if t.static("cell") {
			ref, err := q.optPtr(obj + q.r.v.CellRef)
			if err != nil {
				return 0, 0, false, false, err
			}
			return ref, 0, false, ref != 0, nil
		}
	}
	return obj, 0, false, true, nil
}

// Frame lists the arguments, locals, cell and free variables of the _PyInterpreterFrame at
// frameAddr, in the order of the code's fast locals (arguments first), as frame.f_locals has
// them: unbound variables and hidden comprehension temporaries are left out, cells are
// dereferenced. A suspended coroutine's frame is at its address + gen_object.gi_iframe. A
// variable whose value cannot be read has Err set; the call fails only when the frame itself
// cannot be read.
func (r *Reader) Frame(frameAddr uint64) ([]Variable, error) {
	q, err := r.newReq(frameAddr)
	if err != nil {
		return nil, err
	}
	defer q.release()
	f, err := q.frame(frameAddr)
	if err != nil {
		return nil, err
	}
	return q.variables(f, nil)
}

// Arguments lists the arguments of the frame at frameAddr, as Frame lists them: what a hover or
// a call line shows of a frame.
func (r *Reader) Arguments(frameAddr uint64) ([]Variable, error) {
	vars, err := r.Frame(frameAddr)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(vars, func(v Variable) bool { return v.Kind != "argument" }), nil
}

// FrameWithDeadline is Frame, with the deadline the frame waits for (see Deadline) when it is a
// suspended coroutine frame that has one. The variables are appended to vars, which may be nil:
// a caller reading thousands of frames can give the same slice back each time.
func (r *Reader) FrameWithDeadline(frameAddr uint64, vars []Variable) ([]Variable, Deadline, error) {
	q, err := r.newReq(frameAddr)
	if err != nil {
		return nil, Deadline{}, err
	}
	defer q.release()
	f, err := q.frame(frameAddr)
	if err != nil {
		return nil, Deadline{}, err
	}
	vars, err = q.variables(f, vars)
	if err != nil {
		return nil, Deadline{}, err
	}
	d, err := q.frameDeadline(f, vars)
	if err != nil {
		// The variables stand; the deadline is an extra.
		return vars, Deadline{}, nil
	}
	return vars, d, nil
}

// variables appends the variables of the frame f to out, as Frame lists them.
func (q *req) variables(f *frameInfo, out []Variable) ([]Variable, error) {
	if out == nil {
		out = make([]Variable, 0, len(f.names))
	}
	q.varTypes = q.varTypes[:0]
	for i := range f.names {
		role := cpython.SlotRole(f.kinds[i], f.flags)
		if role == cpython.RoleNone {
			continue
		}
		q.lastType = 0
		v, ok, err := q.slotVariable(f, i)
		if err != nil && v.Name == "" {
			return nil, err
		}
		if !ok && err == nil {
			continue
		}
		v.Kind = role.String()
		out = append(out, v)
		q.varTypes = append(q.varTypes, q.lastType)
	}
	return out, nil
}

// slotVariable renders slot i. The name is always filled in when err is about the value.
func (q *req) slotVariable(f *frameInfo, i int) (Variable, bool, error) {
	v := Variable{Name: f.nameStrs[i]}
	obj, iv, isInt, ok, err := q.slotObject(f, i)
	switch {
	case err != nil:
		v.Err = err
		return v, true, nil
	case !ok:
		return v, false, nil
	case isInt:
		v.Value = Value{Type: "int", Repr: strconv.FormatInt(iv, 10), Exact: true, Len: -1}
		return v, true, nil
	}
	v.Value, v.Err = q.value(obj)
	return v, true, nil
}

// ErrNoName reports a name that is neither a local of the frame, nor a global of its module,
// nor a builtin.
var ErrNoName = errors.New("name is not defined")

// Lookup resolves name as Python code running in the frame would: the frame's variables, then
// the globals of its module, then the builtins. The Variable's Kind is "argument", "local",
// "cell", "free", "global" or "builtin". An unknown name fails with an error wrapping
// ErrNoName.
func (r *Reader) Lookup(frameAddr uint64, name string) (Variable, error) {
	q, err := r.newReq(frameAddr)
	if err != nil {
		return Variable{}, err
	}
	defer q.release()
	f, err := q.frame(frameAddr)
	if err != nil {
		return Variable{}, err
	}
	for i := range f.names {
		role := cpython.SlotRole(f.kinds[i], f.flags)
		if role == cpython.RoleNone {
			continue
		}
		if f.nameStrs[i] != name {
			continue
		}
		v, ok, err := q.slotVariable(f, i)
		if err != nil {
			return Variable{}, err
		}
		if !ok {
			break // unbound local: Python raises UnboundLocalError; show the global if any
		}
		v.Kind = role.String()
		return v, nil
	}
	for _, d := range []struct {
		dict uint64
		kind string
	}{{f.locals, "local"}, {f.globals, "global"}, {f.builtins, "builtin"}} {
		if d.dict == 0 {
			continue
		}
		dt, err := q.typeOf(d.dict)
		if err != nil {
			return Variable{}, err
		}
		if dt.flags&cpython.TPFlagsDictSubclass == 0 {
			continue // a class body's f_locals may be any mapping
		}
		v, err := q.dictGetText(d.dict, name)
		if err != nil {
			return Variable{}, err
		}
		if v != 0 {
			val, err := q.value(v)
			return Variable{Name: name, Kind: d.kind, Value: val, Err: err}, nil
		}
	}
	return Variable{}, fmt.Errorf("%q: %w", name, ErrNoName)
}

// dictGetText looks up a str key given as any Go text.
func (q *req) dictGetText(dict uint64, name string) (uint64, error) {
	ascii := true
	for i := 0; i < len(name); i++ {
		if name[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return q.dictGet(dict, name)
	}
	it, err := q.dict(dict)
	if err != nil {
		return 0, err
	}
	for {
		k, v, ok, err := it.next()
		if err != nil || !ok {
			return 0, err
		}
		if isStr, err := q.isStr(k); err != nil || !isStr {
			continue
		}
		if s, err := q.strValue(k, len(name)+1); err == nil && s == name {
			return v, nil
		}
	}
}

// Globals returns the globals of the frame's module (its f_globals dict) for Children to page
// through.
func (r *Reader) Globals(frameAddr uint64) (Ref, error) {
	q, err := r.newReq(frameAddr)
	if err != nil {
		return 0, err
	}
	defer q.release()
	f, err := q.frame(frameAddr)
	if err != nil {
		return 0, err
	}
	return Ref(f.globals), nil
}

// recentCode returns the code object at code, when a request of the moment met it: from the
// requests' own table, or the moment's.
func (q *req) recentCode(code uint64) *codeLocals {
	if q.moment == nil {
		return nil
	}
	if cl := q.codes[(code*0x9e3779b97f4a7c15)>>(64-recentBits)]; cl != nil && cl.addr == code {
		return cl
	}
	return q.moment.code(code)
}

// codeLocals is what every frame of one code object shares: the names and kinds of its fast
// locals, and its flags.
type codeLocals struct {
	addr      uint64
	key       [4]uint64 // localsplusnames, localspluskinds, flags and count, stack size: see codeLocals
	flags     uint32
	stackSize int64
	names     []uint64
	nameStrs  []string
	kinds     []byte
}

// codeLocals returns the fast locals of the code object at code, decoded once per code object
// for all requests: the code object's own fields are read each time, and a cached entry is used
// only while they are unchanged, so a code object made at the address of a freed one is never
// mistaken for it.
func (q *req) codeLocals(code uint64) (*codeLocals, error) {
	defer q.staticReads()()
	co := &q.r.off.CodeObject
	cb, err := q.read(code, int(co.Size))
	if err != nil {
		return nil, err
	}
	namesT, kindsB := le64(cb, co.LocalsPlusNames), le64(cb, co.LocalsPlusKinds)
	flags := le32(cb, q.r.v.Code.Flags)
	nlp := int64(int32(le32(cb, q.r.v.Code.NLocalsPlus)))
	stackSize := int64(int32(le32(cb, q.r.v.Code.StackSize)))
	key := [4]uint64{namesT, kindsB, uint64(flags) | uint64(uint32(nlp))<<32, uint64(stackSize)}
	shared := q.r.kinds
	shared.mu.Lock()
	cl := shared.codes[code]
	shared.mu.Unlock()
	if cl != nil && cl.key == key {
		return cl, nil
	}
	if nlp < 0 || nlp > maxFastLocals {
		return nil, changed(code, "%d fast locals", nlp)
	}
	s, err := q.tuple(namesT)
	if err != nil {
		return nil, err
	}
	if s.n != nlp {
		return nil, changed(code, "%d local names for %d slots", s.n, nlp)
	}
	cl = &codeLocals{addr: code, key: key, flags: flags, stackSize: stackSize}
	if cl.names, err = q.items(namesT, s, 0, s.n); err != nil {
		return nil, err
	}
	cl.nameStrs = make([]string, len(cl.names))
	for i, a := range cl.names {
		if cl.nameStrs[i], err = q.name(a); err != nil {
			return nil, err
		}
	}
	n, kinds, err := q.bytesData(kindsB, int(nlp))
	if err != nil {
		return nil, err
	}
	if n != nlp {
		return nil, changed(code, "%d local kinds for %d slots", n, nlp)
	}
	cl.kinds = kinds
	shared.mu.Lock()
	if shared.codes == nil {
		shared.codes = map[uint64]*codeLocals{}
	}
	shared.codes[code] = cl
	shared.mu.Unlock()
	return cl, nil
}
