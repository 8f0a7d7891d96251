package taskjson

import (
	"bytes"
	"io"
	"strconv"
	"testing"

	"github.com/aioscope/aioscope/awaittree"
	"github.com/aioscope/aioscope/schema"
	"github.com/aioscope/aioscope/snapshot"
)

// withLocals gives every task of s the variables a task sleeping in asyncio.sleep has, as
// many.py's tasks do, and a deadline.
func withLocals(s *snapshot.Snapshot) *snapshot.Snapshot {
	loop := "<asyncio.unix_events._UnixSelectorEventLoop object at 0x7f3a2c0e1b40>"
	for i := range s.Tasks {
		t := &s.Tasks[i]
		t.Values = &snapshot.TaskValues{Locals: make([]snapshot.FrameLocals, len(t.Frames))}
		t.Values.Locals[0] = snapshot.FrameLocals{Vars: []snapshot.Variable{
			{Name: "delay", Kind: "argument", Type: "int", Repr: "10000"},
			{Name: "result", Kind: "argument", Type: "NoneType", Repr: "None"},
			{Name: "loop", Kind: "local", Type: "_UnixSelectorEventLoop", Repr: loop},
			{Name: "future", Kind: "local", Type: "Future", Repr: "<Future pending cb=[Task.task_wakeup()]>"},
			{Name: "h", Kind: "local", Type: "TimerHandle", Repr: "<TimerHandle when=13163.50" + strconv.Itoa(i) +
				" _set_result_unless_cancelled() at /usr/lib/python3.14/asyncio/futures.py:319>"},
		}}
		t.Values.Wake = snapshot.Wake{Known: true, In: 9999.5 + float64(i)/1e4, By: snapshot.WakeSleep}
	}
	return s
}

// BenchmarkPSJSONLocals measures what `aioscope ps --json --locals` does after the snapshot.
func BenchmarkPSJSONLocals(b *testing.B) {
	s := withLocals(benchSnapshot(10_000))
	b.ReportAllocs()
	for b.Loop() {
		if err := WritePSLocals(io.Discard, s); err != nil {
			b.Fatal(err)
		}
	}
}

// sampleWithLocals is sampleSnapshot with the variables of every frame: values, a value that
// could not be read, a frame whose variables could not be read, deadlines known and not.
func sampleWithLocals() *snapshot.Snapshot {
	s := sampleSnapshot()
	s.Threads[0].Locals = []snapshot.FrameLocals{{Vars: []snapshot.Variable{
		{Name: "loop", Kind: "local", Type: "_UnixSelectorEventLoop", Repr: "<asyncio.unix_events._UnixSelectorEventLoop object at 0x7f00>"}}}}
	s.Tasks[0].Values = &snapshot.TaskValues{Locals: []snapshot.FrameLocals{{Err: "the frame moved on to line 10 while the snapshot was taken"}}}
	s.Tasks[1].Values = &snapshot.TaskValues{}
	s.Tasks[1].Values.Locals = []snapshot.FrameLocals{
		{Vars: []snapshot.Variable{
			{Name: "delay", Kind: "argument", Type: "int", Repr: "10000"},
			{Name: "h", Kind: "local", Type: "TimerHandle", Repr: "<TimerHandle when=13163.5 _set_result_unless_cancelled() at /usr/lib/python3.15/asyncio/futures.py:319>"},
			{Name: "gone", Kind: "local", Err: "the value at 0x7f10 changed while it was read (pointer field holds 0x3)"},
		}},
		{Vars: []snapshot.Variable{
			{Name: "text", Kind: "cell", Type: "str", Repr: "'zażółć \"😀\"\\n'"},
			{Name: "outer", Kind: "free", Type: "int", Repr: "1"},
		}},
	}
	s.Tasks[1].Values.Wake = snapshot.Wake{Known: true, In: 9999.12345, By: snapshot.WakeSleep}
	return s
}

// TestPSJSONLocals: ps --json --locals gives every frame its variables (or why they could not
// be read) and every task its deadline, as the schema says; without --locals the document is
// the same, byte for byte, as for a snapshot without locals.
func TestPSJSONLocals(t *testing.T) {
	schemas, err := schema.Load()
	if err != nil {
		t.Fatal(err)
	}
	s := sampleWithLocals()
	var doc bytes.Buffer
	if err := WritePSLocals(&doc, s); err != nil {
		t.Fatal(err)
	}
	if err := schemas.Validate(schema.PS, doc.Bytes()); err != nil {
		t.Errorf("ps --json --locals: %v\n%s", err, doc.Bytes())
	}
	for _, want := range []string{
		`"locals":[{"name":"loop","kind":"local","type":"_UnixSelectorEventLoop","repr":"<asyncio.unix_events._UnixSelectorEventLoop object at 0x7f00>"}]`,
		`"tid":42,"wakes_in":null,"wakes_by":null,"frames":[{"function":"main","file":"app.py","line":9,"end_line":null,"column":null,"end_column":null,"locals_error":"the frame moved on to line 10 while the snapshot was taken"}]`,
		`"wakes_in":9999.123,"wakes_by":"asyncio.sleep"`,
		`{"name":"delay","kind":"argument","type":"int","repr":"10000"}`,
		`{"name":"gone","kind":"local","error":"the value at 0x7f10 changed while it was read (pointer field holds 0x3)"}`,
		`{"name":"text","kind":"cell","type":"str","repr":"'zażółć \"😀\"\\n'"}`,
		`{"name":"outer","kind":"free","type":"int","repr":"1"}`,
	} {
		if !bytes.Contains(doc.Bytes(), []byte(want)) {
			t.Errorf("the document does not contain %s:\n%s", want, doc.Bytes())
		}
	}
	var with, without bytes.Buffer
	if err := WritePS(&with, s); err != nil {
		t.Fatal(err)
	}
	if err := WritePS(&without, sampleSnapshot()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(with.Bytes(), without.Bytes()) {
		t.Errorf("ps --json of a snapshot with locals differs:\n%s\n%s", with.Bytes(), without.Bytes())
	}
	// Many tasks sharing frames, each with values of its own.
	doc.Reset()
	if err := WritePSLocals(&doc, withLocals(benchSnapshot(3000))); err != nil {
		t.Fatal(err)
	}
	if err := schemas.Validate(schema.PS, doc.Bytes()); err != nil {
		t.Errorf("ps --json --locals of 3000 tasks: %v", err)
	}
	if n := bytes.Count(doc.Bytes(), []byte(`"h","kind":"local"`)); n != 3001 {
		t.Errorf("%d frames with h, want 3001", n)
	}
}

// TestPSTreeJSONArgs: pstree --json --args gives frame nodes their call's arguments, as the
// schema says.
func TestPSTreeJSONArgs(t *testing.T) {
	schemas, err := schema.Load()
	if err != nil {
		t.Fatal(err)
	}
	s := sampleWithLocals()
	s.Cycles = nil
	s.Tasks[1].AwaitedBy = s.Tasks[1].AwaitedBy[:1]
	roots, err := awaittree.BuildArgs(s.Tasks)
	if err != nil {
		t.Fatal(err)
	}
	var doc bytes.Buffer
	if err := WritePSTreeArgs(&doc, s, roots); err != nil {
		t.Fatal(err)
	}
	if err := schemas.Validate(schema.PSTree, doc.Bytes()); err != nil {
		t.Errorf("pstree --json --args: %v\n%s", err, doc.Bytes())
	}
	for _, want := range []string{
		`"label":"main(?) app.py:9","args_error":"the frame moved on to line 10 while the snapshot was taken"`,
		`"label":"sleep(delay=10000) /usr/lib/python3.15/asyncio/tasks.py:725","args":[{"name":"delay","kind":"argument","type":"int","repr":"10000"}]`,
		`"label":"big() big.py","args":[]`,
	} {
		if !bytes.Contains(doc.Bytes(), []byte(want)) {
			t.Errorf("the document does not contain %s:\n%s", want, doc.Bytes())
		}
	}
}
