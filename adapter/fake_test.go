package adapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/google/go-dap"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/internal/daptest"
	"github.com/aioscope/aioscope/snapshot"
	"github.com/aioscope/aioscope/snapshot/cycles"
)

// fakeTarget serves snapshots made up by a test. Its PID is the test process's own, which is
// alive for as long as the test runs.
type fakeTarget struct {
	mu    sync.Mutex
	snaps []*snapshot.Snapshot // served in order; the last one over and over
	err   error                // returned instead of a snapshot when set
	panic any                  // Snapshot panics with it when set
	calls int
}

func (f *fakeTarget) PID() int              { return os.Getpid() }
func (f *fakeTarget) PythonVersion() string { return "3.15.2" }
func (f *fakeTarget) Snapshot() (*snapshot.Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	if f.panic != nil {
		f.calls++
		panic(f.panic)
	}
	s := f.snaps[min(f.calls, len(f.snaps)-1)]
	f.calls++
	return s, nil
}

func fakeServer(f *fakeTarget, cfg Config) *Server {
	cfg.Attach = func(pid int, opts inspector.Options) (Target, error) { return f, nil }
	return NewServer(cfg)
}

func fr(function, file string, line, col int) snapshot.Frame {
	return snapshot.Frame{Function: function, File: file, Line: line, HasLine: line != 0, EndLine: -1, Column: col, EndColumn: -1}
}

func task(id uint64, name string, frames []snapshot.Frame, awaitedBy ...snapshot.Awaiter) snapshot.Task {
	return snapshot.Task{ID: id, Name: name, TID: uint64(os.Getpid()), Frames: frames, AwaitedBy: awaitedBy}
}

func awaiter(id uint64, isTask bool, frames ...snapshot.Frame) snapshot.Awaiter {
	return snapshot.Awaiter{ID: id, IsTask: isTask, Frames: frames}
}

func fakeSnapshot(tasks ...snapshot.Task) *snapshot.Snapshot {
	return &snapshot.Snapshot{
		PID:           os.Getpid(),
		PythonVersion: "3.15.2",
		CapturedAt:    time.Now(),
		Threads: []snapshot.Thread{{TID: uint64(os.Getpid()), ThreadID: 1234, Main: true, HasLoop: true,
			Frames: []snapshot.Frame{fr("EpollSelector.select", "/usr/lib/python3.15/selectors.py", 452, 32)}}},
		Tasks:  tasks,
		Cycles: cycles.Find(tasks),
	}
}

const (
	stdlibTasks = "/usr/lib/python3.15/asyncio/tasks.py"
	appMain     = "/srv/app/main.py"
)

func TestStackComposition(t *testing.T) {
	mainF := fr("main", appMain, 10, 4)
	snap := fakeSnapshot(
		task(0x100, "root", []snapshot.Frame{mainF}),
		task(0x200, "child", []snapshot.Frame{fr("sleep", stdlibTasks, 725, 8), fr("work", appMain, 5, 4)},
			awaiter(0x100, true, mainF)),
		task(0x300, "two-awaiters", []snapshot.Frame{fr("wait", "<frozen importlib._bootstrap>", 3, 0)},
			awaiter(0xf00, false), awaiter(0x100, true, mainF)),
		task(0x400, "", []snapshot.Frame{fr("gen", "relative.py", 0, -1)},
			awaiter(0x999, true, fr("elsewhere", "/srv/app/other.py", 2, 0))),
		task(0x500, "own-asyncio", []snapshot.Frame{fr("helper", "/srv/app/asyncio/tasks.py", 3, 0), fr("x", "", 0, -1)}),
		task(0x200, "child", []snapshot.Frame{fr("sleep", stdlibTasks, 725, 8)}), // listed twice
	)
	c := startSession(t, fakeServer(&fakeTarget{snaps: []*snapshot.Snapshot{snap}}, Config{}))
	c.attachAndStop(map[string]any{"processId": os.Getpid()})
	threads := c.Threads()
	if len(threads) != 6 {
		t.Fatalf("threads %v: want the main thread and 5 tasks (one listed twice)", threads)
	}
	byName := threadsByName(t, threads)
	if _, ok := byName["Task 0x400"]; !ok {
		t.Errorf("a task without a name is not shown by its id: %v", threads)
	}
	type want struct {
		name, path, srcName, hint, srcHint string
		line, col                          int
	}
	check := func(thread string, wants []want) {
		t.Helper()
		st := c.StackTrace(byName[thread], 0, 0)
		if len(st.StackFrames) != len(wants) {
			t.Fatalf("%s: %s, want %d frames", thread, frameNames(st.StackFrames), len(wants))
		}
		for i, w := range wants {
			f := st.StackFrames[i]
			var path, srcName, srcHint string
			if f.Source != nil {
				path, srcName, srcHint = f.Source.Path, f.Source.Name, f.Source.PresentationHint
			}
			if f.Name != w.name || path != w.path || srcName != w.srcName || f.PresentationHint != w.hint ||
				srcHint != w.srcHint || f.Line != w.line || f.Column != w.col {
				t.Errorf("%s frame %d: %+v source %+v, want %+v", thread, i, f, f.Source, w)
			}
		}
	}
	check("child", []want{
		{name: "sleep", path: stdlibTasks, srcName: "tasks.py", hint: "subtle", line: 725, col: 9},
		{name: "work", path: appMain, srcName: "main.py", line: 5, col: 5},
		{name: "awaited by root", hint: "label"},
		{name: "main", path: appMain, srcName: "main.py", line: 10, col: 5},
	})
	check("two-awaiters", []want{
		{name: "wait", srcName: "<frozen importlib._bootstrap>", srcHint: "deemphasize", line: 3, col: 1},
		{name: "awaited by future 0xf00 (and 1 more)", hint: "label"},
	})
	check("Task 0x400", []want{
		{name: "gen", srcName: "relative.py", srcHint: "deemphasize"},
		{name: "awaited by task 0x999 (not in this snapshot)", hint: "label"},
		{name: "elsewhere", path: "/srv/app/other.py", srcName: "other.py", line: 2, col: 1},
	})
	check("own-asyncio", []want{
		{name: "helper", path: "/srv/app/asyncio/tasks.py", srcName: "tasks.py", line: 3, col: 1},
		{name: "x", srcName: "<unknown>", srcHint: "deemphasize"},
	})

	// The label of an awaiter that is not a task has no task scope.
	st := c.StackTrace(byName["two-awaiters"], 0, 0).StackFrames
	if scopes := c.Scopes(st[1].Id); len(scopes) != 0 {
		t.Errorf("scopes of a future's label: %+v", scopes)
	}
	vars := varsByName(c.Variables(c.Scopes(st[0].Id)[0].VariablesReference))
	if vars["awaited by"].IndexedVariables != 2 || !strings.HasPrefix(vars["awaited by"].Value, "future 0xf00, root") {
		t.Errorf("two-awaiters awaited by: %+v", vars["awaited by"])
	}
	list := c.Variables(vars["awaited by"].VariablesReference)
	if len(list) != 2 || list[0].Value != "future 0xf00" || list[0].VariablesReference != 0 || !strings.HasPrefix(list[1].Value, "root (0x100)") {
		t.Errorf("two-awaiters' awaiters: %+v", list)
	}
	var filtered dap.VariablesResponseBody
	c.OK("variables", map[string]any{"variablesReference": vars["awaited by"].VariablesReference, "filter": "named"}, &filtered)
	if len(filtered.Variables) != 0 {
		t.Errorf("named variables of a list: %+v", filtered.Variables)
	}
	if msg := c.Fail("stackTrace", map[string]any{"threadId": 424242}); !strings.Contains(msg, "unknown thread") {
		t.Errorf("stackTrace of an unknown thread: %q", msg)
	}
	if msg := c.Fail("scopes", map[string]any{"frameId": vars["awaited by"].VariablesReference}); !strings.Contains(msg, "stale reference") {
		t.Errorf("scopes of a variablesReference: %q", msg)
	}
	c.OK("disconnect", nil, nil)
}

func TestThreadIDsAcrossSnapshots(t *testing.T) {
	a := task(0xa0, "a", nil)
	b := task(0xb0, "b", nil)
	c0 := task(0xc0, "c", nil)
	d := task(0xd0, "d", nil)
	snaps := []*snapshot.Snapshot{
		fakeSnapshot(a, b, c0), // attach's check
		fakeSnapshot(a, b, c0), // first stop
		fakeSnapshot(b, a, d),  // c finished, d is new, the order changed
		fakeSnapshot(a, c0, d), // c's address is used by a new task, b finished
		// d finished and a new task took its address at once, between two snapshots
		fakeSnapshot(a, c0, task(0xd0, "e", nil)),
	}
	c := startSession(t, fakeServer(&fakeTarget{snaps: snaps}, Config{}))
	c.attachAndStop(map[string]any{"processId": os.Getpid()})
	first := threadsByName(t, c.Threads())
	c.OK("pause", nil, nil)
	c.Event("stopped")
	second := threadsByName(t, c.Threads())
	c.OK("pause", nil, nil)
	c.Event("stopped")
	third := threadsByName(t, c.Threads())
	c.OK("pause", nil, nil)
	c.Event("stopped")
	fourth := threadsByName(t, c.Threads())

	main := fmt.Sprintf("Thread %d (MainThread)", os.Getpid())
	if first["a"] != second["a"] || second["a"] != third["a"] || first["b"] != second["b"] || first[main] != third[main] {
		t.Errorf("ids of tasks present throughout changed: %v %v %v", first, second, third)
	}
	maxID := 0
	for _, id := range first {
		maxID = max(maxID, id)
	}
	if second["d"] <= maxID {
		t.Errorf("new task d got id %d, want one never used before (the largest was %d)", second["d"], maxID)
	}
	if third["c"] == first["c"] || third["c"] <= second["d"] {
		t.Errorf("a new task at a finished task's address got id %d (the old one had %d): ids must not be reused", third["c"], first["c"])
	}
	if fourth["e"] == third["d"] || fourth["e"] <= third["c"] || fourth["a"] != first["a"] || fourth["c"] != third["c"] {
		t.Errorf("task e, at the address d had in the snapshot before, got id %d (d had %d): %v %v", fourth["e"], third["d"], third, fourth)
	}
	c.OK("disconnect", nil, nil)
}

func TestColumnsAndLines(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "unicodé.py")
	line2 := "    s = \"héllo 😀\"; await asyncio.sleep(1)"
	if err := os.WriteFile(src, []byte("async def f():\n"+line2+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	byteCol := strings.Index(line2, "await")
	wantCol := len(utf16.Encode([]rune(line2[:byteCol])))
	f := snapshot.Frame{Function: "f", File: src, Line: 2, HasLine: true, EndLine: 2, Column: byteCol, EndColumn: len(line2)}
	snap := fakeSnapshot(task(0x10, "t", []snapshot.Frame{f}))
	for _, tc := range []struct {
		name            string
		init            map[string]any
		line, col, eCol int
		path            string
	}{
		{"defaults", map[string]any{"adapterID": "x"}, 2, wantCol + 1, len(utf16.Encode([]rune(line2))) + 1, src},
		{"0-based", map[string]any{"linesStartAt1": false, "columnsStartAt1": false}, 1, wantCol, len(utf16.Encode([]rune(line2))), src},
		{"uri", map[string]any{"pathFormat": "uri"}, 2, wantCol + 1, len(utf16.Encode([]rune(line2))) + 1, "file://" + dir + "/unicod%C3%A9.py"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startSession(t, fakeServer(&fakeTarget{snaps: []*snapshot.Snapshot{snap}}, Config{}))
			c.OK("initialize", tc.init, nil)
			c.OK("attach", map[string]any{"processId": os.Getpid()}, nil)
			c.OK("configurationDone", nil, nil)
			c.Event("stopped")
			got := c.StackTrace(threadsByName(t, c.Threads())["t"], 0, 1).StackFrames[0]
			if got.Line != tc.line || got.Column != tc.col || got.EndLine != tc.line || got.EndColumn != tc.eCol || got.Source.Path != tc.path {
				t.Errorf("frame %+v source %+v, want line %d column %d end column %d path %s", got, got.Source, tc.line, tc.col, tc.eCol, tc.path)
			}
		})
	}
}

// TestProcRootMapping: a file that exists only in the target's mount namespace is shown through
// /proc/PID/root.
func TestProcRootMapping(t *testing.T) {
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare is not installed")
	}
	dir := t.TempDir()
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
		`mount -t tmpfs aioscope-test "$1" && echo 'x = 1' > "$1/only-there.py" && echo READY && exec sleep 60`, "sh", dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	buf := make([]byte, 6)
	if _, err := io.ReadFull(stdout, buf); err != nil || string(buf) != "READY\n" {
		t.Skipf("cannot make a private mount namespace here (%v)", err)
	}
	file := filepath.Join(dir, "only-there.py")
	if _, err := os.Stat(file); err == nil {
		t.Fatalf("%s is visible outside the namespace", file)
	}
	r := newSourceResolver(cmd.Process.Pid)
	want := filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "root", file)
	if got := r.resolve(file); got.path != want || got.name != "only-there.py" {
		t.Errorf("resolve(%s) = %+v, want path %s", file, got, want)
	}
	// A file both see is shown under its own name.
	self := newSourceResolver(os.Getpid())
	if got := self.resolve("/etc/hostname"); got.path != "/etc/hostname" && got.path != "" {
		t.Errorf("resolve(/etc/hostname) = %+v", got)
	}
}

func TestAwaitGraphEncoding(t *testing.T) {
	weird := []string{"nul\x00name", "bad\xffutf8", "quote\"back\\slash", "line\u2028sep", "tab\tnl\n", "下载任务", "emoji-😀", ""}
	var tasks []snapshot.Task
	for i, name := range weird {
		tasks = append(tasks, task(uint64(0x1000+i*16), name, []snapshot.Frame{fr("f\"n", "/srv/"+name+".py", i, 0)}))
	}
	tasks[1].AwaitedBy = []snapshot.Awaiter{awaiter(0x1000, true), awaiter(0xdead, false)}
	tasks[0].AwaitedBy = []snapshot.Awaiter{awaiter(0x1010, true)} // a cycle
	snap := fakeSnapshot(tasks...)
	v := newView(snap, &idAllocator{})
	body := appendAwaitGraph(nil, v, newSourceResolver(os.Getpid()))
	if !json.Valid(body) {
		t.Fatalf("invalid JSON: %s", body)
	}
	var g awaitGraph
	if err := json.Unmarshal(body, &g); err != nil {
		t.Fatal(err)
	}
	for i, task := range g.Tasks {
		want := strings.ToValidUTF8(weird[i], "\uFFFD")
		if task.Name != want {
			t.Errorf("task %d name %q, want %q", i, task.Name, want)
		}
	}
	if len(g.Tasks[1].AwaitedBy) != 1 || g.Tasks[1].AwaitedBy[0] != g.Tasks[0].ThreadID {
		t.Errorf("awaitedBy %v: want only the task (the future has no thread)", g.Tasks[1].AwaitedBy)
	}
	if len(g.Cycles) != 1 || len(g.Cycles[0]) != 3 {
		t.Errorf("cycles %v", g.Cycles)
	}
	cyc := appendCycles(nil, v)
	if !json.Valid(cyc) {
		t.Errorf("invalid cycles JSON: %s", cyc)
	}
}

// TestSnapshotErrors: a snapshot that fails mid-session is reported, and a vanished target ends
// the session's view of it.
func TestSnapshotErrors(t *testing.T) {
	f := &fakeTarget{snaps: []*snapshot.Snapshot{fakeSnapshot(task(0x1, "a", nil))}}
	c := startSession(t, fakeServer(f, Config{}))
	c.attachAndStop(map[string]any{"processId": os.Getpid(), "refreshInterval": 20})
	f.mu.Lock()
	f.err = &inspector.TargetChangedError{PID: os.Getpid(), Attempts: 4, Last: errors.New("moving")}
	f.mu.Unlock()
	if msg := c.Fail("pause", nil); !strings.Contains(msg, "changed too fast") || !strings.Contains(msg, "--retries") {
		t.Errorf("pause with a changing target: %q", msg)
	}
	if msg := c.Fail("aioscope/snapshot", nil); !strings.Contains(msg, "changed too fast") {
		t.Errorf("aioscope/snapshot with a changing target: %q", msg)
	}
	// While continued, the same failure is reported once, not on every tick.
	c.OK("continue", nil, nil)
	msgs := c.Drain(300 * time.Millisecond)
	n := 0
	for _, m := range msgs {
		if m.Event == "output" && strings.Contains(string(m.Body), "changed too fast") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d output events about the failing refresh, want 1", n)
	}
	f.mu.Lock()
	f.err = &inspector.ProcessGoneError{PID: os.Getpid()}
	f.mu.Unlock()
	c.Event("exited")
	c.Event("terminated")
	c.OK("threads", nil, nil) // the last snapshot can still be looked at
	c.OK("disconnect", nil, nil)
}

// recordingHandler keeps the messages of error-level log records.
type recordingHandler struct {
	mu   sync.Mutex
	errs []string
}

func (h *recordingHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelError }
func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool { msg += " " + a.String(); return true })
	h.errs = append(h.errs, msg)
	return nil
}
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler      { return h }

// FuzzSession feeds arbitrary input to a session with a made-up target: whatever it is, the
// session must end when the input ends, without a panic in any handler.
func FuzzSession(f *testing.F) {
	req := func(seq int, command string, args string) string {
		body := fmt.Sprintf(`{"seq":%d,"type":"request","command":%q,"arguments":%s}`, seq, command, args)
		return string(daptest.Frame([]byte(body)))
	}
	session := req(1, "initialize", `{"adapterID":"x"}`) + req(2, "attach", `{"processId":1}`) +
		req(3, "configurationDone", `{}`) + req(4, "threads", `{}`) +
		req(5, "stackTrace", `{"threadId":2,"startFrame":1,"levels":2}`) + req(6, "scopes", `{"frameId":1}`) +
		req(7, "variables", `{"variablesReference":3,"start":-5,"count":-1}`) + req(8, "aioscope/snapshot", `{}`) +
		req(9, "continue", `{}`) + req(10, "pause", `{}`)
	f.Add([]byte(session))
	f.Add([]byte(req(1, "attach", `{"processId":"1"}`) + req(2, "stackTrace", `{"threadId":-1,"startFrame":99999999999}`)))
	f.Add([]byte(req(1, "variables", `{"variablesReference":1e99}`) + "Content-Length: 3\r\n\r\n{}}"))
	f.Add([]byte("Content-Length: 2\r\n\r\n{}Content-Length: x\r\n\r\n"))
	f.Add([]byte(session + req(11, "scopes", `{"frameId":4}`) + req(12, "variables", `{"variablesReference":9}`)))

	f.Fuzz(runFuzzInput)
}

// runFuzzInput serves one session whose client sends input and then closes its end.
func runFuzzInput(t *testing.T, input []byte) {
	tasks := []snapshot.Task{
		task(0x10, "root", []snapshot.Frame{fr("main", appMain, 3, 0)}),
		task(0x20, "a", []snapshot.Frame{fr("a", appMain, 4, 1)}, awaiter(0x10, true, fr("main", appMain, 3, 0)), awaiter(0x30, true)),
		task(0x30, "b", []snapshot.Frame{fr("b", "<string>", 1, 0)}, awaiter(0x20, true), awaiter(0x77, false)),
	}
	h := &recordingHandler{}
	srv := fakeServer(&fakeTarget{snaps: []*snapshot.Snapshot{fakeSnapshot(tasks...)}}, Config{Logger: slog.New(h)})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	done := make(chan error, 1)
	pr, pw := io.Pipe()
	go func() {
		done <- srv.Serve(context.Background(), struct {
			io.Reader
			io.Writer
		}{pr, io.Discard})
	}()
	go func() {
		_, _ = pw.Write(input)
		pw.Close()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("the session did not end after its input did")
	}
	pr.Close()
	runtime.ReadMemStats(&after)
	// What a session keeps is bounded by what it is sent (one message at most of the size
	// limit) and by the snapshot it shows: never by numbers found in the input.
	if alloc, limit := after.TotalAlloc-before.TotalAlloc, uint64(64<<20+64*len(input)); alloc > limit {
		t.Errorf("a session over %d bytes of input allocated %d MiB", len(input), alloc>>20)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.errs {
		t.Errorf("logged: %s", e)
	}
}

// TestHostileFileNames: file names come from the target; a FIFO or a /proc file named there must
// not stall the adapter when it looks at the file for column conversion.
func TestHostileFileNames(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo.py")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	snap := fakeSnapshot(task(0x10, "t", []snapshot.Frame{
		fr("a", fifo, 1, 3), fr("b", "/proc/kmsg", 2, 5), fr("c", "/dev/zero", 1, 1), fr("d", "/proc/self/mem", 1, 1),
	}))
	c := startSession(t, fakeServer(&fakeTarget{snaps: []*snapshot.Snapshot{snap}}, Config{}))
	c.attachAndStop(map[string]any{"processId": os.Getpid()})
	st := c.StackTrace(threadsByName(t, c.Threads())["t"], 0, 0).StackFrames
	if len(st) != 4 || st[0].Column != 4 || st[1].Column != 6 {
		t.Errorf("frames %+v", st)
	}
	c.OK("disconnect", nil, nil)
}

// TestPanicsAreContained: a bug met while reading the target, in a request or outside one (the
// first stop, a refresh), becomes an error response or an output event; the session goes on.
func TestPanicsAreContained(t *testing.T) {
	f := &fakeTarget{snaps: []*snapshot.Snapshot{fakeSnapshot(task(0x1, "a", nil))}}
	attach := func(pid int, opts inspector.Options) (Target, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.panic = nil
		return f, nil
	}
	c := startSession(t, NewServer(Config{Attach: attach}))
	c.Initialize()
	c.OK("attach", map[string]any{"processId": os.Getpid(), "refreshInterval": 20}, nil)
	f.mu.Lock()
	f.panic = "bad table"
	f.mu.Unlock()
	internalError := func(what string) {
		t.Helper()
		if out := c.WaitOutput("internal error"); !strings.Contains(out, "bad table") {
			t.Errorf("%s: %q", what, out)
		}
	}
	c.OK("configurationDone", nil, nil)
	internalError("the first stop")
	if msg := c.Fail("pause", nil); !strings.Contains(msg, "internal error") || !strings.Contains(msg, "bad table") {
		t.Errorf("pause: %q", msg)
	}
	c.OK("continue", nil, nil)
	internalError("a refresh")
	f.mu.Lock()
	f.panic = nil
	f.mu.Unlock()
	c.OK("pause", nil, nil)
	c.Event("stopped")
	if _, ok := threadsByName(t, c.Threads())["a"]; !ok {
		t.Error("no thread a after the target could be read again")
	}
	c.OK("disconnect", nil, nil)
	if err := c.waitServed(); err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// TestConfigurationSequences: the first stop comes after configurationDone; a client that sends
// only setExceptionBreakpoints gets it anyway, after a grace period; one that configures before
// attaching gets it after the attach.
func TestConfigurationSequences(t *testing.T) {
	snap := fakeSnapshot(task(0x1, "a", nil))
	start := func(t *testing.T) *client {
		c := startSession(t, fakeServer(&fakeTarget{snaps: []*snapshot.Snapshot{snap}}, Config{}))
		c.Initialize()
		return c
	}
	// stopsAfter returns the stopped events among the messages within d, failing unless each
	// comes after the response to request seq.
	stopsAfter := func(t *testing.T, c *client, seq int, d time.Duration) int {
		t.Helper()
		answered, stops := false, 0
		for _, m := range c.Drain(d) {
			if m.Type == "response" && m.RequestSeq == seq {
				answered = true
			}
			if m.Type == "event" && m.Event == "stopped" {
				stops++
				if !answered {
					t.Errorf("stopped event before the response to request %d", seq)
				}
			}
		}
		return stops
	}

	t.Run("VS Code", func(t *testing.T) {
		c := start(t)
		c.OK("attach", map[string]any{"processId": os.Getpid()}, nil)
		c.Event("initialized")
		c.OK("setBreakpoints", map[string]any{"source": map[string]any{"path": appMain}, "breakpoints": []any{}}, nil)
		c.OK("setExceptionBreakpoints", map[string]any{"filters": []string{}}, nil)
		time.Sleep(configurationGrace / 3) // a client thinking it over
		seq := c.Send("configurationDone", nil)
		if n := stopsAfter(t, c, seq, configurationGrace+500*time.Millisecond); n != 1 {
			t.Errorf("%d stopped events, want 1", n)
		}
		c.OK("disconnect", nil, nil)
	})
	t.Run("setExceptionBreakpoints only", func(t *testing.T) {
		c := start(t)
		c.OK("attach", map[string]any{"processId": os.Getpid()}, nil)
		c.Event("initialized")
		began := time.Now()
		seq := c.Send("setExceptionBreakpoints", map[string]any{"filters": []string{"all"}})
		if n := stopsAfter(t, c, seq, configurationGrace+500*time.Millisecond); n != 1 {
			t.Errorf("%d stopped events, want 1", n)
		}
		if waited := time.Since(began); waited < configurationGrace {
			t.Errorf("stopped after %v, before the grace period of %v", waited, configurationGrace)
		}
		c.OK("disconnect", nil, nil)
	})
	t.Run("configured before attach", func(t *testing.T) {
		c := start(t)
		c.OK("setExceptionBreakpoints", map[string]any{"filters": []string{}}, nil)
		c.OK("configurationDone", nil, nil)
		seq := c.Send("attach", map[string]any{"processId": os.Getpid()})
		if n := stopsAfter(t, c, seq, 500*time.Millisecond); n != 1 {
			t.Errorf("%d stopped events, want 1", n)
		}
		c.OK("disconnect", nil, nil)
	})
}
