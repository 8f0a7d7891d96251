package adapter

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-dap"

	"github.com/aioscope/aioscope/internal/daptest"
	"github.com/aioscope/aioscope/internal/faketarget"
	"github.com/aioscope/aioscope/internal/testtarget"
	"github.com/aioscope/aioscope/schema"
)

// The values of frames through the protocol, against a target (dapvalues.py) that writes what
// it holds as its own repr() shows it, and what Python gives for expressions evaluated in its
// frames.

// frameFacts is what dapvalues.py writes about one task's frame.
type frameFacts struct {
	Function string      `json:"function"`
	Line     int         `json:"line"`
	Vars     [][3]string `json:"vars"`  // name, kind, repr
	Evals    [][3]string `json:"evals"` // expression, "ok" or "error", repr or exception name
}

type valuesTarget struct {
	tg    *testtarget.Target
	facts map[string]frameFacts
	move  string // the file that makes "mover" leave its frame
}

func startValuesTarget(t testing.TB, version string, extra ...string) *valuesTarget {
	t.Helper()
	dir := t.TempDir()
	vt := &valuesTarget{move: filepath.Join(dir, "move")}
	doc := filepath.Join(dir, "facts.json")
	args := append([]string{"--json", doc, "--move-file", vt.move}, extra...)
	vt.tg = testtarget.Start(t, version, "dapvalues.py", args...)
	data, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &vt.facts); err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
	return vt
}

// frameOf returns the id of the frame of task named task whose function is function.
func frameOf(t testing.TB, c *client, byName map[string]int, task, function string) dap.StackFrame {
	t.Helper()
	for _, f := range c.StackTrace(byName[task], 0, 0).StackFrames {
		if f.Name == function {
			return f
		}
	}
	t.Fatalf("task %s has no frame %s", task, function)
	return dap.StackFrame{}
}

func scopeNamed(t testing.TB, scopes []dap.Scope, name string) dap.Scope {
	t.Helper()
	for _, s := range scopes {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no scope %q in %+v", name, scopes)
	return dap.Scope{}
}

func scopeNames(scopes []dap.Scope) string {
	var names []string
	for _, s := range scopes {
		names = append(names, s.Name)
	}
	return strings.Join(names, ",")
}

// variablesPage is a variables request with paging.
func variablesPage(c *client, ref int, filter string, start, count int) []dap.Variable {
	c.T().Helper()
	var body dap.VariablesResponseBody
	c.OK("variables", map[string]any{"variablesReference": ref, "filter": filter, "start": start, "count": count}, &body)
	return body.Variables
}

// evalOK evaluates and fails the test unless it succeeds.
func evalOK(t testing.TB, c *client, expr string, frameID int, context string) dap.EvaluateResponseBody {
	t.Helper()
	m := c.Evaluate(expr, frameID, context)
	if !m.Success {
		t.Fatalf("evaluate %q (%s): %s", expr, context, m.Message)
	}
	var body dap.EvaluateResponseBody
	daptest.Decode(t, m.Body, &body)
	return body
}

// evalFails evaluates, fails the test if it succeeds or asks for a notification, and returns
// the message.
func evalFails(t testing.TB, c *client, expr string, frameID int, context string) string {
	t.Helper()
	m := c.Evaluate(expr, frameID, context)
	if m.Success {
		t.Errorf("evaluate %q (%s) succeeded: %s, want an error", expr, context, m.Body)
		return ""
	}
	if daptest.ShowUser(t, m) {
		t.Errorf("evaluate %q (%s): the error %q asks for a notification", expr, context, m.Message)
	}
	return m.Message
}

var defaultRepr = regexp.MustCompile(`^<__main__\.Custom object at 0x[0-9a-f]+>$`)

func TestLiveValues(t *testing.T) {
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			vt := startValuesTarget(t, version)
			testtarget.WatchState(t, vt.tg.PID)
			c := startSession(t, NewServer(Config{}))
			c.Initialize()
			c.OK("attach", map[string]any{"processId": vt.tg.PID}, nil)
			c.Event("initialized")
			c.OK("configurationDone", nil, nil)
			c.Event("stopped")
			byName := threadsByName(t, c.Threads())
			t.Run("scopes", func(t *testing.T) { checkValueScopes(t, c, vt, byName) })
			t.Run("children", func(t *testing.T) { checkChildren(t, c, byName) })
			t.Run("paging", func(t *testing.T) { checkValuePaging(t, c, byName) })
			t.Run("evaluate", func(t *testing.T) { checkEvaluate(t, c, vt, byName) })
			t.Run("thread frame", func(t *testing.T) { checkThreadFrameValues(t, c, vt) })
			t.Run("frame arguments", func(t *testing.T) { checkFrameArguments(t, c, vt, byName) })
			t.Run("frame left", func(t *testing.T) { checkFrameLeft(t, c, vt, byName) })
			c.OK("disconnect", nil, nil)
			testtarget.ExpectRunning(t, vt.tg.PID)
		})
	}
}

// checkValueScopes: Arguments and Locals as the target's own repr() shows them, then the Task
// scope without the adapter's own numbers.
func checkValueScopes(t *testing.T, c *client, vt *valuesTarget, byName map[string]int) {
	for _, task := range []string{"handler", "thirty"} {
		facts := vt.facts[task]
		f := frameOf(t, c, byName, task, facts.Function)
		if f.Line != facts.Line {
			t.Fatalf("%s is at line %d in the snapshot, at %d in the target", facts.Function, f.Line, facts.Line)
		}
		scopes := c.Scopes(f.Id)
		if got := scopeNames(scopes); got != "Arguments,Locals,Task" {
			t.Fatalf("scopes of %s: %s, want Arguments,Locals,Task", facts.Function, got)
		}
		for _, s := range scopes {
			if s.Expensive {
				t.Errorf("scope %s is expensive: VS Code would not expand it", s.Name)
			}
		}
		if scopes[0].PresentationHint != "arguments" || scopes[1].PresentationHint != "locals" {
			t.Errorf("scope hints %q, %q", scopes[0].PresentationHint, scopes[1].PresentationHint)
		}
		var got [][3]string
		for _, s := range scopes[:2] {
			kind := map[string]string{"Arguments": "argument", "Locals": "local"}[s.Name]
			for _, v := range c.Variables(s.VariablesReference) {
				if v.EvaluateName != v.Name {
					t.Errorf("%s: evaluateName %q", v.Name, v.EvaluateName)
				}
				repr := v.Value
				switch {
				case v.Name == "custom" && defaultRepr.MatchString(v.Value):
					repr = "custom repr runs code" // its __repr__ is code, which is not run
				case v.Name == "big" && strings.HasPrefix(v.Value, "{0: '0', 1: '1', ") && strings.HasSuffix(v.Value, "98: '98', 99: '99', ...}"):
					// A hundred items, then the marker of what the reader's limit leaves out.
					repr = "{0: '0', 1: '1', ..."
				}
				got = append(got, [3]string{v.Name, kind, repr})
			}
		}
		for i, v := range facts.Vars {
			if v[0] == "big" && strings.HasPrefix(v[2], "{0: '0', 1: '1', 2: '2',") && strings.HasSuffix(v[2], "99999: '99999'}") {
				facts.Vars[i][2] = "{0: '0', 1: '1', ..."
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(facts.Vars) {
			t.Errorf("%s's variables:\n got  %q\n want %q", task, got, facts.Vars)
		}
		if task == "thirty" && len(got) != 30 {
			t.Errorf("thirty has %d variables, want 30", len(got))
		}
	}
	// The Task scope: what a user wants to know, not the adapter's thread id.
	f := frameOf(t, c, byName, "handler", "handle")
	task := c.Variables(scopeNamed(t, c.Scopes(f.Id), "Task").VariablesReference)
	var names []string
	for _, v := range task {
		names = append(names, v.Name)
	}
	// handle sleeps for 10,000 s: when it wakes is read from the process.
	if got := strings.Join(names, ","); got != "name,state,wakes in,awaited by,awaiting,thread,id" {
		t.Errorf("Task scope: %s", got)
	}
	tv := varsByName(task)
	if !regexp.MustCompile(`^(9,[0-9]{3}|10,000) s \(asyncio\.sleep\)$`).MatchString(tv["wakes in"].Value) {
		t.Errorf("handler wakes in %q", tv["wakes in"].Value)
	}
	if tv["name"].Value != "handler" || tv["state"].Value != "pending (suspended)" ||
		tv["thread"].Value != mainThreadRow(vt.tg.PID) || !strings.HasPrefix(tv["id"].Value, "0x") {
		t.Errorf("Task scope: %+v", task)
	}
}

// checkChildren: objects and containers expand, each child with an expression that evaluates
// to what is shown.
func checkChildren(t *testing.T, c *client, byName map[string]int) {
	f := frameOf(t, c, byName, "handler", "handle")
	locals := varsByName(c.Variables(scopeNamed(t, c.Scopes(f.Id), "Locals").VariablesReference))
	want := map[string]map[string][2]string{ // variable -> child name -> value, evaluateName
		"point":   {"x": {"1", "point.x"}, "y": {"-2", "point.y"}, "tags": {"['p', 'q']", "point.tags"}},
		"slotted": {"a": {"'slot a'", "slotted.a"}, "b": {"[1, 2]", "slotted.b"}},
		"nested": {"'list'": {"[1, [2, 3]]", "nested['list']"}, "'tuple'": {"(4, 5)", "nested['tuple']"},
			"'str'": {"'x'", "nested['str']"}, "7": {"'seven'", "nested[7]"}, "-1": {"'minus one'", "nested[-1]"},
			`"it's"`: {`'q"uote'`, `nested["it's"]`}},
		"items": {"0": {"10", "items[0]"}, "1": {"20", "items[1]"}, "2": {"30", "items[2]"}},
		"error": {"args": {"('bad value', 42)", "error.args"}},
	}
	for name, children := range want {
		v := locals[name]
		if v.VariablesReference == 0 {
			t.Errorf("%s does not expand: %+v", name, v)
			continue
		}
		got := c.Variables(v.VariablesReference)
		if len(got) != len(children) {
			t.Errorf("%s has children %+v, want %v", name, got, children)
		}
		for _, ch := range got {
			w, ok := children[ch.Name]
			if !ok || ch.Value != w[0] || ch.EvaluateName != w[1] {
				t.Errorf("%s's child %q = %q (evaluateName %q), want %v", name, ch.Name, ch.Value, ch.EvaluateName, w)
				continue
			}
			if r := evalOK(t, c, ch.EvaluateName, f.Id, "watch"); r.Result != ch.Value {
				t.Errorf("evaluate %q = %q, shown as %q", ch.EvaluateName, r.Result, ch.Value)
			}
		}
		if name == "items" || name == "nested" {
			if v.IndexedVariables != len(children) {
				t.Errorf("%s: indexedVariables %d, want %d", name, v.IndexedVariables, len(children))
			}
		}
	}
	// Nested expansion: point.tags, nested['list'][1].
	tags := varsByName(c.Variables(locals["point"].VariablesReference))["tags"]
	if got := c.Variables(tags.VariablesReference); len(got) != 2 || got[1].Value != "'q'" || got[1].EvaluateName != "point.tags[1]" {
		t.Errorf("point.tags expands to %+v", got)
	}
	list := varsByName(c.Variables(locals["nested"].VariablesReference))["'list'"]
	inner := varsByName(c.Variables(list.VariablesReference))["1"]
	if got := c.Variables(inner.VariablesReference); len(got) != 2 || got[0].Value != "2" || got[0].EvaluateName != "nested['list'][1][0]" {
		t.Errorf("nested['list'][1] expands to %+v", got)
	}
	// Leaves do not expand; a value listed twice keeps its reference.
	if locals["text"].VariablesReference != 0 || locals["empty"].VariablesReference != 0 {
		t.Errorf("a str or an empty list expands: %+v %+v", locals["text"], locals["empty"])
	}
	again := varsByName(c.Variables(scopeNamed(t, c.Scopes(f.Id), "Locals").VariablesReference))
	if again["point"].VariablesReference != locals["point"].VariablesReference {
		t.Errorf("point's reference changed from %d to %d", locals["point"].VariablesReference, again["point"].VariablesReference)
	}
	for _, v := range again {
		if v.PresentationHint == nil || len(v.PresentationHint.Attributes) != 1 || v.PresentationHint.Attributes[0] != "readOnly" {
			t.Errorf("%s is not marked read-only: %+v", v.Name, v.PresentationHint)
		}
	}
}

// checkPaging: a dict of 100,000 items pages, a page at a time.
func checkValuePaging(t *testing.T, c *client, byName map[string]int) {
	f := frameOf(t, c, byName, "handler", "handle")
	big := varsByName(c.Variables(scopeNamed(t, c.Scopes(f.Id), "Locals").VariablesReference))["big"]
	if big.IndexedVariables != 100000 || big.VariablesReference == 0 || !strings.HasPrefix(big.Value, "{0: '0', 1: '1',") {
		t.Fatalf("big: %+v", big)
	}
	for _, start := range []int{0, 50000, 99990} {
		page := variablesPage(c, big.VariablesReference, "indexed", start, 10)
		if len(page) != 10 {
			t.Fatalf("page at %d: %d items", start, len(page))
		}
		for i, v := range page {
			k := strconv.Itoa(start + i)
			if v.Name != k || v.Value != "'"+k+"'" || v.EvaluateName != "big["+k+"]" {
				t.Errorf("item %d of big: %+v", start+i, v)
			}
		}
	}
	if page := variablesPage(c, big.VariablesReference, "indexed", 99995, 100); len(page) != 5 {
		t.Errorf("the last page has %d items, want 5", len(page))
	}
	if page := variablesPage(c, big.VariablesReference, "named", 0, 0); len(page) != 0 {
		t.Errorf("named children of a dict: %+v", page)
	}
	if page := variablesPage(c, big.VariablesReference, "", 0, 0); len(page) != 1000 {
		t.Errorf("all children of a dict of 100,000 items: %d, want one page of 1000", len(page))
	}
	args := scopeNamed(t, c.Scopes(f.Id), "Arguments")
	if page := variablesPage(c, args.VariablesReference, "indexed", 0, 0); len(page) != 0 {
		t.Errorf("indexed variables of a scope: %+v", page)
	}
}

// checkEvaluate: every form of the language, as Python evaluates it in the same frame; each
// refusal; errors never asking for a notification.
func checkEvaluate(t *testing.T, c *client, vt *valuesTarget, byName map[string]int) {
	contexts := []string{"hover", "watch", "repl", "clipboard", "variables"}
	n := 0
	for _, task := range []string{"handler", "thirty"} {
		facts := vt.facts[task]
		f := frameOf(t, c, byName, task, facts.Function)
		for _, e := range facts.Evals {
			expr, outcome, want := e[0], e[1], e[2]
			ctx := contexts[n%len(contexts)]
			n++
			if outcome == "ok" {
				if r := evalOK(t, c, expr, f.Id, ctx); r.Result != want {
					t.Errorf("%s: evaluate %q = %q, Python says %q", task, expr, r.Result, want)
				}
				continue
			}
			msg := evalFails(t, c, expr, f.Id, ctx)
			switch want {
			case "NameError", "KeyError", "IndexError":
				if !strings.HasPrefix(msg, want+": ") {
					t.Errorf("evaluate %q: %q, want a %s", expr, msg, want)
				}
			case "AttributeError", "TypeError":
				// Python's own error, or, where only code could tell, that code would run.
				if !strings.HasPrefix(msg, want+": ") && !strings.Contains(msg, "never runs code") {
					t.Errorf("evaluate %q: %q, want a %s", expr, msg, want)
				}
			}
		}
	}
	f := frameOf(t, c, byName, "handler", "handle")
	for expr, want := range map[string]string{
		"no_such_name":     "NameError: name 'no_such_name' is not defined",
		"point.nope":       "AttributeError: 'Point' object has no attribute 'nope'",
		"items[3]":         "IndexError: list index out of range",
		"nested['absent']": "KeyError: 'absent'",
		"LIMIT[0]":         "TypeError: 'int' object is not subscriptable",
		"len(point)":       "TypeError: object of type 'Point' has no len()",
	} {
		if msg := evalFails(t, c, expr, f.Id, "watch"); msg != want {
			t.Errorf("evaluate %q: %q, want %q", expr, msg, want)
		}
	}
	// What only code in the target could answer.
	for expr, why := range map[string]string{
		"len(sized)": "__len__",
		"sized[0]":   "__getitem__",
		"point.norm": "method",
		"text[0]":    "new object",
	} {
		if msg := evalFails(t, c, expr, f.Id, "hover"); !strings.Contains(msg, why) || !strings.Contains(msg, "never runs code") {
			t.Errorf("evaluate %q: %q, want it to say that %s would run code", expr, msg, why)
		}
	}
	// Anything but the language is refused with one line.
	for _, expr := range []string{"point.x + 1", "point.norm()", "items[0:2]", "[x for x in items]", "lambda: 0",
		"__import__('os').system('true')", "items[user_id]", "x if y else z", "-items[0]", "", "items[", "print(1)",
		"exec('import os')", "point.x = 5", "del point"} {
		if msg := evalFails(t, c, expr, f.Id, "repl"); msg != refusal {
			t.Errorf("evaluate %q: %q, want the refusal", expr, msg)
		}
	}
	// A container evaluated expands as the same value does in Locals.
	r := evalOK(t, c, "nested['list']", f.Id, "hover")
	if r.VariablesReference == 0 || r.IndexedVariables != 2 || r.Type != "list" {
		t.Fatalf("evaluate nested['list']: %+v", r)
	}
	if got := c.Variables(r.VariablesReference); len(got) != 2 || got[1].EvaluateName != "nested['list'][1]" || got[1].Value != "[2, 3]" {
		t.Errorf("nested['list'] expands to %+v", got)
	}
	if r := evalOK(t, c, "  len( big ) ", f.Id, "hover"); r.Result != "100000" || r.Type != "int" || r.VariablesReference != 0 {
		t.Errorf("len(big): %+v", r)
	}
	// Frames that are not frames, or not of this snapshot.
	if msg := evalFails(t, c, "point", 0, "repl"); !strings.Contains(msg, "select a frame") {
		t.Errorf("evaluate without a frame: %q", msg)
	}
	if msg := evalFails(t, c, "point", 987654, "watch"); !strings.Contains(msg, "earlier snapshot") {
		t.Errorf("evaluate in an unknown frame: %q", msg)
	}
	for _, sf := range c.StackTrace(byName["handler"], 0, 0).StackFrames {
		if sf.PresentationHint == "label" {
			if msg := evalFails(t, c, "point", sf.Id, "watch"); !strings.Contains(msg, "not a Python frame") {
				t.Errorf("evaluate in a label: %q", msg)
			}
		}
	}
	// A name is looked up in the frame asked about: the module's LIMIT from any frame, the
	// variables only in their own.
	thirty := frameOf(t, c, byName, "thirty", "thirty")
	if r := evalOK(t, c, "LIMIT", thirty.Id, "hover"); r.Result != "7" {
		t.Errorf("LIMIT in thirty: %+v", r)
	}
	if msg := evalFails(t, c, "point", thirty.Id, "hover"); !strings.HasPrefix(msg, "NameError") {
		t.Errorf("point in thirty: %q", msg)
	}
}

// checkThreadFrameValues: an OS thread's frames have values too.
func checkThreadFrameValues(t *testing.T, c *client, vt *valuesTarget) {
	main := 0
	for _, th := range c.Threads() {
		if th.Name == mainThreadRow(vt.tg.PID) {
			main = th.Id
		}
	}
	st := c.StackTrace(main, 0, 0).StackFrames
	// The loop's own frames: run_forever's self is the event loop.
	for _, f := range st {
		if f.Name != "BaseEventLoop.run_forever" {
			continue
		}
		scopes := c.Scopes(f.Id)
		if got := scopeNames(scopes); got != "Arguments,Locals,Thread" {
			t.Fatalf("scopes of the main thread's frame %s: %s", f.Name, got)
		}
		args := varsByName(c.Variables(scopes[0].VariablesReference))
		if self := args["self"]; !strings.HasPrefix(self.Value, "<asyncio.unix_events._UnixSelectorEventLoop object at 0x") || self.EvaluateName != "self" {
			t.Errorf("run_forever's self: %+v", self)
		}
		if r := evalOK(t, c, "self._stopping", f.Id, "hover"); r.Result != "False" {
			t.Errorf("self._stopping in run_forever: %+v", r)
		}
		thread := varsByName(c.Variables(scopes[2].VariablesReference))
		if thread["name"].Value != "MainThread" || thread["main thread"].Value != "True" {
			t.Errorf("Thread scope: %+v", thread)
		}
		return
	}
	t.Errorf("no run_forever frame on the main thread: %s", frameNames(st))
}

// checkFrameArguments: the arguments of every frame of a task, for the Await Tree.
func checkFrameArguments(t *testing.T, c *client, vt *valuesTarget, byName map[string]int) {
	var g awaitGraph
	daptest.Decode(t, c.OK("aioscope/snapshot", nil, nil).Body, &g)
	var handler int
	var frames []string
	for _, task := range g.Tasks {
		if task.Name == "handler" {
			handler = task.ThreadID
			for _, f := range task.Frames {
				frames = append(frames, f.Name)
			}
		}
	}
	m := c.OK("aioscope/frameArguments", map[string]any{"threadId": handler}, nil)
	sch, err := schema.Load()
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(schema.FrameArguments, m.Body); err != nil {
		t.Error(err)
	}
	var body frameArgumentsBody
	daptest.Decode(t, m.Body, &body)
	if body.ThreadID != handler || body.CapturedAt != g.CapturedAt || len(body.Frames) != len(frames) {
		t.Fatalf("frameArguments of handler: %+v; awaitGraph frames %v at %s", body, frames, g.CapturedAt)
	}
	var want [][2]string
	for _, v := range vt.facts["handler"].Vars {
		if v[1] == "argument" {
			want = append(want, [2]string{v[0], v[2]})
		}
	}
	for i, name := range frames {
		var got [][2]string
		for _, a := range body.Frames[i].Arguments {
			got = append(got, [2]string{a.Name, a.Value})
		}
		switch name {
		case "handle":
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("handle's arguments %q, want %q", got, want)
			}
		case "sleep":
			if fmt.Sprint(got) != fmt.Sprint([][2]string{{"delay", "10000"}, {"result", "None"}}) {
				t.Errorf("sleep's arguments %q", got)
			}
		}
	}
	if m := c.Request("aioscope/frameArguments", map[string]any{"threadId": 424242}); m.Success || !strings.Contains(m.Message, "unknown thread") || daptest.ShowUser(t, m) {
		t.Errorf("frameArguments of an unknown thread: %s", m.Raw)
	}
}

// checkFrameLeft: once the task has left the frame the snapshot showed, its values are not
// shown as that frame's; a new snapshot shows the new ones.
func checkFrameLeft(t *testing.T, c *client, vt *valuesTarget, byName map[string]int) {
	f := frameOf(t, c, byName, "mover", "mover")
	scopes := c.Scopes(f.Id)
	if got := varsByName(c.Variables(scopes[0].VariablesReference))["step"].Value; got != "0" {
		t.Fatalf("mover's step before it moves: %q", got)
	}
	if err := os.WriteFile(vt.move, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var msg string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		m := c.Evaluate("step", f.Id, "watch")
		if !m.Success {
			if daptest.ShowUser(t, m) {
				t.Errorf("the error %q asks for a notification", m.Message)
			}
			msg = m.Message
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if want := "task mover has moved on since the snapshot: mover is at line"; !strings.HasPrefix(msg, want) || !strings.HasSuffix(msg, "take a new snapshot") {
		t.Fatalf("evaluate in a frame the task has left: %q, want %q...", msg, want)
	}
	if got := c.Fail("variables", map[string]any{"variablesReference": scopes[1].VariablesReference}); got != msg {
		t.Errorf("Locals of a frame the task has left: %q, want %q", got, msg)
	}
	c.OK("pause", map[string]any{"threadId": byName["mover"]}, nil)
	c.Event("stopped")
	f = frameOf(t, c, byName, "mover", "mover")
	if r := evalOK(t, c, "step", f.Id, "hover"); r.Result != "1" {
		t.Errorf("mover's step after a new snapshot: %+v", r)
	}
}

// TestValuesCapabilities: VS Code evaluates hovers and copies values through evaluate only
// when the adapter says it can.
func TestValuesCapabilities(t *testing.T) {
	c := startSession(t, fakeServer(faketarget.New(fakeSnapshot()), Config{}))
	caps := c.Initialize()
	if !caps.SupportsEvaluateForHovers || !caps.SupportsClipboardContext {
		t.Errorf("capabilities %+v: want supportsEvaluateForHovers and supportsClipboardContext", caps)
	}
	if caps.SupportsSetVariable || caps.SupportsSetExpression || caps.SupportsCompletionsRequest {
		t.Errorf("capabilities %+v: nothing is set or completed", caps)
	}
	// A target whose values cannot be read: no value scopes, and evaluate says why, quietly.
	c.OK("attach", map[string]any{"processId": os.Getpid()}, nil)
	c.Event("initialized")
	c.OK("configurationDone", nil, nil)
	c.Event("stopped")
	f := c.StackTrace(c.Threads()[0].Id, 0, 1).StackFrames[0]
	if got := scopeNames(c.Scopes(f.Id)); got != "Thread" {
		t.Errorf("scopes of a target without values: %s", got)
	}
	if msg := evalFails(t, c, "x", f.Id, "hover"); msg != "this target's values cannot be read" {
		t.Errorf("evaluate: %q", msg)
	}
	if msg := evalFails(t, c, "x()", f.Id, "hover"); msg != refusal {
		t.Errorf("evaluate x(): %q", msg)
	}
	// No error is a notification too: each shows where it was asked for.
	m := c.Request("stackTrace", map[string]any{"threadId": 424242})
	if m.Success || daptest.ShowUser(t, m) {
		t.Errorf("a failed stackTrace asks for a notification: %s", m.Raw)
	}
	for _, cmd := range []string{"setVariable", "setExpression", "completions"} {
		if msg := c.Fail(cmd, nil); !strings.Contains(msg, "aioscope") {
			t.Errorf("%s: %q", cmd, msg)
		}
	}
}
