package values_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/inspector/values"
	"github.com/aioscope/aioscope/internal/testtarget"
)

// The live tests start scenario programs that print, for each value they hold, its id() (its
// address) and repr(), and compare the reader's rendering of that address with it.

var versions = []string{"3.14", "3.15"}

// procMemory adapts the inspector's process memory to values.Memory. Every read gets a buffer
// of its own: requests of one Reader may run at the same time (TestConcurrentRequests), and a
// shared buffer would be overwritten under another request's feet.
type procMemory struct {
	mu    sync.Mutex
	m     inspector.Memory
	reads int
}

func (p *procMemory) Read(addr uint64, n int) ([]byte, error) {
	p.mu.Lock()
	p.reads++
	p.mu.Unlock()
	b := make([]byte, n)
	if err := p.m.ReadAt(b, addr); err != nil {
		return nil, err
	}
	return b, nil
}

// exactLimits lift the limits that would cut the corpus's reprs; long strings keep the default
// MaxStrLen, which the corpus's expected texts follow.
func exactLimits() values.Limits {
	return values.Limits{MaxDepth: 100, MaxItems: 1 << 20, MaxReprLen: 1 << 24, MaxChildren: 1 << 20}
}

type target struct {
	tg     *testtarget.Target
	proc   *inspector.Process
	mem    values.Memory
	reader *values.Reader
}

// startTarget runs a values scenario that writes its JSON to a file given as its first
// argument, and attaches a reader to it.
func startTarget(t testing.TB, version, scenario string, lim values.Limits, out any) *target {
	t.Helper()
	path := filepath.Join(t.TempDir(), "values.json")
	tg := testtarget.Start(t, version, scenario, path)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	p, err := inspector.Attach(tg.PID, inspector.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mem := &procMemory{m: inspector.NewProcessMemory(tg.PID)}
	clock, err := values.TargetClock("/proc", tg.PID)
	if err != nil {
		t.Fatal(err)
	}
	r, err := values.New(mem, values.Config{Offsets: p.Offsets(), RuntimeAddr: p.RuntimeAddr(), Limits: lim, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return &target{tg: tg, proc: p, mem: mem, reader: r}
}

type corpusEntry struct {
	Group string `json:"group"`
	ID    uint64 `json:"id"`
	Repr  string `json:"repr"`
	Exact bool   `json:"exact"`
}

type corpus struct {
	Values  []corpusEntry `json:"values"`
	BigDict struct {
		ID    uint64               `json:"id"`
		Len   int                  `json:"len"`
		Pages [][2]json.RawMessage `json:"pages"`
	} `json:"bigdict"`
	DelDict struct {
		ID   uint64             `json:"id"`
		Len  int                `json:"len"`
		Page [2]json.RawMessage `json:"page"`
	} `json:"deldict"`
}

// counts tallies checks per group, for the log.
type counts map[string]int

func (c counts) String() string {
	var keys []string
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + strconv.Itoa(c[k]) + " ")
	}
	return strings.TrimSpace(b.String())
}

// checkReprs compares the reader's rendering of each value with the repr() and exactness the
// target gave, and counts the values rendered as repr() does, per group.
func checkReprs(t *testing.T, r *values.Reader, want []corpusEntry) counts {
	t.Helper()
	n := counts{}
	for _, e := range want {
		got, err := r.Value(e.ID)
		if err != nil {
			t.Errorf("%s %s: %v", e.Group, e.Repr, err)
			continue
		}
		if got.Repr != e.Repr || got.Exact != e.Exact {
			t.Errorf("%s value at %#x:\n got  %q (exact %v)\n want %q (exact %v)", e.Group, e.ID, got.Repr, got.Exact, e.Repr, e.Exact)
			continue
		}
		n[e.Group]++
	}
	return n
}

func TestCorpusReprs(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			var c corpus
			tgt := startTarget(t, v, "values_corpus.py", exactLimits(), &c)
			if len(c.Values) < 400 {
				t.Fatalf("corpus of %d values", len(c.Values))
			}
			n := checkReprs(t, tgt.reader, c.Values)
			t.Logf("Python %s: %d values rendered as repr() does: %v", v, len(c.Values), n)
		})
	}
}

func TestBigDictPaging(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			var c corpus
			tgt := startTarget(t, v, "values_corpus.py", values.Limits{}, &c)
			val, err := tgt.reader.Value(c.BigDict.ID)
			if err != nil {
				t.Fatal(err)
			}
			if val.Len != c.BigDict.Len || val.Ref == 0 || !val.Truncated || !strings.HasSuffix(val.Repr, ", ...}") {
				t.Errorf("big dict: len %d ref %#x truncated %v, repr ends %q", val.Len, val.Ref, val.Truncated, val.Repr[max(0, len(val.Repr)-20):])
			}
			checkPage := func(ref values.Ref, raw [2]json.RawMessage) {
				t.Helper()
				var start int
				var want [][2]string
				if err := json.Unmarshal(raw[0], &start); err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(raw[1], &want); err != nil {
					t.Fatal(err)
				}
				kids, err := tgt.reader.Children(ref, start, len(want)+5)
				if err != nil {
					t.Fatal(err)
				}
				if len(kids) > len(want) && start+len(want) < 100000 && len(kids) != len(want)+5 {
					t.Errorf("page at %d: %d children", start, len(kids))
				}
				for i, w := range want {
					if i >= len(kids) || kids[i].Name != w[0] || kids[i].Repr != w[1] || kids[i].Err != nil {
						t.Fatalf("page at %d, item %d: got %+v, want %q: %q", start, i, kids[min(i, len(kids)-1)], w[0], w[1])
					}
				}
			}
			for _, p := range c.BigDict.Pages {
				checkPage(val.Ref, p)
			}
			dv, err := tgt.reader.Value(c.DelDict.ID)
			if err != nil {
				t.Fatal(err)
			}
			if dv.Len != c.DelDict.Len {
				t.Errorf("dict with deleted entries: len %d, want %d", dv.Len, c.DelDict.Len)
			}
			checkPage(dv.Ref, c.DelDict.Page)
		})
	}
}

func TestErrorsOnNonObjects(t *testing.T) {
	var c corpus
	tgt := startTarget(t, "3.14", "values_corpus.py", values.Limits{}, &c)
	// _PyRuntime starts with the debug offsets' cookie and version, not an object header.
	var ce *values.ChangedError
	if v, err := tgt.reader.Value(tgt.proc.RuntimeAddr()); !errors.As(err, &ce) {
		t.Errorf("Value(_PyRuntime) = %+v, %v; want a ChangedError", v, err)
	}
	if _, err := tgt.reader.Value(0); !errors.As(err, &ce) {
		t.Errorf("Value(0): %v", err)
	}
	if _, err := tgt.reader.Value(0x1000); err == nil || errors.As(err, &ce) {
		t.Errorf("Value of unmapped memory: %v; want the read error", err)
	}
	if _, err := tgt.reader.Children(0, 0, 10); !errors.Is(err, values.ErrNotExpandable) {
		t.Errorf("Children(0): %v", err)
	}
	// An int has no children.
	for _, e := range c.Values {
		if e.Group == "int" {
			if _, err := tgt.reader.Children(values.Ref(e.ID), 0, 10); !errors.Is(err, values.ErrNotExpandable) {
				t.Errorf("Children(int): %v", err)
			}
			break
		}
	}
}

type asyncioDoc struct {
	Values []corpusEntry `json:"values"`
	Timers []struct {
		ID   uint64  `json:"id"`
		When float64 `json:"when"`
		Now  float64 `json:"now"`
	} `json:"timers"`
	Tasks []struct {
		ID         uint64 `json:"id"`
		Name       string `json:"name"`
		State      string `json:"state"`
		Cancelling int    `json:"cancelling"`
		WaitFor    uint64 `json:"wait_for"`
	} `json:"tasks"`
}

func TestAsyncioReprs(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			var doc asyncioDoc
			tgt := startTarget(t, v, "values_asyncio.py", exactLimits(), &doc)
			n := checkReprs(t, tgt.reader, doc.Values)
			t.Logf("Python %s: %d asyncio objects rendered as repr() does: %v", v, len(doc.Values), n)
		})
	}
}

func TestAsyncioStateAndDeadlines(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			var doc asyncioDoc
			tgt := startTarget(t, v, "values_asyncio.py", values.Limits{}, &doc)
			for _, tm := range doc.Timers {
				left, ok, err := tgt.reader.TimeLeft(values.Ref(tm.ID))
				if err != nil || !ok {
					t.Fatalf("TimeLeft(%#x): %v %v", tm.ID, ok, err)
				}
				// The test reads a little after the scenario noted the loop time.
				if want := tm.When - tm.Now; left > want+0.01 || left < want-60 {
					t.Errorf("TimeLeft(%#x) = %.3f s, want about %.3f s", tm.ID, left, want)
				}
				kids, err := tgt.reader.Children(values.Ref(tm.ID), 0, 100)
				if err != nil {
					t.Fatal(err)
				}
				if last := kids[len(kids)-1]; last.Name != "seconds left" || last.Type != "float" {
					t.Errorf("children of a timer end with %+v", last)
				}
			}
			if len(doc.Timers) < 4 {
				t.Fatalf("%d timers", len(doc.Timers))
			}
			for _, task := range doc.Tasks {
				kids, err := tgt.reader.Children(values.Ref(task.ID), 0, 100)
				if err != nil {
					t.Fatal(err)
				}
				byName := map[string]values.Child{}
				for _, k := range kids {
					byName[k.Name] = k
				}
				if byName["name"].Repr != task.Name || byName["state"].Repr != "'"+task.State+"'" ||
					byName["cancelling"].Repr != strconv.Itoa(task.Cancelling) || byName["wait_for"].Addr != task.WaitFor ||
					byName["coro"].Type != "coroutine" {
					t.Errorf("task %s: children %+v", task.Name, kids)
				}
			}
		})
	}
}

// TestTimeNamespace runs the asyncio scenario in its own time namespace, its CLOCK_MONOTONIC
// 100,000 s ahead of the test's, as in a container with its own clocks: the time left on its
// timers must still be right.
func TestTimeNamespace(t *testing.T) {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		testtarget.Unavailable(t, "unshare(1) is needed: %v", err)
	}
	argv := []string{"--user", "--map-root-user", "--time", "--monotonic", "100000"}
	if out, err := exec.Command(unshare, append(argv, "true")...).CombinedOutput(); err != nil {
		testtarget.Unavailable(t, "cannot make a time namespace: %v: %s", err, out)
	}
	py := testtarget.Python(t, "3.14")
	path := filepath.Join(t.TempDir(), "values.json")
	tg := testtarget.StartCommand(t, "3.14", nil, unshare, append(argv, py, "-B", "-E", "-s",
		testtarget.ScenarioPath("values_asyncio.py"), path)...)
	var doc asyncioDoc
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	p, err := inspector.Attach(tg.PID, inspector.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clock, err := values.TargetClock("/proc", tg.PID)
	if err != nil {
		t.Fatal(err)
	}
	now, err := clock()
	if err != nil {
		t.Fatal(err)
	}
	if doc.Timers[0].Now < 100000 || now < doc.Timers[0].Now || now > doc.Timers[0].Now+60 {
		t.Fatalf("the target's loop time was %.3f, its clock read from outside %.3f", doc.Timers[0].Now, now)
	}
	r, err := values.New(&procMemory{m: inspector.NewProcessMemory(tg.PID)}, values.Config{Offsets: p.Offsets(), RuntimeAddr: p.RuntimeAddr(), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range doc.Timers {
		left, ok, err := r.TimeLeft(values.Ref(tm.ID))
		if want := tm.When - tm.Now; err != nil || !ok || left > want+0.01 || left < want-60 {
			t.Errorf("TimeLeft(%#x) = %.3f s %v %v, want about %.3f s", tm.ID, left, ok, err, want)
		}
	}
}

// TestLimits checks the cut-off markers on values of the corpus.
func TestLimits(t *testing.T) {
	var c corpus
	tgt := startTarget(t, "3.15", "values_corpus.py", values.Limits{MaxItems: 3, MaxDepth: 3}, &c)
	byRepr := map[string]uint64{}
	for _, e := range c.Values {
		byRepr[e.Repr] = e.ID
	}
	find := func(prefix string) uint64 {
		for r, id := range byRepr {
			if strings.HasPrefix(r, prefix) {
				return id
			}
		}
		t.Fatalf("no corpus value starting with %q", prefix)
		return 0
	}
	for _, tc := range []struct{ prefix, want string }{
		{"[0, 1, 2, 3, 4,", "[0, 1, 2, ...]"},
		{"{0: '0', 1: '1',", "{0: '0', 1: '1', 2: '2', ...}"},
		{"{0, 1, 2, 3,", "{0, 1, 2, ...}"},
		{"[[[[[[[[[[[1]]]]]]]]]]]", "[[[<list of 1 item>]]]"},
		{"deque([130, 131,", "deque([130, 131, 132, ...], maxlen=300)"},
		{"{'nested': {'deep': (1, 2.5, [b'x', frozenset({3})])}}", "{'nested': {'deep': (1, 2.5, <list of 2 items>)}}"},
	} {
		v, err := tgt.reader.Value(find(tc.prefix))
		if err != nil || v.Repr != tc.want || !v.Truncated {
			t.Errorf("%s...: %q %v (truncated %v), want %q", tc.prefix, v.Repr, err, v.Truncated, tc.want)
		}
	}
	small := startTarget(t, "3.14", "values_corpus.py", values.Limits{MaxReprLen: 40}, &c)
	v, err := small.reader.Value(c.BigDict.ID)
	if err != nil || len(v.Repr) > 4*40 || !strings.HasSuffix(v.Repr, ", ...}") || !v.Truncated {
		t.Errorf("MaxReprLen 40: %q %v", v.Repr, err)
	}
	hurried := startTarget(t, "3.14", "values_corpus.py", values.Limits{Budget: time.Nanosecond, MaxItems: 1 << 20}, &c)
	v, err = hurried.reader.Value(c.BigDict.ID)
	if err == nil && (!v.Truncated || len(v.Repr) > 1<<16) {
		t.Errorf("a dict of 100,000 items in 1 ns: %d bytes, truncated %v", len(v.Repr), v.Truncated)
	}
}

// TestConcurrentRequests shares one Reader between goroutines (run with -race to check it).
func TestConcurrentRequests(t *testing.T) {
	var c corpus
	tgt := startTarget(t, "3.15", "values_corpus.py", exactLimits(), &c)
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, e := range c.Values[g*40 : g*40+80] {
				got, err := tgt.reader.Value(e.ID)
				if err != nil || got.Repr != e.Repr {
					errs <- fmt.Sprintf("%#x: %q %v, want %q", e.ID, got.Repr, err, e.Repr)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestInstanceChildren checks the attributes objects expand into.
func TestInstanceChildren(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			var c corpus
			tgt := startTarget(t, v, "values_corpus.py", values.Limits{}, &c)
			find := func(prefix string) values.Value {
				t.Helper()
				for _, e := range c.Values {
					if strings.HasPrefix(e.Repr, prefix) {
						val, err := tgt.reader.Value(e.ID)
						if err != nil {
							t.Fatal(err)
						}
						return val
					}
				}
				t.Fatalf("no corpus value starting with %q", prefix)
				return values.Value{}
			}
			for _, tc := range []struct {
				prefix string
				want   []string // name=repr
			}{
				{"<__main__.Plain object", []string{"p=1", "q='two'"}},
				{"<__main__.Slots2 object", []string{"c='see'", "a=1"}},
				{"<__main__.SlotsDict object", []string{"x=5", "a=1"}},
				{"<__main__.Many object", []string{"a0=0", "a1=1", "a2=2"}},
				{"MyError('x')", []string{"args=('x',)"}},
				{"Point(x=1, y=2.5)", []string{"x=1", "y=2.5"}},
				{"SlotPoint(a=5, b=[1])", []string{"a=5", "b=[1]"}},
				{"<Color.RED: 1>", []string{"_value_=1", "_name_='RED'"}},
				{"{'a': 1, 2: [3]}", []string{"'a'=1", "2=[3]"}},
				{"(1, 'a', None)", []string{"0=1", "1='a'", "2=None"}},
			} {
				val := find(tc.prefix)
				kids, err := tgt.reader.Children(val.Ref, 0, len(tc.want))
				if err != nil {
					t.Fatalf("%s: %v", tc.prefix, err)
				}
				var got []string
				for _, k := range kids {
					got = append(got, k.Name+"="+k.Repr)
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("children of %s: %q, want %q", tc.prefix, got, tc.want)
				}
			}
			// The error with an attribute has it after its args.
			for _, e := range c.Values {
				if e.Repr == "MyError('x')" {
					kids, _ := tgt.reader.Children(values.Ref(e.ID), 0, 10)
					if len(kids) == 2 && kids[1].Name == "note" && kids[1].Repr == "1" {
						return
					}
				}
			}
			t.Error("no MyError with its note attribute among the children")
		})
	}
}

// TestTypeVersionTag checks the offset of tp_version_tag, which tells the reader a class is the
// one it read before, against CPython's own view of it (_testcapi.type_get_version): classes
// with a tag, and one without (0) that nothing has looked an attribute up on.
func TestTypeVersionTag(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			var doc struct {
				TypeVersions [][2]uint64 `json:"type_versions"`
			}
			tgt := startTarget(t, v, "values_tasks.py", values.Limits{}, &doc)
			if len(doc.TypeVersions) == 0 {
				testtarget.Unavailable(t, "the target's CPython has no _testcapi to read type versions with")
			}
			zero, nonzero := 0, 0
			for _, tv := range doc.TypeVersions {
				got, err := values.TypeVersionTag(tgt.reader, tv[0])
				if err != nil || uint64(got) != tv[1] {
					t.Errorf("type at %#x: version %d, %v; want %d", tv[0], got, err, tv[1])
				}
				if tv[1] == 0 {
					zero++
				} else {
					nonzero++
				}
			}
			if zero == 0 || nonzero < 4 {
				t.Errorf("%d classes without a version, %d with: the check shows little", zero, nonzero)
			}
		})
	}
}
