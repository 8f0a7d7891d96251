package adapter

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/google/go-dap"

	"github.com/aioscope/aioscope/internal/waittext"
	"github.com/aioscope/aioscope/snapshot"
)

// The handlers of the requests that look at the snapshot shown: threads, stackTrace, scopes and
// variables.

func (s *session) onThreads() (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.target == nil {
		return nil, errNotAttached
	}
	if s.view == nil {
		return dap.ThreadsResponseBody{Threads: []dap.Thread{}}, nil
	}
	threads, listed, left := s.threadRows(s.view)
	s.shown = make(map[int]struct{}, len(threads))
	for _, th := range threads {
		s.shown[th.Id] = struct{}{}
	}
	if left.tasks > 0 && !s.capNoticeSent {
		s.capNoticeSent = true
		total := len(s.view.snap.Tasks)
		msg := fmt.Sprintf("aioscope: the CALL STACK lists %s of %s tasks, at least one from each place where tasks wait; the Await Tree shows every task. The attach configuration's \"maxThreads\" sets how many are listed (0: all).\n",
			thousands(listed), thousands(total))
		s.afterResponse(func() { s.conn.output("console", msg) })
	}
	return dap.ThreadsResponseBody{Threads: threads}, nil
}

// threadRows is the thread list of v as the client gets it, and how many tasks it lists and
// leaves out; a list that leaves tasks out ends with a row that says how many. Callers hold s.mu.
func (s *session) threadRows(v *view) (threads []dap.Thread, listedTasks int, left unlisted) {
	telling := v.tellingThread()
	keep := s.selected
	if _, ok := v.byID[keep]; !ok {
		keep = telling
	}
	list, left := v.threadList(s.args.MaxThreads, keep, telling)
	threads = make([]dap.Thread, 0, len(list)+1)
	for _, e := range list {
		threads = append(threads, dap.Thread{Id: e.id, Name: v.threadName(e)})
		if e.kind == taskEntry {
			listedTasks++
		}
	}
	if left.tasks > 0 {
		threads = append(threads, dap.Thread{Id: s.moreRowID(), Name: moreRowName(left)})
	}
	return threads, listedTasks, left
}

// moreRowID is the thread id of the row that ends a capped list: one for the whole session, never
// a task's. Callers hold s.mu.
func (s *session) moreRowID() int {
	if s.moreID == 0 {
		s.alloc.last++
		s.moreID = s.alloc.last
	}
	return s.moreID
}

// currentView returns the view requests are answered from. Callers hold s.mu.
func (s *session) currentView() (*view, error) {
	if s.target == nil {
		return nil, errNotAttached
	}
	if s.view == nil {
		return nil, userErrorf("no snapshot of the process yet: pause to take one")
	}
	return s.view, nil
}

// withView answers a request about the current snapshot: it decodes req's arguments and calls
// f with the current view and them, holding s.mu.
func withView[A any](s *session, req request, f func(v *view, args A) (any, error)) (any, error) {
	var args A
	if err := decodeArgs(req, &args); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.currentView()
	if err != nil {
		return nil, err
	}
	return f(v, args)
}

// staleError is the answer to a reference from an earlier snapshot.
func staleError(what string, ref int) error {
	return userErrorf("%s %d belongs to an earlier snapshot of the process: the views show a newer one now", what, ref)
}

func (s *session) onStackTrace(req request) (any, error) { return withView(s, req, s.stackTrace) }

func (s *session) stackTrace(v *view, args dap.StackTraceArguments) (any, error) {
	if args.ThreadId != 0 && args.ThreadId == s.moreID {
		return s.moreRowStack(v), nil
	}
	st, ok := v.stack(args.ThreadId)
	if !ok {
		return nil, userErrorf("thread %d is not in the current snapshot: the task has finished; take a new snapshot to see the tasks as they are now", args.ThreadId)
	}
	s.selected = args.ThreadId
	start := max(args.StartFrame, 0)
	end := len(st)
	if args.Levels > 0 && start < end && args.Levels < end-start {
		end = start + args.Levels
	}
	frames := make([]dap.StackFrame, 0, max(end-start, 0))
	for i := start; i < end; i++ {
		frames = append(frames, s.stackFrame(v, args.ThreadId, i, &st[i]))
	}
	return dap.StackTraceResponseBody{StackFrames: frames, TotalFrames: len(st)}, nil
}

// moreRowStack is the "stack" of the row that ends a capped list: one line that says where the
// other tasks are. Callers hold s.mu.
func (s *session) moreRowStack(v *view) dap.StackTraceResponseBody {
	_, _, left := s.threadRows(v)
	text := "the Await Tree shows every task"
	if left.tasks > 0 {
		text = fmt.Sprintf("%s more %s wait at %s %s; the Await Tree shows every task", thousands(left.tasks),
			plural(left.tasks, "task", "tasks"), thousands(left.groups), plural(left.groups, "place", "places"))
	}
	return dap.StackTraceResponseBody{
		StackFrames: []dap.StackFrame{{Id: s.frameRef(s.moreID, 0), Name: text, PresentationHint: "label"}},
		TotalFrames: 1,
	}
}

// stackFrame converts one item of a composed stack. Callers hold s.mu.
func (s *session) stackFrame(v *view, threadID, index int, it *stackItem) dap.StackFrame {
	sf := dap.StackFrame{Id: s.frameRef(threadID, index)}
	f := it.frame
	if f == nil {
		sf.Name = it.label
		sf.PresentationHint = "label"
		if it.place == nil {
			return sf
		}
		f = it.place // where the awaiter awaits: a place to show and to open
	} else {
		sf.Name = f.Function
		if sf.Name == "" {
			sf.Name = "<unknown function>"
		}
	}
	info := s.src.resolve(f.File)
	src := &dap.Source{Name: info.name}
	if info.path != "" {
		src.Path = s.clientPath(info.path)
	} else {
		src.PresentationHint = "deemphasize"
	}
	sf.Source = src
	if it.frame != nil && info.library {
		sf.PresentationHint = "subtle"
	}
	if !f.HasLine || f.Line <= 0 {
		return sf // line 0: unknown
	}
	sf.Line = s.clientLine(f.Line)
	if f.Column >= 0 {
		sf.Column = s.clientColumn(info.path, f.Line, f.Column)
	}
	if f.EndLine >= f.Line {
		sf.EndLine = s.clientLine(f.EndLine)
		if f.EndColumn >= 0 && f.Column >= 0 {
			sf.EndColumn = s.clientColumn(info.path, f.EndLine, f.EndColumn)
		}
	}
	return sf
}

func (s *session) clientPath(p string) string {
	if s.format.uriPaths {
		return fileURI(p)
	}
	return p
}

func (s *session) clientLine(line int) int {
	if s.format.linesAt1 {
		return line
	}
	return line - 1
}

// clientColumn converts a 0-based byte offset into the line to the client's column: UTF-16 code
// units, 1-based unless the client said otherwise.
func (s *session) clientColumn(path string, line, byteCol int) int {
	col := byteCol
	if c, ok := s.src.utf16Column(path, line, byteCol); ok {
		col = c
	}
	if s.format.columnsAt1 {
		col++
	}
	return col
}

func (s *session) onScopes(req request) (any, error) { return withView(s, req, s.scopes) }

func (s *session) scopes(v *view, args dap.ScopesArguments) (any, error) {
	h, ok := s.frames.lookup(args.FrameId)
	if ok && h.a == s.moreID {
		return dap.ScopesResponseBody{Scopes: []dap.Scope{}}, nil
	}
	if !ok {
		return nil, staleError("frame", args.FrameId)
	}
	st, ok := v.stack(h.a)
	if !ok || h.b >= len(st) {
		return nil, staleError("frame", args.FrameId)
	}
	s.selected = h.a
	it := &st[h.b]
	scopes := []dap.Scope{}
	// The frame's values first, read when the client expands them; then what the task or
	// thread is, from the snapshot.
	if _, ok := s.valueSource(); ok && it.frame != nil {
		scopes = append(scopes, dap.Scope{
			Name:               "Arguments",
			PresentationHint:   "arguments",
			VariablesReference: v.ref(handle{kind: argumentsHandle, a: h.a, b: h.b}, &s.nextRef),
		}, dap.Scope{
			Name:               "Locals",
			PresentationHint:   "locals",
			VariablesReference: v.ref(handle{kind: localsHandle, a: h.a, b: h.b}, &s.nextRef),
		})
	}
	if it.task >= 0 {
		scopes = append(scopes, dap.Scope{
			Name:               "Task",
			VariablesReference: v.ref(handle{kind: taskVarsHandle, a: it.task}, &s.nextRef),
		})
	}
	if it.thread >= 0 {
		scopes = append(scopes, dap.Scope{
			Name:               "Thread",
			VariablesReference: v.ref(handle{kind: threadVarsHandle, a: it.thread}, &s.nextRef),
		})
	}
	return dap.ScopesResponseBody{Scopes: scopes}, nil
}

func (s *session) onVariables(req request) (any, error) { return withView(s, req, s.variables) }

func (s *session) variables(v *view, args dap.VariablesArguments) (any, error) {
	h, ok := v.lookup(args.VariablesReference)
	if !ok {
		return nil, staleError("variablesReference", args.VariablesReference)
	}
	var vars []dap.Variable
	indexed := false
	switch h.kind {
	case argumentsHandle, localsHandle, valueHandle:
		vars, err := s.valueVariables(v, h, args)
		if err != nil {
			return nil, err
		}
		return dap.VariablesResponseBody{Variables: vars}, nil
	case taskVarsHandle:
		vars = s.taskVariables(v, h.a)
	case threadVarsHandle:
		vars = s.threadVariables(v, h.a)
	case awaitedByHandle:
		vars, indexed = s.awaitedByVariables(v, h.a, args.Start, args.Count), true
	case awaitingHandle:
		vars, indexed = s.awaitingVariables(v, h.a, args.Start, args.Count), true
	}
	if (args.Filter == "indexed" && !indexed) || (args.Filter == "named" && indexed) {
		vars = nil
	}
	if vars == nil {
		vars = []dap.Variable{}
	}
	return dap.VariablesResponseBody{Variables: vars}, nil
}

// taskVariables are the facts of task ti. Callers hold s.mu, which is let go of while the
// target is read (wakeVariable).
func (s *session) taskVariables(v *view, ti int) []dap.Variable {
	t := &v.snap.Tasks[ti]
	vars := []dap.Variable{{Name: "name", Value: t.Name, Type: "str"}}
	state := "pending (suspended)"
	if ri, ok := v.running[t.ID]; ok {
		state = "running on " + osThreadName(&v.snap.Threads[ri])
	}
	vars = append(vars, dap.Variable{Name: "state", Value: state, Type: "str"})
	if wait, ok := waitVariable(v, ti, waittext.Duration(s.args.StuckThreshold)); ok {
		vars = append(vars, wait)
	}
	if wake, ok := s.wakeVariable(v, ti); ok {
		vars = append(vars, wake)
	}
	thread := dap.Variable{Name: "thread", Type: "thread"}
	switch idx := v.osThreadIndex(t.TID); {
	case t.TID == 0:
		thread.Value = "none: the thread that created it has exited"
	case idx >= 0:
		thread.Value = osThreadName(&v.snap.Threads[idx])
		thread.VariablesReference = v.ref(handle{kind: threadVarsHandle, a: idx}, &s.nextRef)
	default:
		thread.Value = "Thread " + strconv.FormatUint(t.TID, 10)
	}

	awaitedBy := dap.Variable{Name: "awaited by", Type: "list"}
	if n := len(t.AwaitedBy); n > 0 {
		names := make([]string, 0, min(n, 3))
		for k := 0; k < n && k < 3; k++ {
			names = append(names, v.awaiterName(&t.AwaitedBy[k]))
		}
		awaitedBy.Value = summarize(names, n)
		awaitedBy.VariablesReference = v.ref(handle{kind: awaitedByHandle, a: ti}, &s.nextRef)
		awaitedBy.IndexedVariables = n
	} else {
		awaitedBy.Value = "nothing"
	}
	vars = append(vars, awaitedBy)

	awaiting := dap.Variable{Name: "awaiting", Type: "list"}
	if list := v.awaitingOf(ti); len(list) > 0 {
		names := make([]string, 0, min(len(list), 3))
		for k := 0; k < len(list) && k < 3; k++ {
			names = append(names, taskName(&v.snap.Tasks[list[k]]))
		}
		awaiting.Value = summarize(names, len(list))
		awaiting.VariablesReference = v.ref(handle{kind: awaitingHandle, a: ti}, &s.nextRef)
		awaiting.IndexedVariables = len(list)
	} else {
		awaiting.Value = "no task"
	}
	vars = append(vars, awaiting, thread)
	// The id asyncio's ps and pstree list the task by.
	vars = append(vars, dap.Variable{Name: "id", Value: hexID(t.ID), Type: "int"})
	return vars
}

// summarize shows the first few of n names.
func summarize(names []string, n int) string {
	s := strings.Join(names, ", ")
	if n > len(names) {
		s += fmt.Sprintf(", … (%d in all)", n)
	}
	return s
}

func (v *view) awaiterName(a *snapshot.Awaiter) string {
	if j, ok := v.taskIndex[a.ID]; ok && a.IsTask {
		return taskName(&v.snap.Tasks[j])
	}
	if a.IsTask {
		return "task " + hexID(a.ID)
	}
	return "future " + hexID(a.ID)
}

// osThreadIndex returns the index of the OS thread with kernel id tid, -1 if none.
func (v *view) osThreadIndex(tid uint64) int {
	for i := range v.snap.Threads {
		if v.snap.Threads[i].TID == tid {
			return i
		}
	}
	return -1
}

// osThreadID is the DAP thread id of the OS thread with kernel id tid, 0 if it is not in v (or
// there is no view).
func (v *view) osThreadID(tid uint64) int {
	if v == nil {
		return 0
	}
	if i := v.osThreadIndex(tid); i >= 0 {
		return v.osDAP[i]
	}
	return 0
}

// page returns the bounds of the items [start, start+count) of n, all of them when count is 0.
func page(n, start, count int) (int, int) {
	start = min(max(start, 0), n)
	end := n
	if count > 0 && count < n-start {
		end = start + count
	}
	return start, end
}

func (s *session) awaitedByVariables(v *view, ti, start, count int) []dap.Variable {
	t := &v.snap.Tasks[ti]
	lo, hi := page(len(t.AwaitedBy), start, count)
	vars := make([]dap.Variable, 0, hi-lo)
	for k := lo; k < hi; k++ {
		a := &t.AwaitedBy[k]
		vr := dap.Variable{Name: "[" + strconv.Itoa(k) + "]", Type: "task"}
		if j, ok := v.taskIndex[a.ID]; ok && a.IsTask {
			vr.Value = taskName(&v.snap.Tasks[j]) + " (" + hexID(a.ID) + ")"
			vr.VariablesReference = v.ref(handle{kind: taskVarsHandle, a: j}, &s.nextRef)
		} else if a.IsTask {
			vr.Value = "task " + hexID(a.ID) + " (not in this snapshot)"
		} else {
			vr.Value, vr.Type = "future "+hexID(a.ID), "future"
		}
		vars = append(vars, vr)
	}
	return vars
}

func (s *session) awaitingVariables(v *view, ti, start, count int) []dap.Variable {
	list := v.awaitingOf(ti)
	lo, hi := page(len(list), start, count)
	vars := make([]dap.Variable, 0, hi-lo)
	for k := lo; k < hi; k++ {
		j := list[k]
		t := &v.snap.Tasks[j]
		vars = append(vars, dap.Variable{
			Name:               "[" + strconv.Itoa(k) + "]",
			Value:              taskName(t) + " (" + hexID(t.ID) + ")",
			Type:               "task",
			VariablesReference: v.ref(handle{kind: taskVarsHandle, a: j}, &s.nextRef),
		})
	}
	return vars
}

// threadVariables are the facts of OS thread i. Callers hold s.mu.
func (s *session) threadVariables(v *view, i int) []dap.Variable {
	t := &v.snap.Threads[i]
	name := t.Name // the threading.Thread's
	if name == "" {
		name = osThreadName(t)
	}
	vars := []dap.Variable{
		{Name: "name", Value: name, Type: "str"},
		{Name: "native id", Value: strconv.FormatUint(t.TID, 10), Type: "int"},
		{Name: "ident", Value: strconv.FormatUint(t.ThreadID, 10), Type: "int"},
		{Name: "main thread", Value: pyBool(t.Main), Type: "bool"},
		{Name: "event loop running", Value: pyBool(t.HasLoop), Type: "bool"},
	}
	running := dap.Variable{Name: "running task", Type: "task", Value: "none"}
	if t.RunningTask != 0 {
		if j, ok := v.taskIndex[t.RunningTask]; ok {
			running.Value = taskName(&v.snap.Tasks[j]) + " (" + hexID(t.RunningTask) + ")"
			running.VariablesReference = v.ref(handle{kind: taskVarsHandle, a: j}, &s.nextRef)
		} else {
			running.Value = hexID(t.RunningTask)
		}
	}
	vars = append(vars, running)
	return vars
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// frameRef returns the frame id of a position in a thread's stack. Callers hold s.mu.
func (s *session) frameRef(threadID, index int) int {
	return s.frames.ref(threadID, index, &s.nextRef)
}
