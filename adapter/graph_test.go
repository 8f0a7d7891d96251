package adapter

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aioscope/aioscope/internal/daptest"
	"github.com/aioscope/aioscope/internal/testtarget"
	"github.com/aioscope/aioscope/schema"
	"github.com/aioscope/aioscope/snapshot"
	"github.com/aioscope/aioscope/tracking"
)

// TestAwaitGraphSchema: the awaitGraph and cycles bodies of edge-case snapshots match
// schema/awaitgraph.schema.json and schema/cycles.schema.json: names that are not valid UTF-8 or
// hold control characters, non-ASCII names and files, frames without a line or file, futures
// among the awaiters, a task awaiting itself, a cycle through a task outside the snapshot.
func TestAwaitGraphSchema(t *testing.T) {
	schemas := loadSchemas(t)
	weird := []string{"nul\x00name", "bad\xffutf8", "quote\"back\\slash", "line\u2028sep", "tab\tnl\n", "下载任务", "emoji-😀", ""}
	var tasks []snapshot.Task
	for i, name := range weird {
		tasks = append(tasks, task(uint64(0x1000+i*16), name, []snapshot.Frame{fr("f\"n", "/srv/"+name+".py", i, 0)}))
	}
	tasks[1].AwaitedBy = []snapshot.Awaiter{awaiter(0x1000, true), awaiter(0xdead, false)}
	tasks[0].AwaitedBy = []snapshot.Awaiter{awaiter(0x1010, true)} // a cycle
	tasks[2].AwaitedBy = []snapshot.Awaiter{awaiter(0x1020, true)} // awaits itself
	tasks[3].Frames = []snapshot.Frame{fr("sleep", stdlibTasks, 725, 8), fr("gen", "<frozen importlib._bootstrap>", 0, -1),
		{Function: "nowhere", Line: -1, EndLine: -1, Column: -1, EndColumn: -1}, fr("rel", "relative/módulo.py", 3, 0),
		fr("own", "/srv/app/asyncio/tasks.py", 4, 0)}
	snap := fakeSnapshot(tasks...)
	snap.Cycles = append(snap.Cycles, []uint64{0x1050, 0xbeef, 0x1070, 0x1050}) // through a task not in the view and an unnamed one
	snap.Threads = append(snap.Threads, snapshot.Thread{TID: 7, ThreadID: 8, RunningTask: 0x1040, HasLoop: true})
	v := newView(snap, &idAllocator{})
	body := appendAwaitGraph([]byte("prefix:"), v, newSourceResolver(os.Getpid()))
	body, ok := bytes.CutPrefix(body, []byte("prefix:"))
	if !ok {
		t.Fatal("appendAwaitGraph dropped what the buffer held")
	}
	if err := schemas.Validate(schema.AwaitGraph, body); err != nil {
		t.Errorf("awaitGraph: %v\n%s", err, body)
	}
	for _, want := range []string{`"下载任务"`, `"bad\ufffdutf8"`, `"nul\u0000name"`, `"line\u2028sep"`, `"line":0`, `"path":"relative/módulo.py"`,
		`{"name":"sleep","path":"` + stdlibTasks + `","line":725,"internal":true}`} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("awaitGraph does not contain %s", want)
		}
	}
	if n := bytes.Count(body, []byte(`"internal"`)); n != 1 {
		t.Errorf("%d frames marked internal, want 1 (only the standard library's asyncio)", n)
	}
	cyc := appendCycles(nil, v)
	if err := schemas.Validate(schema.Cycles, cyc); err != nil {
		t.Errorf("cycles: %v\n%s", err, cyc)
	}
	if !bytes.Contains(cyc, []byte(`{"threadId":0,"name":"0xbeef"}`)) || !bytes.Contains(cyc, []byte(`"name":"Task 0x1070"`)) {
		t.Errorf("cycles body lacks the task outside the snapshot or the unnamed task: %s", cyc)
	}
	empty := newView(fakeSnapshot(), &idAllocator{})
	if err := schemas.Validate(schema.AwaitGraph, appendAwaitGraph(nil, empty, newSourceResolver(os.Getpid()))); err != nil {
		t.Errorf("awaitGraph of no tasks: %v", err)
	}
	if err := schemas.Validate(schema.Cycles, appendCycles(nil, empty)); err != nil {
		t.Errorf("cycles of no tasks: %v", err)
	}
}

// TestAwaitGraphSchemaLive: the awaitGraph event, the aioscope/snapshot response and the
// aioscope/cycles event of sessions on live CPython 3.14 and 3.15 targets match the schemas.
func TestAwaitGraphSchemaLive(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Python processes")
	}
	schemas := loadSchemas(t)
	cases := []struct {
		scenario string
		args     []string
		cycles   bool
	}{
		{scenario: "tree.py"},
		{scenario: "threads.py"},
		{scenario: "cycle.py", cycles: true},
		{scenario: "cycle2.py", cycles: true},
		{scenario: "edge.py"},
		{scenario: "unicode.py"},
		{scenario: "longunicode.py"},
		{scenario: "names.py"},
		{scenario: "deep.py", args: []string{"1534"}},
		{scenario: "many.py", args: []string{"3000"}},
	}
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			for _, c := range cases {
				t.Run(strings.Join(append([]string{c.scenario}, c.args...), "-"), func(t *testing.T) {
					t.Parallel()
					tg, cl := liveSession(t, version, c.scenario, c.args...)
					cl.Initialize()
					cl.OK("attach", map[string]any{"processId": tg.PID}, nil)
					cl.OK("configurationDone", nil, nil)
					event := cl.Event("aioscope/awaitGraph").Body
					if err := schemas.Validate(schema.AwaitGraph, event); err != nil {
						t.Errorf("awaitGraph event: %v", err)
					}
					if c.cycles {
						if err := schemas.Validate(schema.Cycles, cl.Event("aioscope/cycles").Body); err != nil {
							t.Errorf("cycles event: %v", err)
						}
					}
					cl.Event("stopped")
					resp := cl.OK("aioscope/snapshot", nil, nil).Body
					if err := schemas.Validate(schema.AwaitGraph, resp); err != nil {
						t.Errorf("aioscope/snapshot response: %v", err)
					}
					if n := bytes.Count(event, []byte(`"taskId"`)); n < 2 {
						t.Errorf("awaitGraph event with %d tasks", n)
					}
					cl.OK("disconnect", nil, nil)
				})
			}
		})
	}
}

var updateFixtures = flag.Bool("update-fixtures", false,
	"rewrite the VS Code extension's fixtures of the awaitGraph, cycles and loopBlocked bodies (vscode-extension/test/fixtures/adapter-*.json)")

// extensionFixtures is where the extension's unit tests find bodies written by the adapter.
const extensionFixtures = "../vscode-extension/test/fixtures"

// TestAwaitGraphFixture: the extension's tests read an awaitGraph and a cycles body the adapter
// wrote (vscode-extension/test/fixtures/adapter-*.json), validate them against the same schemas
// and build their tree from them. The files must be what the adapter writes today: after a
// change of the bodies, go test ./adapter -run TestAwaitGraphFixture -update-fixtures.
func TestAwaitGraphFixture(t *testing.T) {
	schemas := loadSchemas(t)
	const (
		taskgroups = "/usr/lib/python3.14/asyncio/taskgroups.py"
		tasksPy    = "/usr/lib/python3.14/asyncio/tasks.py"
		locks      = "/usr/lib/python3.14/asyncio/locks.py"
		service    = "/srv/app/service.py"
	)
	main := []snapshot.Frame{fr("TaskGroup._aexit", taskgroups, 121, 16), fr("TaskGroup.__aexit__", taskgroups, 72, 19), fr("main", service, 40, 8)}
	mainAwaits := awaiter(0x7f5a1c2b0010, true, main...)
	tasks := []snapshot.Task{
		task(0x7f5a1c2b0010, "Task-1", main),
		task(0x7f5a1c2b3d40, "request-17", []snapshot.Frame{fr("sleep", tasksPy, 702, 14),
			fr("Pool.query", "/srv/app/asyncio/pool.py", 14, 8), fr("handle_request", service, 26, 4)}, mainAwaits),
		task(0x7f5a1c2b4100, "tâche-ünïcode 下载 😀", []snapshot.Frame{fr("Event.wait", locks, 213, 18),
			fr("😀.attendre", "/srv/app/módulo.py", 3, 4)}, mainAwaits, awaiter(0x7f5a1c2bf000, false)),
		task(0x7f5a1c2b5200, "", []snapshot.Frame{fr("<genexpr>", "<frozen importlib._bootstrap>", 0, -1),
			{Function: "generated", File: "<string>", Line: -1, EndLine: -1, Column: -1, EndColumn: -1}}, mainAwaits),
		task(0x7f5a1c2b6300, "A", []snapshot.Frame{fr("a", service, 52, 8)}, awaiter(0x7f5a1c2b7400, true)),
		task(0x7f5a1c2b7400, "B", []snapshot.Frame{fr("b", service, 56, 8)}, awaiter(0x7f5a1c2b6300, true)),
	}
	for i := range tasks {
		tasks[i].TID = 4242
	}
	snap := fakeSnapshot(tasks...)
	snap.PID = 4242
	snap.PythonVersion = "3.14.10"
	snap.CapturedAt = time.Date(2026, 11, 21, 14, 9, 55, 858777451, time.UTC)
	snap.Threads = []snapshot.Thread{
		{TID: 4242, ThreadID: 140673248564224, Main: true, HasLoop: true, RunningTask: 0x7f5a1c2b3d40},
		{TID: 4250, ThreadID: 140673200000000, HasLoop: false},
	}
	v := newView(snap, &idAllocator{})
	// Waits as a refreshing session knows them: Task-1's seen beginning, request-17's a lower
	// bound, the one waiting on an Event stuck; the loop blocked in request-17's step.
	v.waits = make([]taskWait, len(tasks))
	v.waits[0] = taskWait{known: true, age: 41250 * time.Millisecond}
	v.waits[1] = taskWait{known: true, age: 3 * time.Second, atLeast: true}
	v.waits[2] = taskWait{known: true, age: 125 * time.Second, stuck: true}
	block := tracking.Block{TID: 4242, Start: snap.CapturedAt.Add(-2300 * time.Millisecond), End: snap.CapturedAt,
		Duration: 2300 * time.Millisecond, Precision: 5 * time.Millisecond, Ongoing: true, Samples: 200, Task: 0x7f5a1c2b3d40,
		Frames: []snapshot.Frame{fr("blocking_call", service, 46, 4), fr("Handle._run", "/usr/lib/python3.14/asyncio/events.py", 94, 8)},
		Site:   fr("blocking_call", service, 46, 4)}
	v.loops = []tracking.LoopInfo{{TID: 4242, State: tracking.InCallback, Busy: 1, Lag: 2300 * time.Millisecond, Blocked: &block}}
	src := newSourceResolver(os.Getpid())
	for _, f := range []struct {
		name, schema string
		body         []byte
	}{
		{"adapter-awaitgraph.json", schema.AwaitGraph, appendAwaitGraph(nil, v, src)},
		{"adapter-cycles.json", schema.Cycles, appendCycles(nil, v)},
		{"adapter-loopblocked.json", schema.LoopBlocked, appendLoopBlocked(nil, block, v, src)},
	} {
		if err := schemas.Validate(f.schema, f.body); err != nil {
			t.Errorf("%s: %v", f.name, err)
		}
		var indented bytes.Buffer
		if err := json.Indent(&indented, f.body, "", " "); err != nil {
			t.Fatal(err)
		}
		indented.WriteByte('\n')
		file := filepath.Join(extensionFixtures, f.name)
		if *updateFixtures {
			if err := os.WriteFile(file, indented.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		old, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(old, indented.Bytes()) {
			t.Errorf("%s is not what the adapter writes now; go test ./adapter -run TestAwaitGraphFixture -update-fixtures rewrites it", file)
		}
	}
}

// TestAwaitGraphInternalLive: in live sessions on CPython 3.14 and 3.15, the awaitGraph marks
// "internal" exactly the frames of the interpreter's own asyncio package — not those of a program
// whose directory is named asyncio — and the stack trace of every task dims the same frames.
func TestAwaitGraphInternalLive(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Python processes")
	}
	// A program in a directory named asyncio, which must not be taken for the standard library's.
	dir := filepath.Join(t.TempDir(), "asyncio")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	own := filepath.Join(dir, "tasks.py")
	if err := os.WriteFile(own, []byte(ownAsyncioProgram), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			py := testtarget.Python(t, version)
			out, err := exec.Command(py, "-E", "-s", "-c", "import asyncio, os; print(os.path.dirname(asyncio.__file__))").Output()
			if err != nil {
				t.Fatalf("%s: %v", py, err)
			}
			stdlib := strings.TrimSpace(string(out))
			modules, _ := filepath.Glob(filepath.Join(stdlib, "*.py"))
			if len(modules) < 10 {
				t.Fatalf("%s holds %d modules: not asyncio", stdlib, len(modules))
			}
			for _, m := range modules {
				if !snapshot.IsStdlibAsyncio(m) {
					t.Errorf("%s: not recognised as the standard library's asyncio", m)
				}
			}
			targets := map[string]*testtarget.Target{
				"tree.py":          testtarget.Start(t, version, "tree.py"),
				"queues.py":        testtarget.Start(t, version, "queues.py"),
				"asyncio/tasks.py": testtarget.StartCommand(t, version, nil, py, "-B", "-E", "-s", own),
			}
			for name, tg := range targets {
				t.Run(name, func(t *testing.T) {
					checkInternalFrames(t, tg, stdlib, own)
				})
			}
		})
	}
}

// ownAsyncioProgram is a scenario that lives in a directory named asyncio; its tasks wait in
// the standard library's asyncio.sleep, below the program's own frames.
const ownAsyncioProgram = `import asyncio, os, signal
signal.alarm(3600)

async def wait_here():
    await asyncio.sleep(3600)

async def main():
    task = asyncio.create_task(wait_here(), name="own")
    await asyncio.sleep(0)
    print("READY", os.getpid(), flush=True)
    await task

asyncio.run(main())
`

func checkInternalFrames(t *testing.T, tg *testtarget.Target, stdlib, own string) {
	c := startSession(t, NewServer(Config{}))
	c.Initialize()
	c.OK("attach", map[string]any{"processId": tg.PID, "maxThreads": 0}, nil)
	c.OK("configurationDone", nil, nil)
	var g struct {
		Tasks []struct {
			ThreadID int    `json:"threadId"`
			Name     string `json:"name"`
			Frames   []struct {
				Name     string `json:"name"`
				Path     string `json:"path"`
				Internal *bool  `json:"internal"`
			} `json:"frames"`
		} `json:"tasks"`
	}
	daptest.Decode(t, c.Event("aioscope/awaitGraph").Body, &g)
	c.Event("stopped")
	var internal, others, ownFrames int
	for _, task := range g.Tasks {
		st := c.StackTrace(task.ThreadID, 0, len(task.Frames))
		if len(st.StackFrames) < len(task.Frames) {
			t.Fatalf("task %s: %d stack frames for %d coroutine frames", task.Name, len(st.StackFrames), len(task.Frames))
		}
		for i, f := range task.Frames {
			want := filepath.Dir(f.Path) == stdlib
			if f.Internal != nil && !*f.Internal {
				t.Errorf("task %s frame %s: \"internal\": false, want the field left out", task.Name, f.Name)
			}
			if got := f.Internal != nil; got != want {
				t.Errorf("task %s frame %s %s: internal %v, want %v", task.Name, f.Name, f.Path, got, want)
			}
			if subtle := st.StackFrames[i].PresentationHint == "subtle"; subtle != want {
				t.Errorf("task %s frame %s %s: stack trace hint %q, awaitGraph internal %v", task.Name, f.Name, f.Path,
					st.StackFrames[i].PresentationHint, want)
			}
			if want {
				internal++
			} else {
				others++
			}
			if f.Path == own {
				ownFrames++
			}
		}
	}
	if internal == 0 || others == 0 {
		t.Errorf("%d internal frames and %d others: the target shows nothing to tell apart", internal, others)
	}
	if tg.Scenario == "" && ownFrames == 0 {
		t.Errorf("no frame of %s", own)
	}
	c.OK("disconnect", nil, nil)
}

// graphBenchSnapshot is a snapshot like that of testdata/scenarios/many.py with n sleepers, the
// sleepers sharing one frames slice as the inspector makes them.
func graphBenchSnapshot(n int) *snapshot.Snapshot {
	mainChain := []snapshot.Frame{fr("main", appMain, 13, 10)}
	sleeper := []snapshot.Frame{fr("sleep", stdlibTasks, 725, 15), fr("sleeper", appMain, 7, 10)}
	tasks := make([]snapshot.Task, 0, n+1)
	tasks = append(tasks, task(0x7f0000000000, "Task-1", mainChain))
	for i := range n {
		tasks = append(tasks, task(0x7f0000001000+uint64(i)*0x200, "Task-"+strconv.Itoa(i+2), sleeper,
			awaiter(0x7f0000000000, true, mainChain...)))
	}
	return fakeSnapshot(tasks...)
}

// BenchmarkAwaitGraph10k measures the encoding of the awaitGraph body alone, without the view.
func BenchmarkAwaitGraph10k(b *testing.B) {
	v := newView(graphBenchSnapshot(10_000), &idAllocator{})
	src := newSourceResolver(os.Getpid())
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = appendAwaitGraph(buf[:0], v, src)
	}
	b.SetBytes(int64(len(buf)))
}
