package systemtest

// The values commands and flags against live CPython 3.14 and 3.15 targets
// (testdata/scenarios/values_tasks.py): ps --json --locals against the targets' own repr() of
// their tasks' variables and their deadlines, pstree --args against pstree, aioscope locals and
// its errors.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/aioscope/aioscope/internal/testtarget"
	"github.com/aioscope/aioscope/schema"
)

// tasksDoc is what values_tasks.py writes: each task's frames with their variables' reprs,
// innermost first, and when it is due to wake (loop time).
type tasksDoc struct {
	Tasks []struct {
		Name   string `json:"name"`
		ID     uint64 `json:"id"`
		Frames []struct {
			Function string      `json:"function"`
			Vars     [][2]string `json:"vars"`
		} `json:"frames"`
		Due *float64 `json:"due"`
	} `json:"tasks"`
}

func startValuesTasks(t *testing.T, version string) (*testtarget.Target, tasksDoc) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tasks.json")
	tg := testtarget.Start(t, version, "values_tasks.py", path)
	var doc tasksDoc
	data, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(data, &doc)
	}
	if err != nil || len(doc.Tasks) != 7 {
		t.Fatalf("%s: %d tasks, %v", path, len(doc.Tasks), err)
	}
	return tg, doc
}

// monotonic is CLOCK_MONOTONIC, the clock of the targets' event loops (they share the test's
// time namespace).
func monotonic(t *testing.T) float64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	return float64(ts.Sec) + float64(ts.Nsec)/1e9
}

// psLocals is the part of the ps --json --locals document the tests look at.
type psLocals struct {
	Tasks []struct {
		ID      string   `json:"id"`
		Name    string   `json:"name"`
		WakesIn *float64 `json:"wakes_in"`
		WakesBy *string  `json:"wakes_by"`
		Frames  []struct {
			Function    string `json:"function"`
			LocalsError string `json:"locals_error"`
			Locals      []struct {
				Name, Kind, Type, Repr, Error string
			} `json:"locals"`
		} `json:"frames"`
	} `json:"tasks"`
}

// TestPSJSONLocalsLive: the variables ps --json --locals shows are those the target's frames
// have, with the reprs Python itself gives them; the deadlines are the tasks' own, within a
// tolerance for the time the read takes.
func TestPSJSONLocalsLive(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Python processes")
	}
	schemas := loadSchemas(t)
	bin := testtarget.Binary(t)
	wakesBy := map[string]string{"fetch-a": "asyncio.sleep", "fetch-b": "asyncio.sleep", "guarded": "asyncio.timeout",
		"guarded-as": "asyncio.timeout", "wait-for": "asyncio.wait_for"}
	kinds := map[string]string{"url": "argument", "attempt": "argument", "args": "argument", "extra": "argument",
		"timeout": "argument", "item": "local", "cm": "local", "h": "local"}
	for _, version := range []string{"3.14", "3.15"} {
		t.Run(version, func(t *testing.T) {
			tg, want := startValuesTasks(t, version)
			before := monotonic(t)
			out, code := runJSON(t, bin, tg, "ps", "--json", "--locals")
			after := monotonic(t)
			if code != 0 {
				t.Fatalf("exit %d", code)
			}
			if err := schemas.Validate(schema.PS, out); err != nil {
				t.Fatalf("ps --json --locals: %v", err)
			}
			var doc psLocals
			if err := json.Unmarshal(out, &doc); err != nil {
				t.Fatal(err)
			}
			byID := map[string]int{}
			for i, task := range doc.Tasks {
				byID[task.ID] = i
			}
			checked := 0
			for _, w := range want.Tasks {
				i, ok := byID["0x"+strconv.FormatUint(w.ID, 16)]
				if !ok {
					t.Errorf("task %s (%#x) missing", w.Name, w.ID)
					continue
				}
				got := doc.Tasks[i]
				if len(got.Frames) != len(w.Frames) {
					t.Errorf("task %s: %d frames, want %d", w.Name, len(got.Frames), len(w.Frames))
					continue
				}
				for k, wf := range w.Frames {
					gf := got.Frames[k]
					if gf.LocalsError != "" || gf.Function != wf.Function {
						t.Errorf("task %s frame %d: %s %q, want %s", w.Name, k, gf.Function, gf.LocalsError, wf.Function)
						continue
					}
					gotVars := map[string]string{}
					for _, v := range gf.Locals {
						if v.Error != "" {
							t.Errorf("task %s, %s: %s", w.Name, v.Name, v.Error)
						}
						if want, ok := kinds[v.Name]; ok && v.Kind != want {
							t.Errorf("task %s, %s: kind %s, want %s", w.Name, v.Name, v.Kind, want)
						}
						gotVars[v.Name] = v.Repr
					}
					if len(gotVars) != len(wf.Vars) {
						t.Errorf("task %s, %s: variables %v, want %v", w.Name, wf.Function, gotVars, wf.Vars)
					}
					for _, nv := range wf.Vars {
						name, repr := nv[0], nv[1]
						if name == "loop" {
							// BaseEventLoop.__repr__ is code: the reader shows the object repr.
							if !strings.HasPrefix(gotVars[name], "<asyncio.unix_events._UnixSelectorEventLoop object at 0x") {
								t.Errorf("task %s, loop: %q", w.Name, gotVars[name])
							}
							continue
						}
						if gotVars[name] != repr {
							t.Errorf("task %s, %s: %s = %q, want %q", w.Name, wf.Function, name, gotVars[name], repr)
						}
						checked++
					}
				}
				switch {
				case w.Due == nil:
					if got.WakesIn != nil || got.WakesBy != nil {
						t.Errorf("task %s: wakes in %v by %v, want none", w.Name, *got.WakesIn, *got.WakesBy)
					}
				case got.WakesIn == nil || got.WakesBy == nil:
					t.Errorf("task %s: no deadline, want one in about %.3f s", w.Name, *w.Due-before)
				default:
					// captured_at lies between before and after; wakes_in counts from it.
					const tolerance = 0.05
					lo, hi := *w.Due-after-tolerance, *w.Due-before+tolerance
					if *got.WakesIn < lo || *got.WakesIn > hi || *got.WakesBy != wakesBy[w.Name] {
						t.Errorf("task %s: wakes in %.3f s by %s, want [%.3f, %.3f] by %s", w.Name, *got.WakesIn, *got.WakesBy,
							lo, hi, wakesBy[w.Name])
					}
				}
			}
			if checked < 40 {
				t.Errorf("only %d values checked", checked)
			}
			t.Logf("%d values equal to the target's repr()", checked)
		})
	}
}

// argsLabel matches a frame line of pstree --args: the function, its arguments, the location.
var argsLabel = regexp.MustCompile(`^(.*?── ) ([^ (]+)\((.*)\) (\S+)$`)

// TestPSTreeArgsLive: pstree --args is pstree with each coroutine frame's arguments after its
// function, and pstree without it stays CPython's own output.
func TestPSTreeArgsLive(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Python processes")
	}
	schemas := loadSchemas(t)
	bin := testtarget.Binary(t)
	for _, version := range []string{"3.14", "3.15"} {
		t.Run(version, func(t *testing.T) {
			tg, _ := startValuesTasks(t, version)
			plain, code := runJSON(t, bin, tg, "pstree")
			if code != 0 {
				t.Fatalf("pstree: exit %d", code)
			}
			oracle, _, oracleCode := tg.AsyncioTool(t, "pstree")
			if oracleCode != 0 || !bytes.Equal(plain, oracle) {
				t.Errorf("pstree differs from CPython's:\n%s\n---\n%s", plain, oracle)
			}
			withArgs, code := runJSON(t, bin, tg, "pstree", "--args")
			if code != 0 {
				t.Fatalf("pstree --args: exit %d", code)
			}
			pl, al := strings.Split(string(plain), "\n"), strings.Split(string(withArgs), "\n")
			if len(pl) != len(al) {
				t.Fatalf("pstree has %d lines, pstree --args %d:\n%s", len(pl), len(al), withArgs)
			}
			for i := range pl {
				if strings.Contains(pl[i], "(T) ") || pl[i] == "" {
					if al[i] != pl[i] {
						t.Errorf("line %d: %q, want %q", i, al[i], pl[i])
					}
					continue
				}
				m := argsLabel.FindStringSubmatch(al[i])
				if m == nil || m[1]+" "+m[2]+" "+m[4] != pl[i] {
					t.Errorf("line %d: %q is not %q with arguments", i, al[i], pl[i])
				}
			}
			for _, want := range []string{
				"fetch(url='https://example.com/a', attempt=2, timeout=1.5, args=('x', 'y'), extra={'retries': 3}) ",
				"fetch(url='https://example.com/b', attempt=1, timeout=2.5, args=(), extra={}) ",
				"guarded_as(limit=600, delay=2000) ", "sleep(delay=1002, result=None) ", "wait_for(fut=<coroutine object ",
				"idle(event=<asyncio.locks.Eve...[unset, waiters:3]>, n=2) ",
			} {
				if !strings.Contains(string(withArgs), want) {
					t.Errorf("pstree --args does not show %s:\n%s", want, withArgs)
				}
			}
			doc, code := runJSON(t, bin, tg, "pstree", "--json", "--args")
			if code != 0 {
				t.Fatalf("pstree --json --args: exit %d", code)
			}
			if err := schemas.Validate(schema.PSTree, doc); err != nil {
				t.Errorf("pstree --json --args: %v", err)
			}
			if want := `"args":[{"name":"url","kind":"argument","type":"str","repr":"'https://example.com/a'"},`; !bytes.Contains(doc, []byte(want)) {
				t.Errorf("pstree --json --args does not contain %s", want)
			}
		})
	}
}

// TestLocalsCommand: aioscope locals prints a task's frames innermost first with their
// variables, every task of a name, a thread's frames; and says clearly what is wrong.
func TestLocalsCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Python processes")
	}
	bin := testtarget.Binary(t)
	for _, version := range []string{"3.14", "3.15"} {
		t.Run(version, func(t *testing.T) {
			tg, doc := startValuesTasks(t, version)
			pid := strconv.Itoa(tg.PID)
			file := testtarget.ScenarioPath("values_tasks.py")
			var fetchA uint64
			for _, task := range doc.Tasks {
				if task.Name == "fetch-a" {
					fetchA = task.ID
				}
			}
			out, stderr, code := runWithin(t, slowRunDeadline, bin, "locals", pid, "fetch-a")
			if code != 0 {
				t.Fatalf("locals fetch-a: exit %d: %s", code, stderr)
			}
			text := string(out)
			heading := fmt.Sprintf("Task %#x \"fetch-a\" (thread %d), wakes in ", fetchA, tg.PID)
			sleep, fetch := strings.Index(text, "\n    sleep ("), strings.Index(text, "\n    fetch ("+file+":")
			if !strings.HasPrefix(text, heading) || !strings.Contains(text, " s (asyncio.sleep)\n") || sleep < 0 || fetch < sleep {
				t.Errorf("locals fetch-a:\n%s", text)
			}
			for _, want := range []string{
				"        Arguments:\n            delay: 1002\n            result: None\n        Locals:\n",
				"            future: <Future pending cb=[Task.task_wakeup()]>\n",
				"        Arguments:\n            url: 'https://example.com/a'\n            attempt: 2\n            timeout: 1.5\n" +
					"            args: ('x', 'y')\n            extra: {'retries': 3}\n        Locals:\n" +
					"            item: {'id': 42, 'name': 'Ada', 'tags': ('a', 'b')}\n",
				"            point: Point(x=1, y=2.0)\n            color: <Color.RED: 1>\n",
			} {
				if !strings.Contains(text, want) {
					t.Errorf("locals fetch-a does not show\n%s\nin\n%s", want, text)
				}
			}
			byID, _, code := runWithin(t, slowRunDeadline, bin, "locals", pid, fmt.Sprintf("%#x", fetchA))
			if code != 0 || !strings.HasPrefix(string(byID), heading) {
				t.Errorf("locals by id: exit %d\n%s", code, byID)
			}
			twins, _, code := runWithin(t, slowRunDeadline, bin, "locals", pid, "twin")
			if n := strings.Count(string(twins), "\"twin\" (thread "); code != 0 || n != 2 ||
				!strings.Contains(string(twins), "            n: 1\n") || !strings.Contains(string(twins), "            n: 2\n") {
				t.Errorf("locals twin: exit %d, %d tasks\n%s", code, n, twins)
			}
			thread, _, code := runWithin(t, slowRunDeadline, bin, "locals", "--thread", pid, pid)
			if code != 0 || !strings.HasPrefix(string(thread), "Thread "+pid+" (main") || !strings.Contains(string(thread), "run_forever (") {
				t.Errorf("locals --thread: exit %d\n%s", code, thread)
			}
			for _, c := range []struct {
				args []string
				code int
				want string
			}{
				{[]string{"locals", pid, "nope"}, exitError, `has no task "nope" (its tasks include "Task-1", "fetch-a", "fetch-b", "guarded", "guarded-as" and 2 other names)`},
				{[]string{"locals", pid, "0x1"}, exitError, `has no task "0x1"`},
				{[]string{"locals", "--thread", "1", pid}, exitError, "has no Python thread 1 (its threads: " + pid + ")"},
				{[]string{"locals", pid}, exitUsage, "expected a PID and a task"},
				{[]string{"locals", "--thread", "x", pid}, exitUsage, `invalid thread id "x"`},
				{[]string{"locals", "--thread", pid, pid, "fetch-a"}, exitUsage, "expected one PID with --thread"},
				{[]string{"locals", "pid", "fetch-a"}, exitUsage, `invalid PID "pid"`},
				{[]string{"locals", "--frobnicate", pid, "x"}, exitUsage, "flag provided but not defined"},
				{[]string{"locals", strconv.Itoa(os.Getpid()), "x"}, exitError, "aioscope: "},
				{[]string{"ps", "--locals", pid}, exitUsage, "--locals needs --json"},
			} {
				out, stderr, code := runWithin(t, slowRunDeadline, bin, c.args...)
				if code != c.code || len(out) != 0 || !strings.Contains(string(stderr), c.want) ||
					strings.Count(string(stderr), "\n") != 1 {
					t.Errorf("aioscope %s: exit %d, stdout %q, stderr %q; want exit %d and one line with %q",
						strings.Join(c.args, " "), code, out, stderr, c.code, c.want)
				}
			}
		})
	}
}
