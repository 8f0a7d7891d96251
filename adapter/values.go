package adapter

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/google/go-dap"

	"github.com/aioscope/aioscope/inspector/values"
	"github.com/aioscope/aioscope/internal/pyexpr"
	"github.com/aioscope/aioscope/snapshot"
)

// The values of frames: the Arguments and Locals scopes, the values in them expanded page by
// page, and what evaluate reads. Values are read when the client asks, from the frame as it is
// at that moment — after checking that the task (or thread) is still in the frame the snapshot
// showed, so that a frame's values are never another frame's. A value shown is remembered as a
// path from its frame (a name, then attributes, items or children by position), and is found
// again along that path each time it is expanded: an address read earlier may hold anything
// by now.

// ValueReader is a Target whose frames' values can be read; *inspector.Process is one. The
// adapter finds it with a type assertion, so a Target needs only what snapshots need.
type ValueReader interface {
	// InTaskFrame calls f with a reader and the address of frame i (innermost first) of task's
	// coroutine chain, if the task is still in that frame; an *inspector.FrameLeftError says
	// that it is not.
	InTaskFrame(task *snapshot.Task, i int, f func(r *values.Reader, frame uint64) error) error
	// InThreadFrame is InTaskFrame for frame i of an OS thread's stack.
	InThreadFrame(thread *snapshot.Thread, i int, f func(r *values.Reader, frame uint64) error) error
}

type stepKind uint8

const (
	stepName  stepKind = iota + 1 // a variable of the frame, a global of its module or a builtin
	stepAttr                      // an attribute
	stepItem                      // a subscript
	stepLen                       // len()
	stepChild                     // the child listed at pos, which must still be named name
)

// step is one step of a path from a frame to a value.
type step struct {
	kind stepKind
	name string
	key  values.Key
	pos  int
}

// valueNode is a value shown to the client.
type valueNode struct {
	frame  handle // the frameHandle of the stack entry whose frame the path starts in
	parent int    // index of the node the step starts from; -1: the frame
	step   step
	expr   string // an expression naming the value in the frame, "" when none does
}

type nodeKey struct {
	frame  handle
	parent int
	step   step
}

// valueNodes are the values a view has shown, each once, so that a value listed again gets
// the same variablesReference.
type valueNodes struct {
	list  []valueNode
	index map[nodeKey]int
}

func (n *valueNodes) add(node valueNode) int {
	k := nodeKey{frame: node.frame, parent: node.parent, step: node.step}
	if i, ok := n.index[k]; ok {
		return i
	}
	if n.index == nil {
		n.index = make(map[nodeKey]int)
	}
	n.list = append(n.list, node)
	n.index[k] = len(n.list) - 1
	return len(n.list) - 1
}

// path returns the steps from the frame to node i.
func (n *valueNodes) path(i int) []step {
	var out []step
	for ; i >= 0; i = n.list[i].parent {
		out = append(out, n.list[i].step)
	}
	for l, r := 0, len(out)-1; l < r; l, r = l+1, r-1 {
		out[l], out[r] = out[r], out[l]
	}
	return out
}

// errNoValues answers value requests for a target whose values cannot be read.
var errNoValues = userErrorf("this target's values cannot be read")

// valueSource returns what reads the target's values. Callers hold s.mu.
func (s *session) valueSource() (ValueReader, bool) {
	vr, ok := s.target.(ValueReader)
	return vr, ok
}

// frameOf returns where the frame of stack entry fh is read. Callers hold s.mu.
func (v *view) frameOf(fh handle) (frameAt, error) {
	st, ok := v.stack(fh.a)
	if !ok || fh.b < 0 || fh.b >= len(st) {
		return frameAt{}, staleError("frame", fh.b)
	}
	it := &st[fh.b]
	if it.frame == nil {
		return frameAt{}, userErrorf("%q is not a Python frame: it has no values", it.label)
	}
	return it.at, nil
}

// readFrame calls f with a reader of the frame at, as it is now.
func readFrame(vr ValueReader, at frameAt, f func(r *values.Reader, frame uint64) error) error {
	switch {
	case at.task != nil:
		return vr.InTaskFrame(at.task, at.index, f)
	case at.thread != nil:
		return vr.InThreadFrame(at.thread, at.index, f)
	}
	return userErrorf("this stack entry is not a Python frame: it has no values")
}

// resolve follows steps from the frame at address frame.
func resolve(r *values.Reader, frame uint64, steps []step) (values.Value, error) {
	var cur values.Value
	for _, st := range steps {
		var err error
		switch st.kind {
		case stepName:
			var v values.Variable
			if v, err = r.Lookup(frame, st.name); err == nil {
				cur, err = v.Value, v.Err
			} else if errors.Is(err, values.ErrNoName) {
				err = &values.PyError{Type: "NameError", Message: fmt.Sprintf("name '%s' is not defined", st.name)}
			}
		case stepAttr:
			cur, err = r.Attr(cur.Addr, st.name)
		case stepItem:
			cur, err = r.Item(cur.Addr, st.key)
		case stepLen:
			// len() is the builtin only if nothing in the frame or its module rebinds the name.
			if fn, lerr := r.Lookup(frame, "len"); lerr != nil || fn.Kind != "builtin" {
				return values.Value{}, userErrorf("len is not the builtin in this frame: calling it would run code, which aioscope never does")
			}
			var n int64
			if n, err = r.Len(cur.Addr); err == nil {
				cur = values.Value{Type: "int", Repr: strconv.FormatInt(n, 10), Exact: true, Len: -1}
			}
		case stepChild:
			if cur.Ref == 0 {
				return values.Value{}, errChanged
			}
			var cs []values.Child
			cs, err = r.Children(cur.Ref, st.pos, 1)
			if err == nil && (len(cs) == 0 || cs[0].Name != st.name) {
				err = errChanged
			}
			if err == nil {
				cur, err = cs[0].Value, cs[0].Err
			}
		}
		if err != nil {
			return values.Value{}, err
		}
	}
	return cur, nil
}

// errChanged answers the expansion of a value that is no longer where it was shown.
var errChanged = userErrorf("this value has changed since it was shown (the process keeps running); take a new snapshot (pause)")

// stepsOf turns a parsed expression into a path.
func stepsOf(e pyexpr.Expr) []step {
	switch e := e.(type) {
	case *pyexpr.Name:
		return []step{{kind: stepName, name: e.Name}}
	case *pyexpr.Attr:
		return append(stepsOf(e.X), step{kind: stepAttr, name: e.Name})
	case *pyexpr.Index:
		key := values.IntKey(e.Key.Int)
		if e.Key.IsStr {
			key = values.StrKey(e.Key.Str)
		}
		return append(stepsOf(e.X), step{kind: stepItem, key: key})
	case *pyexpr.Len:
		return append(stepsOf(e.X), step{kind: stepLen})
	}
	return nil
}

// childExpr is an expression for a child named name of the value expr names, "" when none.
func childExpr(expr string, naming values.Naming, name string) string {
	if expr == "" {
		return ""
	}
	switch naming {
	case values.IndexNames:
		return expr + "[" + name + "]"
	case values.KeyNames:
		if _, err := pyexpr.ParseKey(name); err == nil {
			return expr + "[" + name + "]"
		}
	case values.AttributeNames:
		if pyexpr.IsIdentifier(name) {
			return expr + "." + name
		}
	}
	return ""
}

// valueVariable converts a value into a variable, with a reference for its children when it
// has any. Callers hold s.mu.
func (s *session) valueVariable(v *view, node valueNode, name string, val values.Value, err error) dap.Variable {
	dv := dap.Variable{Name: name, EvaluateName: node.expr, Type: val.Type,
		PresentationHint: &dap.VariablePresentationHint{Attributes: []string{"readOnly"}}}
	if err != nil {
		dv.Value = "(could not read it: " + explain(err) + ")"
		return dv
	}
	dv.Value = val.Repr
	if val.Ref != 0 {
		dv.VariablesReference = v.ref(handle{kind: valueHandle, a: v.nodes.add(node)}, &s.nextRef)
		if val.Len > 0 {
			dv.IndexedVariables = val.Len
		}
	}
	return dv
}

// valueJob is what a request for values needs, gathered under s.mu and read without it.
type valueJob struct {
	vr    ValueReader
	at    frameAt
	frame handle // the stack entry
	node  int    // the value expanded, -1 for a scope
	steps []step
	expr  string
}

// valueJobFor prepares the expansion of h (a scope or a value). Callers hold s.mu.
func (s *session) valueJobFor(v *view, h handle) (valueJob, error) {
	vr, ok := s.valueSource()
	if !ok {
		return valueJob{}, errNoValues
	}
	job := valueJob{vr: vr, node: -1}
	switch h.kind {
	case argumentsHandle, localsHandle:
		job.frame = handle{kind: frameHandle, a: h.a, b: h.b}
	case valueHandle:
		if h.a < 0 || h.a >= len(v.nodes.list) {
			return valueJob{}, staleError("variablesReference", h.a)
		}
		n := v.nodes.list[h.a]
		job.frame, job.node, job.steps, job.expr = n.frame, h.a, v.nodes.path(h.a), n.expr
	}
	at, err := v.frameOf(job.frame)
	if err != nil {
		return valueJob{}, err
	}
	job.at = at
	return job, nil
}

// valueVariables answers a variables request for a scope of values or a value. It is called
// with s.mu held and returns with it held; the target is read without it.
func (s *session) valueVariables(v *view, h handle, args dap.VariablesArguments) ([]dap.Variable, error) {
	job, err := s.valueJobFor(v, h)
	if err != nil {
		return nil, err
	}
	s.mu.Unlock()
	var vars []values.Variable
	var children []values.Child
	var naming values.Naming
	indexed := false
	err = readFrame(job.vr, job.at, func(r *values.Reader, frame uint64) error {
		if job.node < 0 {
			var err error
			vars, err = r.Frame(frame)
			return err
		}
		val, err := resolve(r, frame, job.steps)
		if err != nil || val.Ref == 0 {
			return err
		}
		indexed = val.Len >= 0
		if (args.Filter == "named" && indexed) || (args.Filter == "indexed" && !indexed) {
			return nil
		}
		if naming, err = r.ChildNaming(val.Addr); err != nil {
			return err
		}
		count := args.Count
		if count <= 0 {
			count = 1 << 30 // all of them, as far as the reader's limit on one page goes
		}
		children, err = r.Children(val.Ref, max(args.Start, 0), count)
		return err
	})
	s.mu.Lock()
	if err != nil {
		return nil, err
	}
	out := []dap.Variable{}
	if job.node < 0 {
		if args.Filter == "indexed" {
			return out, nil
		}
		want := "argument"
		for _, fv := range vars {
			if (fv.Kind == want) != (h.kind == argumentsHandle) {
				continue
			}
			node := valueNode{frame: job.frame, parent: -1, step: step{kind: stepName, name: fv.Name}, expr: fv.Name}
			out = append(out, s.valueVariable(v, node, fv.Name, fv.Value, fv.Err))
		}
		return out, nil
	}
	start := max(args.Start, 0)
	for i, c := range children {
		node := valueNode{frame: job.frame, parent: job.node, step: step{kind: stepChild, name: c.Name, pos: start + i},
			expr: childExpr(job.expr, naming, c.Name)}
		out = append(out, s.valueVariable(v, node, c.Name, c.Value, c.Err))
	}
	return out, nil
}
