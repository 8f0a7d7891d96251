package values_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/inspector/values"
	"github.com/aioscope/aioscope/internal/testtarget"
)

// The live tests start scenario programs that print, for each value they hold, its id() (its
// address) and repr(), and compare the reader's rendering of that address with it.

var versions = []string{"3.14", "3.15"}

// procMemory adapts the inspector's process memory to values.Memory.
type procMemory struct {
	mu  sync.Mutex
	m   inspector.Memory
	buf []byte
}

func (p *procMemory) Read(addr uint64, n int) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cap(p.buf) < n {
		p.buf = make([]byte, n)
	}
	b := p.buf[:n]
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
		ID    uint64                `json:"id"`
		Len   int                   `json:"len"`
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

func TestCorpusReprs(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			var c corpus
			tgt := startTarget(t, v, "values_corpus.py", exactLimits(), &c)
			if len(c.Values) < 400 {
				t.Fatalf("corpus of %d values", len(c.Values))
			}
			n := counts{}
			for _, e := range c.Values {
				got, err := tgt.reader.Value(e.ID)
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
