package systemtest

// The differential test runs aioscope and CPython's own `python -m asyncio ps|pstree` against the
// same live CPython 3.14 and 3.15 processes (the programs in testdata/scenarios) and requires the
// same stdout, stderr and exit code.
//
// CPython 3.15's tool reads every thread, like aioscope by default: outputs must be
// byte-identical. CPython 3.14's tool reads only the main thread's task list (plus the tasks of
// exited threads) and garbles non-ASCII strings; aioscope --main-thread-only reads the same
// lists, and its output must match up to that garbling (testtarget.CompareGarbled). aioscope's
// default output on 3.14 must then hold the same rows plus those of the other threads.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aioscope/aioscope/internal/testtarget"
)

type diffCase struct {
	scenario string
	args     []string
	// oracleCrashes lists where CPython's tool itself dies with a Python traceback, as
	// "<version>/<command>" -> exception name on the traceback's last line. There is no output
	// to compare there; the case checks that the crash still happens, so that the table is
	// revisited when CPython changes.
	oracleCrashes map[string]string
	// cycles is the number of await cycles CPython's pstree must report (with exit code 1).
	cycles int
	// chainFrames is set for deep.py: where CPython's tool gives up on the long await chain
	// ("Too many coroutine frames") or crashes on it, aioscope must print it whole, with this
	// many frames of chain().
	chainFrames int
}

// tooManyFrames is how CPython's tools give up on long await chains.
const tooManyFrames = "Too many coroutine frames"

func (c diffCase) name() string { return strings.Join(append([]string{c.scenario}, c.args...), "-") }

// recursionCrash: tools.py renders trees recursively and hits Python's recursion limit on
// coroutine chains of about a thousand frames.
const recursionCrash = "RecursionError"

var diffCases = []diffCase{
	{scenario: "tree.py"},
	{scenario: "threads.py"},
	{scenario: "cycle.py", cycles: 1},
	{scenario: "cycle2.py", cycles: 3},
	{scenario: "edge.py"},
	{scenario: "sync.py"},
	{scenario: "timeouts.py"},
	{scenario: "queues.py"},
	{scenario: "agen.py"},
	{scenario: "eager.py"},
	{scenario: "unicode.py"},
	{scenario: "names.py"},
	{scenario: "blocked.py"},
	{scenario: "many.py", args: []string{"300"}},
	// More tasks than the inspector reads in one batch (tasksPerBatch).
	{scenario: "many.py", args: []string{"5000"}},
	// deep.py N: a coroutine chain of N+2 frames.
	{scenario: "deep.py", args: []string{"100"}, chainFrames: 101},
	{scenario: "deep.py", args: []string{"900"}, chainFrames: 901},
	// 1023 frames: the longest chain 3.14 reads.
	{scenario: "deep.py", args: []string{"1021"}, chainFrames: 1022, oracleCrashes: map[string]string{
		"3.14/pstree": recursionCrash, "3.15/pstree": recursionCrash}},
	// 1024 frames: "Too many coroutine frames" on 3.14.
	{scenario: "deep.py", args: []string{"1022"}, chainFrames: 1023, oracleCrashes: map[string]string{
		"3.15/pstree": recursionCrash}},
	// 1535 frames: the longest chain 3.15 reads.
	{scenario: "deep.py", args: []string{"1533"}, chainFrames: 1534, oracleCrashes: map[string]string{
		"3.15/pstree": recursionCrash}},
	// 1536 frames: "Too many coroutine frames" on both (3.15 after its retries).
	// aioscope reads further than CPython: it prints these chains whole.
	{scenario: "deep.py", args: []string{"1534"}, chainFrames: 1535},
	// CPython 3.14 cannot decode these strings (see the scenario).
	{scenario: "longunicode.py", oracleCrashes: map[string]string{
		"3.14/ps": "UnicodeDecodeError", "3.14/pstree": "UnicodeDecodeError"}},
}

// threadTasks are the tasks threads.py creates in its two extra threads, by thread.
var threadTasks = [][]string{{"Task-2", "thrA-t0", "thrA-t1"}, {"Task-3", "thrB-t0", "thrB-t1"}}

func TestDifferential(t *testing.T) {
	if testing.Short() {
		t.Skip("starts dozens of Python processes")
	}
	bin := testtarget.Binary(t)
	for _, version := range []string{"3.14", "3.15"} {
		t.Run(version, func(t *testing.T) {
			testtarget.Python(t, version)
			for _, c := range diffCases {
				t.Run(c.name(), func(t *testing.T) {
					t.Parallel()
					d := &differ{bin: bin, version: version, c: c, oracles: map[string]toolResult{}}
					d.tg = testtarget.Start(t, version, c.scenario, c.args...)
					for _, cmd := range []string{"ps", "pstree"} {
						t.Run(cmd, func(t *testing.T) { d.compare(t, cmd) })
					}
					if version == "3.14" {
						for _, cmd := range []string{"ps", "pstree"} {
							t.Run(cmd+"-all-threads", func(t *testing.T) { d.allThreads(t, cmd) })
						}
					} else {
						t.Run("ps-json", d.checkJSON)
					}
				})
			}
		})
	}
}

type toolResult struct {
	stdout, stderr []byte
	code           int
}

type differ struct {
	bin     string
	version string
	c       diffCase
	tg      *testtarget.Target

	mu      sync.Mutex
	oracles map[string]toolResult // CPython's output by command; the target does not change
}

func (d *differ) oracle(t *testing.T, cmd string) toolResult {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.oracles[cmd]
	if !ok {
		r.stdout, r.stderr, r.code = d.tg.AsyncioTool(t, cmd)
		if bytes.Contains(r.stdout, []byte("cannot be attached to due to insufficient permissions")) ||
			bytes.Contains(r.stderr, []byte("cannot be attached to due to insufficient permissions")) {
			testtarget.Unavailable(t, "CPython's tool may not read the target process: the test needs "+
				"ptrace access (root, CAP_SYS_PTRACE or kernel.yama.ptrace_scope=0)")
		}
		d.oracles[cmd] = r
	}
	return r
}

// aioscope runs the binary as `aioscope <cmd> [flags...] <pid>`.
func (d *differ) aioscope(t *testing.T, cmd string, flags ...string) toolResult {
	t.Helper()
	if d.tg.Exited() {
		t.Fatalf("target %d has exited; stderr:\n%s", d.tg.PID, d.tg.Stderr())
	}
	args := append(append([]string{cmd}, flags...), strconv.Itoa(d.tg.PID))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, d.bin, args...)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	err := c.Run()
	if ctx.Err() != nil {
		t.Fatalf("aioscope %s: timed out", strings.Join(args, " "))
	}
	var exitErr *exec.ExitError
	if err != nil && !(errors.As(err, &exitErr) && exitErr.Exited()) {
		t.Fatalf("aioscope %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return toolResult{stdout.Bytes(), stderr.Bytes(), c.ProcessState.ExitCode()}
}

// compare checks aioscope against CPython's tool for one command.
func (d *differ) compare(t *testing.T, cmd string) {
	want := d.oracle(t, cmd)
	crashed := bytes.Contains(want.stderr, []byte("Traceback (most recent call last):"))
	gaveUp := want.code == 1 && bytes.Contains(append(want.stdout, want.stderr...), []byte(tooManyFrames))
	if d.c.chainFrames > 0 && (crashed || gaveUp) {
		d.readsFurther(t, cmd)
	}
	if gaveUp {
		return
	}
	if exc, ok := d.c.oracleCrashes[d.version+"/"+cmd]; ok {
		if crashed && strings.HasPrefix(lastLineOf(want.stderr), exc) {
			t.Skipf("CPython %s's tool crashes on this target (%s): nothing to compare", d.version,
				lastLineOf(want.stderr))
		}
		t.Errorf("CPython's tool was expected to crash with %s here but exited %d; stdout:\n%s\nstderr:\n%s",
			exc, want.code, clipBytes(want.stdout), want.stderr)
	}
	if crashed {
		t.Fatalf("CPython's tool crashed, so there is nothing to compare:\n%s", want.stderr)
	}
	if cmd == "pstree" && d.c.cycles > 0 {
		// Make sure the scenario still produces what it is meant to.
		if n := bytes.Count(want.stderr, []byte("\ncycle: ")); want.code != 1 || n != d.c.cycles {
			t.Errorf("CPython's pstree: exit %d with %d cycles, want exit 1 with %d; stderr:\n%s",
				want.code, n, d.c.cycles, want.stderr)
		}
	}

	if d.version == "3.15" {
		got := d.aioscope(t, cmd)
		expectSameOutput(t, "stdout", want.stdout, got.stdout)
		expectSameOutput(t, "stderr", want.stderr, got.stderr)
		if got.code != want.code {
			t.Errorf("exit code: aioscope %d, CPython %d", got.code, want.code)
		}
		return
	}
	got := d.aioscope(t, cmd, "--main-thread-only")
	if err := testtarget.CompareGarbled(want.stdout, got.stdout); err != nil {
		t.Errorf("stdout: %v", err)
	}
	if err := testtarget.CompareGarbled(want.stderr, got.stderr); err != nil {
		t.Errorf("stderr: %v", err)
	}
	if got.code != want.code {
		t.Errorf("exit code: aioscope %d, CPython %d", got.code, want.code)
	}
}

// readsFurther checks that aioscope prints a long await chain whole where CPython's tool cannot.
func (d *differ) readsFurther(t *testing.T, cmd string) {
	got := d.aioscope(t, cmd)
	if got.code != 0 || len(got.stderr) != 0 {
		t.Fatalf("aioscope %s: exit %d, stderr:\n%s", cmd, got.code, got.stderr)
	}
	// The ps header's "awaiter chain" column is not a frame.
	n := bytes.Count(got.stdout, []byte("chain")) - bytes.Count(got.stdout, []byte("awaiter chain"))
	if n != d.c.chainFrames {
		t.Errorf("aioscope %s shows %d chain() frames, want all %d", cmd, n, d.c.chainFrames)
	}
}

// allThreads checks, on 3.14, that aioscope's default output is its --main-thread-only output
// plus the rows (ps) or trees (pstree) of the other threads' tasks.
func (d *differ) allThreads(t *testing.T, cmd string) {
	main := d.aioscope(t, cmd, "--main-thread-only")
	all := d.aioscope(t, cmd)
	if main.code != 0 || len(main.stderr) != 0 {
		// Errors and cycle reports: no other scenario thread changes those.
		expectSameOutput(t, "stdout", main.stdout, all.stdout)
		expectSameOutput(t, "stderr", main.stderr, all.stderr)
		if all.code != main.code {
			t.Errorf("exit code: default %d, --main-thread-only %d", all.code, main.code)
		}
		return
	}
	if all.code != 0 || len(all.stderr) != 0 {
		t.Fatalf("default mode failed where --main-thread-only did not: exit %d, stderr:\n%s", all.code, all.stderr)
	}
	var mainParts, allParts []string
	if cmd == "ps" {
		mainParts, allParts = splitLines(main.stdout), splitLines(all.stdout)
	} else {
		mainParts, allParts = splitTrees(main.stdout), splitTrees(all.stdout)
	}
	extra, missing := matchSubsequence(mainParts, allParts)
	if missing != "" {
		t.Fatalf("the default output lacks, or reorders, this part of the --main-thread-only output:\n%s", missing)
	}
	if d.c.scenario != "threads.py" {
		if len(extra) > 0 {
			t.Errorf("no other thread runs a loop, yet the default output has more:\n%s", strings.Join(extra, "\n"))
		}
		return
	}
	if cmd == "pstree" {
		for _, tasks := range threadTasks {
			for _, name := range tasks {
				if !anyHasPrefix(extra, "└── (T) "+name+"\n") {
					t.Errorf("no tree for task %s of another thread in:\n%s", name, all.stdout)
				}
			}
		}
		return
	}
	// ps: each extra row belongs to a live thread other than the main one, and the tasks of one
	// thread share its id.
	tidOf := map[string]string{}
	for _, row := range extra {
		f := strings.Fields(row)
		if len(f) < 3 {
			t.Errorf("malformed row %q", row)
			continue
		}
		tid := f[0]
		if tid == "0" || tid == strconv.Itoa(d.tg.PID) {
			t.Errorf("row of thread %s is missing from the --main-thread-only output: %q", tid, row)
		} else if _, err := os.Stat(fmt.Sprintf("/proc/%d/task/%s", d.tg.PID, tid)); err != nil {
			t.Errorf("row %q: %s is not a thread of %d: %v", row, tid, d.tg.PID, err)
		}
		tidOf[f[2]] = tid
	}
	seen := map[string]bool{}
	for _, tasks := range threadTasks {
		tid := tidOf[tasks[0]]
		if tid == "" {
			t.Errorf("no row for task %s of another thread", tasks[0])
			continue
		}
		for _, name := range tasks[1:] {
			if tidOf[name] != tid {
				t.Errorf("task %s: thread %q, want %s (the thread of %s)", name, tidOf[name], tid, tasks[0])
			}
		}
		if seen[tid] {
			t.Errorf("the two extra threads report the same thread id %s", tid)
		}
		seen[tid] = true
	}
	if len(extra) != 6 {
		t.Errorf("%d extra rows, want 6:\n%s", len(extra), strings.Join(extra, "\n"))
	}
}

// checkJSON checks aioscope ps --json against CPython's ps table (3.15, where the tables agree).
func (d *differ) checkJSON(t *testing.T) {
	table := d.oracle(t, "ps")
	if table.code != 0 {
		t.Skipf("CPython's ps fails on this target (%s): no table to check against", lastLineOf(table.stderr))
	}
	got := d.aioscope(t, "ps", "--json")
	if got.code != 0 {
		t.Fatalf("aioscope ps --json: exit %d, stderr:\n%s", got.code, got.stderr)
	}
	dec := json.NewDecoder(bytes.NewReader(got.stdout))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, clipBytes(got.stdout))
	}
	if dec.More() {
		t.Errorf("more than one JSON value in the output")
	}
	for _, key := range []string{"pid", "python_version", "captured_at", "threads", "tasks", "cycles"} {
		if _, ok := doc[key]; !ok {
			t.Errorf("no top-level key %q (keys: %v)", key, jsonKeys(doc))
		}
	}
	if pid, _ := doc["pid"].(json.Number); pid.String() != strconv.Itoa(d.tg.PID) {
		t.Errorf("pid = %v, want %d", doc["pid"], d.tg.PID)
	}
	if v, _ := doc["python_version"].(string); !strings.HasPrefix(v, d.version+".") {
		t.Errorf("python_version = %v, want %s.x", doc["python_version"], d.version)
	}
	switch at := doc["captured_at"].(type) {
	case string:
		if _, err := time.Parse(time.RFC3339Nano, at); err != nil {
			t.Errorf("captured_at: %v", err)
		}
	case json.Number:
	default:
		t.Errorf("captured_at = %v (%T), want an RFC 3339 time", at, at)
	}
	if _, ok := doc["threads"].([]any); !ok {
		t.Errorf("threads is %T, want an array", doc["threads"])
	}
	tasks, ok := doc["tasks"].([]any)
	if !ok {
		t.Fatalf("tasks is %T, want an array", doc["tasks"])
	}

	// Every task of the table appears once in the JSON and vice versa, with the same name (and
	// thread, when the JSON gives it).
	tableIDs := map[uint64]bool{}
	for _, m := range psTaskID.FindAllSubmatch(table.stdout, -1) {
		id, _ := strconv.ParseUint(string(m[1][2:]), 16, 64)
		tableIDs[id] = true
	}
	jsonIDs := map[uint64]string{}
	for i, raw := range tasks {
		task, ok := raw.(map[string]any)
		if !ok {
			t.Fatalf("tasks[%d] is %T, want an object", i, raw)
		}
		id, err := jsonUint(jsonField(task, "id", "task_id"))
		if err != nil {
			t.Fatalf("tasks[%d] id: %v (keys: %v)", i, err, jsonKeys(task))
		}
		name, ok := jsonField(task, "name", "task_name").(string)
		if !ok {
			t.Fatalf("tasks[%d] name is %T (keys: %v)", i, jsonField(task, "name", "task_name"), jsonKeys(task))
		}
		if _, dup := jsonIDs[id]; dup {
			t.Errorf("task %#x listed twice", id)
		}
		jsonIDs[id] = name
		row := fmt.Sprintf(" %-20s %-20s ", "0x"+strconv.FormatUint(id, 16), name)
		if tid, err := jsonUint(jsonField(task, "tid")); err == nil {
			row = "\n" + fmt.Sprintf("%-10d", tid) + row
		}
		if !bytes.Contains(table.stdout, []byte(row)) {
			t.Errorf("task %q (%#x): no ps row starting %q", name, id, row)
		}
		if !tableIDs[id] {
			t.Errorf("task %q (%#x) is not in the ps table", name, id)
		}
	}
	for id := range tableIDs {
		if _, ok := jsonIDs[id]; !ok {
			t.Errorf("task %#x of the ps table is missing from the JSON", id)
		}
	}

	// Cycles, as CPython's pstree reports them.
	cycles, ok := doc["cycles"].([]any)
	if !ok {
		t.Fatalf("cycles is %T, want an array", doc["cycles"])
	}
	tree := d.oracle(t, "pstree")
	var wantCycles []string
	for _, line := range splitLines(tree.stderr) {
		if strings.HasPrefix(line, "cycle: ") {
			wantCycles = append(wantCycles, line)
		}
	}
	var gotCycles []string
	for i, raw := range cycles {
		ids, ok := raw.([]any)
		if !ok {
			t.Fatalf("cycles[%d] is %T, want an array of task ids", i, raw)
		}
		var names []string
		for _, rawID := range ids {
			id, err := jsonUint(rawID)
			if err != nil {
				t.Fatalf("cycles[%d]: %v", i, err)
			}
			name, ok := jsonIDs[id]
			if !ok {
				name = fmt.Sprintf("%#x", id)
			}
			names = append(names, name)
		}
		gotCycles = append(gotCycles, "cycle: "+strings.Join(names, " → "))
	}
	if strings.Join(gotCycles, "\n") != strings.Join(wantCycles, "\n") {
		t.Errorf("cycles:\n%s\nCPython's pstree reports:\n%s", strings.Join(gotCycles, "\n"), strings.Join(wantCycles, "\n"))
	}
}

// psTaskID finds the task id column of ps rows (the first line of each row: names may hold
// newlines).
var psTaskID = regexp.MustCompile(`(?m)^[0-9]+ +(0x[0-9a-f]+) `)

// jsonField returns the first of the given keys present in obj.
func jsonField(obj map[string]any, keys ...string) any {
	for _, k := range keys {
		if v, ok := obj[k]; ok {
			return v
		}
	}
	return nil
}

// jsonUint accepts an id as a JSON number or as a decimal or 0x-prefixed hex string.
func jsonUint(v any) (uint64, error) {
	switch v := v.(type) {
	case json.Number:
		return strconv.ParseUint(v.String(), 10, 64)
	case string:
		if hex, ok := strings.CutPrefix(v, "0x"); ok {
			return strconv.ParseUint(hex, 16, 64)
		}
		return strconv.ParseUint(v, 10, 64)
	}
	return 0, fmt.Errorf("%v (%T) is not an integer", v, v)
}

func jsonKeys(m map[string]any) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// splitLines splits output into lines without their newline.
func splitLines(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// splitTrees splits pstree output into its trees, each starting with a root line "└── (T) ...".
func splitTrees(b []byte) []string {
	var out []string
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "└── ") || len(out) == 0 {
			out = append(out, line)
		} else {
			out[len(out)-1] += line
		}
	}
	return out
}

func anyHasPrefix(parts []string, prefix string) bool {
	for _, p := range parts {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// matchSubsequence matches sub against all in order; it returns the parts of all not used, or the
// first part of sub that could not be matched.
func matchSubsequence(sub, all []string) (extra []string, missing string) {
	i := 0
	for _, p := range all {
		if i < len(sub) && p == sub[i] {
			i++
		} else {
			extra = append(extra, p)
		}
	}
	if i < len(sub) {
		return extra, sub[i]
	}
	return extra, ""
}

// expectSameOutput reports the first differing line of two outputs that must be byte-identical.
func expectSameOutput(t *testing.T, what string, want, got []byte) {
	t.Helper()
	if bytes.Equal(want, got) {
		return
	}
	wl, gl := strings.SplitAfter(string(want), "\n"), strings.SplitAfter(string(got), "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			t.Errorf("%s differs from CPython's at line %d (CPython %d bytes, aioscope %d bytes):\n  CPython:  %q\n  aioscope: %q",
				what, i+1, len(want), len(got), clipString(w), clipString(g))
			return
		}
	}
}

func lastLineOf(b []byte) string {
	l := splitLines(b)
	if len(l) == 0 {
		return ""
	}
	return l[len(l)-1]
}

func clipBytes(b []byte) string { return clipString(string(b)) }

func clipString(s string) string {
	const max = 2000
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
