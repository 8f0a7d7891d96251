package adapter

import (
	"strings"

	"github.com/google/go-dap"

	"github.com/aioscope/aioscope/inspector/values"
	"github.com/aioscope/aioscope/internal/pyexpr"
)

// The handlers of the requests that read values by name: evaluate (watches, hovers, the debug
// console, copying a value) and aioscope/frameArguments (the arguments of a task's frames, for
// the Await Tree).

// refusal answers an expression outside the read-only language of package pyexpr.
const refusal = "aioscope only reads values: names, attributes, subscripts and len() work here"

func (s *session) onEvaluate(req request) (any, error) {
	var args dap.EvaluateArguments
	if err := decodeArgs(req, &args); err != nil {
		return nil, err
	}
	e, err := pyexpr.Parse(strings.TrimSpace(args.Expression))
	if err != nil {
		return nil, userErrorf(refusal)
	}
	s.mu.Lock()
	v, err := s.currentView()
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	vr, ok := s.valueSource()
	if !ok {
		s.mu.Unlock()
		return nil, errNoValues
	}
	if args.FrameId == 0 {
		s.mu.Unlock()
		return nil, userErrorf("select a frame in the CALL STACK: names are read in a frame")
	}
	fh, ok := s.frames.lookup(args.FrameId)
	if !ok {
		s.mu.Unlock()
		return nil, staleError("frame", args.FrameId)
	}
	at, err := v.frameOf(fh)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	steps, exprs := pathOf(e)
	var val values.Value
	err = readFrame(vr, at, func(r *values.Reader, frame uint64) error {
		var err error
		val, err = resolve(r, frame, steps)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	body := dap.EvaluateResponseBody{Result: val.Repr, Type: val.Type,
		PresentationHint: &dap.VariablePresentationHint{Attributes: []string{"readOnly"}}}
	if val.Ref != 0 {
		parent := -1
		for i, st := range steps {
			parent = v.nodes.add(valueNode{frame: fh, parent: parent, step: st, expr: exprs[i]})
		}
		body.VariablesReference = v.ref(handle{kind: valueHandle, a: parent}, &s.nextRef)
		if val.Len > 0 {
			body.IndexedVariables = val.Len
		}
	}
	return body, nil
}

// pathOf turns a parsed expression into a path from the frame, with the expression that names
// the value reached at each step.
func pathOf(e pyexpr.Expr) ([]step, []string) {
	steps := stepsOf(e)
	exprs := make([]string, len(steps))
	for i, x := len(steps)-1, e; i >= 0 && x != nil; i-- {
		exprs[i] = x.String()
		switch y := x.(type) {
		case *pyexpr.Attr:
			x = y.X
		case *pyexpr.Index:
			x = y.X
		case *pyexpr.Len:
			x = y.X
		default:
			x = nil
		}
	}
	return steps, exprs
}

// frameArgumentsBody is the response to aioscope/frameArguments: the arguments of each frame of
// a task (or OS thread) of the snapshot last published as an awaitGraph, innermost first as the
// awaitGraph lists them; see schema/frameargs.schema.json.
type frameArgumentsBody struct {
	ThreadID   int              `json:"threadId"`
	CapturedAt string           `json:"capturedAt"`
	Frames     []frameArguments `json:"frames"`
}

type frameArguments struct {
	Arguments []argumentValue `json:"arguments"`
	// Error says why the frame's arguments could not be read (the task has left the frame since
	// the snapshot, say); Arguments is then empty.
	Error string `json:"error,omitempty"`
}

type argumentValue struct {
	Name  string `json:"name"`
	Value string `json:"value"` // repr(), or why it could not be read
	Type  string `json:"type"`
}

// publishedValues is the view whose thread ids the client has — the awaitGraph last published,
// else the current view — and the reader of the values of its frames. Callers hold s.mu.
func (s *session) publishedValues() (*view, ValueReader, error) {
	v, err := s.currentView()
	if err != nil {
		return nil, nil, err
	}
	if s.published != nil {
		v = s.published
	}
	vr, ok := s.valueSource()
	if !ok {
		return nil, nil, errNoValues
	}
	return v, vr, nil
}

func (s *session) onFrameArguments(req request) (any, error) {
	var args struct {
		ThreadID int `json:"threadId"`
	}
	if err := decodeArgs(req, &args); err != nil {
		return nil, err
	}
	s.mu.Lock()
	v, vr, err := s.publishedValues()
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	i, ok := v.byID[args.ThreadID]
	if !ok {
		s.mu.Unlock()
		return nil, userErrorf("unknown thread %d: it is not in the current snapshot; take a new snapshot (pause)", args.ThreadID)
	}
	var n int
	var at func(k int) frameAt
	switch e := v.entries[i]; e.kind {
	case taskEntry:
		t := &v.snap.Tasks[e.index]
		n = len(t.Frames)
		at = func(k int) frameAt { return frameAt{task: t, index: k} }
	case osThreadEntry:
		t := &v.snap.Threads[e.index]
		n = len(t.Frames)
		at = func(k int) frameAt { return frameAt{thread: t, index: k} }
	}
	body := frameArgumentsBody{ThreadID: args.ThreadID, CapturedAt: formatCapturedAt(v), Frames: make([]frameArguments, n)}
	s.mu.Unlock()
	for k := range body.Frames {
		fa := &body.Frames[k]
		fa.Arguments = []argumentValue{}
		err := readFrame(vr, at(k), func(r *values.Reader, frame uint64) error {
			vars, err := r.Arguments(frame)
			if err != nil {
				return err
			}
			for _, fv := range vars {
				av := argumentValue{Name: fv.Name, Value: fv.Repr, Type: fv.Type}
				if fv.Err != nil {
					av.Value = "(could not read it: " + explain(fv.Err) + ")"
				}
				fa.Arguments = append(fa.Arguments, av)
			}
			return nil
		})
		if err != nil {
			fa.Error = explain(err)
		}
	}
	return body, nil
}
