package adapter

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unicode/utf16"

	"github.com/google/go-dap"

	"github.com/aioscope/aioscope/internal/faketarget"
	"github.com/aioscope/aioscope/snapshot"
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
	c := startSession(t, fakeServer(faketarget.New(snap), Config{}))
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
		// A label points at where the awaiter awaits.
		{name: "awaited by root", path: appMain, srcName: "main.py", hint: "label", line: 10, col: 5},
		{name: "main", path: appMain, srcName: "main.py", line: 10, col: 5},
	})
	check("two-awaiters", []want{
		{name: "wait", srcName: "<frozen importlib._bootstrap>", srcHint: "deemphasize", line: 3, col: 1},
		// A future has no frames: the label points at the frame before it.
		{name: "awaited by future 0xf00 (and 1 more)", srcName: "<frozen importlib._bootstrap>", srcHint: "deemphasize", hint: "label", line: 3, col: 1},
	})
	check("Task 0x400", []want{
		{name: "gen", srcName: "relative.py", srcHint: "deemphasize"},
		{name: "awaited by task 0x999 (not in this snapshot)", path: "/srv/app/other.py", srcName: "other.py", hint: "label", line: 2, col: 1},
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
	if msg := c.Fail("stackTrace", map[string]any{"threadId": 424242}); !strings.Contains(msg, "thread 424242 is not in the current snapshot") {
		t.Errorf("stackTrace of an unknown thread: %q", msg)
	}
	if msg := c.Fail("scopes", map[string]any{"frameId": vars["awaited by"].VariablesReference}); !strings.Contains(msg, "belongs to an earlier snapshot") {
		t.Errorf("scopes of a variablesReference: %q", msg)
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
			c := startSession(t, fakeServer(faketarget.New(snap), Config{}))
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
	c := startSession(t, fakeServer(faketarget.New(snap), Config{}))
	c.attachAndStop(map[string]any{"processId": os.Getpid()})
	st := c.StackTrace(threadsByName(t, c.Threads())["t"], 0, 0).StackFrames
	if len(st) != 4 || st[0].Column != 4 || st[1].Column != 6 {
		t.Errorf("frames %+v", st)
	}
	c.OK("disconnect", nil, nil)
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
