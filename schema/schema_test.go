package schema

import (
	"strings"
	"testing"
)

// The schemas must reject what the documents must not be, or validating the writers' output
// against them would prove nothing.
func TestSchemasReject(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	frame := `{"function":"main","file":"app.py","line":9,"end_line":9,"column":4,"end_column":10}`
	ps := func(task string) string {
		return `{"pid":42,"python_version":"3.15.2","captured_at":"2026-11-21T14:09:55.1Z","threads":[],"tasks":[` + task + `],"cycles":[]}`
	}
	task := func(frames string) string {
		return `{"id":"0x10","name":"Task-1","tid":42,"frames":[` + frames + `],"awaited_by":[]}`
	}
	graph := func(frame string) string {
		return `{"pid":42,"pythonVersion":"3.15.2","capturedAt":"2026-11-21T14:09:55Z","tasks":[{"threadId":2,"taskId":"0x10","name":"a","tid":42,"awaitedBy":[],"frames":[` +
			frame + `]}],"cycles":[],"threads":[]}`
	}
	pstree := func(roots, cycles string) string {
		return `{"pid":42,"python_version":"3.15.2","captured_at":"2026-11-21T14:09:55Z","roots":[` + roots + `],"cycles":[` + cycles + `]}`
	}
	frameNode := `{"kind":"frame",` + frame[1:len(frame)-1] + `,"label":"main app.py:9","children":[]}`
	for _, tc := range []struct {
		schema, doc string
		ok          bool
	}{
		{PS, ps(task(frame)), true},
		{PS, ps(task(`{"function":"f","file":"","line":null,"end_line":null,"column":null,"end_column":null}`)), true},
		{PS, ps(task(frame)) + "\n", true},
		{PS, ps(task(frame)) + "{}", false},
		{PS, strings.Replace(ps(task(frame)), `"pid":42,`, ``, 1), false},
		{PS, strings.Replace(ps(task(frame)), `"pid":42,`, `"pid":42,"extra":1,`, 1), false},
		{PS, strings.Replace(ps(task(frame)), `2026-11-21T14:09:55.1Z`, `2026-11-21 14:09:55`, 1), false},
		{PS, ps(strings.Replace(task(frame), `"0x10"`, `16`, 1)), false},
		{PS, ps(strings.Replace(task(frame), `"0x10"`, `"0X10"`, 1)), false},
		{PS, ps(task(strings.Replace(frame, `"line":9`, `"line":null`, 1))), false}, // a column without a line
		{PS, ps(task(strings.Replace(frame, `}`, `,"internal":true}`, 1))), false},
		{PS, ps(task(strings.Replace(frame, `"line":9`, `"line":-1`, 1))), false},
		{PS, "{\"pid\":42,\"python_version\":\"\xff\"}", false},
		{PS, strings.Replace(ps(task(frame)), `"cycles":[]`, `"cycles":[],"groups":[{"count":1,"tasks":["0x10"],"frames":[`+frame+`],"awaited_by_groups":[]}]`, 1), true},
		{PS, strings.Replace(ps(task(frame)), `"cycles":[]`, `"cycles":[],"groups":[{"count":0,"tasks":[],"frames":[],"awaited_by_groups":[]}]`, 1), false},
		{PS, strings.Replace(ps(task(frame)), `"cycles":[]`, `"cycles":[],"groups":[{"count":1,"tasks":["0x10"],"frames":[]}]`, 1), false},
		// ps --json --locals
		{PS, ps(task(strings.Replace(frame, `}`, `,"locals":[{"name":"x","kind":"argument","type":"int","repr":"1"},{"name":"y","kind":"cell","error":"changed"}]}`, 1))), true},
		{PS, ps(task(strings.Replace(frame, `}`, `,"locals_error":"the frame moved on"}`, 1))), true},
		{PS, ps(task(strings.Replace(frame, `}`, `,"locals":[],"locals_error":"x"}`, 1))), false},
		{PS, ps(task(strings.Replace(frame, `}`, `,"locals":[{"name":"x","kind":"global","type":"int","repr":"1"}]}`, 1))), false},
		{PS, ps(task(strings.Replace(frame, `}`, `,"locals":[{"name":"x","kind":"local","repr":"1"}]}`, 1))), false},
		{PS, ps(task(strings.Replace(frame, `}`, `,"locals":[{"name":"x","kind":"local","type":"int","repr":"1","error":"e"}]}`, 1))), false},
		{PS, ps(strings.Replace(task(frame), `"tid":42`, `"tid":42,"wakes_in":3.25,"wakes_by":"asyncio.sleep"`, 1)), true},
		{PS, ps(strings.Replace(task(frame), `"tid":42`, `"tid":42,"wakes_in":-0.5,"wakes_by":"asyncio.timeout"`, 1)), true},
		{PS, ps(strings.Replace(task(frame), `"tid":42`, `"tid":42,"wakes_in":null,"wakes_by":null`, 1)), true},
		{PS, ps(strings.Replace(task(frame), `"tid":42`, `"tid":42,"wakes_in":3.25`, 1)), false},
		{PS, ps(strings.Replace(task(frame), `"tid":42`, `"tid":42,"wakes_in":null,"wakes_by":"asyncio.sleep"`, 1)), false},
		{PS, ps(strings.Replace(task(frame), `"tid":42`, `"tid":42,"wakes_in":1,"wakes_by":null`, 1)), false},
		{PS, ps(strings.Replace(task(frame), `"tid":42`, `"tid":42,"wakes_in":1,"wakes_by":"a nap"`, 1)), false},
		// pstree --json --args
		{PSTree, pstree(`{"kind":"task","id":"0x10","name":"a","children":[`+strings.Replace(frameNode, `"children"`, `"args":[{"name":"u","kind":"argument","type":"str","repr":"'x'"}],"children"`, 1)+`]}`, ``), true},
		{PSTree, pstree(`{"kind":"task","id":"0x10","name":"a","children":[`+strings.Replace(frameNode, `"children"`, `"args_error":"gone","children"`, 1)+`]}`, ``), true},
		{PSTree, pstree(`{"kind":"task","id":"0x10","name":"a","children":[`+strings.Replace(frameNode, `"children"`, `"args":[],"args_error":"gone","children"`, 1)+`]}`, ``), false},
		{PSTree, pstree(`{"kind":"task","id":"0x10","name":"a","children":[`+frameNode+`]}`, ``), true},
		{PSTree, pstree(`{"kind":"task","id":"0x10","name":"a","children":[],"count":2,"tasks":[{"id":"0x10","name":"a"},{"id":"0x20","name":"b"}],"tasks_below":3}`, ``), true},
		{PSTree, pstree(`{"kind":"task","id":"0x10","name":"a","children":[],"count":2}`, ``), false},
		{PSTree, pstree(`{"kind":"task","id":"0x10","name":"a","children":[],"count":1,"tasks":[{"id":"0x10","name":"a"}]}`, ``), false},
		{PSTree, pstree(`{"kind":"task","id":"0x10","name":"a","children":[],"tasks_below":0}`, ``), false},
		{PSTree, pstree(``, `["0x10","0x20","0x10"]`), true},
		{PSTree, pstree(`{"kind":"task","id":"0x10","name":"a","children":[]}`, `["0x10","0x10"]`), false},
		{PSTree, pstree(`{"kind":"task","id":"0x10","name":"a","children":[{"kind":"task","id":"0x10"}]}`, ``), false},
		{PSTree, pstree(strings.Replace(frameNode, `"label"`, `"lable"`, 1), ``), false},
		{PSTree, pstree(strings.Replace(frameNode, `"frame"`, `"coroutine"`, 1), ``), false},
		{PSTree, pstree(``, `["0x10"]`), false},
		{AwaitGraph, graph(`{"name":"main","path":"/srv/app.py","line":9}`), true},
		{AwaitGraph, graph(`{"name":"main","path":"/srv/app.py","line":null}`), false},
		{AwaitGraph, graph(`{"name":"main","path":"/srv/app.py"}`), false},
		{AwaitGraph, strings.Replace(graph(``), `"threadId":2`, `"threadId":0`, 1), false},
		{AwaitGraph, strings.Replace(graph(``), `"frames":[]`, `"frames":[],"waitedMs":41000,"waitAtLeast":true,"stuck":true`, 1), true},
		{AwaitGraph, strings.Replace(graph(``), `"frames":[]`, `"frames":[],"waitedMs":41000,"stuck":false`, 1), false},
		{AwaitGraph, strings.Replace(graph(``), `"frames":[]`, `"frames":[],"waitedMs":-1`, 1), false},
		{AwaitGraph, strings.Replace(graph(``), `"threads":[]`, `"threads":[],"loops":[{"tid":42,"threadId":1,"state":"callback","lagMs":2300,"blockedMs":2300,"blockedSite":{"name":"f","path":"/a.py","line":3}}]`, 1), true},
		{AwaitGraph, strings.Replace(graph(``), `"threads":[]`, `"threads":[],"loops":[{"tid":42,"threadId":1,"state":"busy","lagMs":2300}]`, 1), false},
		{AwaitGraph, strings.Replace(graph(``), `"threads":[]`, `"threads":[],"loops":[{"tid":42,"threadId":1,"state":"idle","lagMs":-1}]`, 1), false},
		{LoopBlocked, `{"tid":42,"threadId":1,"milliseconds":300,"precisionMs":10,"startedAt":"2026-11-21T14:09:55.1Z","ongoing":false,"task":null,"site":{"name":"blocking_call","path":"/srv/app.py","line":46},"frames":[{"name":"blocking_call","path":"/srv/app.py","line":46},{"name":"Handle._run","path":"/usr/lib/python3.14/asyncio/events.py","line":94,"internal":true}]}`, true},
		{LoopBlocked, `{"tid":42,"threadId":0,"milliseconds":300,"precisionMs":10,"startedAt":"2026-11-21T14:09:55.1Z","ongoing":true,"task":{"taskId":"0x10","threadId":5,"name":"hog"},"site":null,"frames":[]}`, true},
		{LoopBlocked, `{"tid":42,"threadId":0,"milliseconds":300,"precisionMs":10,"startedAt":"2026-11-21T14:09:55.1Z","ongoing":true,"task":{"threadId":5,"name":"hog"},"site":null,"frames":[]}`, false},
		{LoopBlocked, `{"tid":42,"threadId":0,"milliseconds":300,"precisionMs":10,"startedAt":"yesterday","ongoing":true,"task":null,"site":null,"frames":[]}`, false},
		{LoopBlocked, `{"tid":42,"threadId":0,"milliseconds":300,"precisionMs":10,"startedAt":"2026-11-21T14:09:55.1Z","ongoing":true,"task":null,"site":{"name":"f"},"frames":[]}`, false},
		{Wakes, `{"capturedAt":"2026-11-21T14:09:55.1Z","wakes":[{"threadId":3,"seconds":3411.75,"by":"asyncio.sleep"},{"threadId":4,"seconds":null},{"threadId":5,"seconds":null,"error":"gone"}]}`, true},
		{Wakes, `{"capturedAt":"2026-11-21T14:09:55.1Z","wakes":[{"threadId":3,"seconds":1,"by":"a nap"}]}`, false},
		{Wakes, `{"capturedAt":"2026-11-21T14:09:55.1Z","wakes":[{"threadId":3}]}`, false},
		{Cycles, `{"cycles":[[{"threadId":3,"name":"A"},{"threadId":3,"name":"A"}]]}`, true},
		{Cycles, `{"cycles":[[{"threadId":3,"name":"A"}]]}`, false},
		{Cycles, `{"cycles":[[{"threadId":"3","name":"A"},{"threadId":3,"name":"A"}]]}`, false},
	} {
		err := s.Validate(tc.schema, []byte(tc.doc))
		if (err == nil) != tc.ok {
			t.Errorf("%s %s: %v, want ok=%v", tc.schema, tc.doc, err, tc.ok)
		}
	}
	if err := s.Validate("nope", []byte(`{}`)); err == nil {
		t.Error("an unknown schema name was accepted")
	}
}
