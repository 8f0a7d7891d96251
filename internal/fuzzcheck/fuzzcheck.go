// Package fuzzcheck holds what the fuzz targets of several packages share: running the code under
// test with bounds on its time and memory, keeping each target's committed seed corpus, and
// catching the errors a server logs instead of failing.
package fuzzcheck

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

// Deadline bounds one call on one input. A correct call takes well under a millisecond; the
// deadline only turns a hang into a failure, so it is generous for a loaded machine.
const Deadline = 5 * time.Second

// Fatalfer is the part of *testing.T that Bounded uses.
type Fatalfer interface {
	Helper()
	Fatalf(format string, args ...any)
}

var allocSample = []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}

// heapAllocs returns the bytes allocated on the heap so far by the whole process. Unlike
// runtime.ReadMemStats it does not stop the world, so it can run around every fuzz input.
func heapAllocs() uint64 {
	metrics.Read(allocSample)
	return allocSample[0].Value.Uint64()
}

// Bounded runs fn and fails the test if it panics, does not return within Deadline, or
// allocates more than maxAlloc bytes. The allowance covers the little the test's own goroutine
// and the fuzzing engine allocate meanwhile.
func Bounded(t Fatalfer, what string, maxAlloc uint64, fn func()) {
	t.Helper()
	type outcome struct {
		panicked any
		stack    []byte
	}
	done := make(chan outcome, 1)
	before := heapAllocs()
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- outcome{r, debug.Stack()}
			}
		}()
		fn()
		done <- outcome{}
	}()
	timer := time.NewTimer(Deadline)
	defer timer.Stop()
	select {
	case o := <-done:
		if o.panicked != nil {
			t.Fatalf("%s panicked: %v\n%s", what, o.panicked, o.stack)
		}
	case <-timer.C:
		t.Fatalf("%s did not return within %v", what, Deadline)
	}
	if n := heapAllocs() - before; n > maxAlloc {
		// The cheap counter lags: it counts a span's allocations when the span is handed back,
		// which may be during fn for objects allocated before it. Measure again exactly.
		if n = exactAllocs(fn); n > maxAlloc {
			t.Fatalf("%s allocated %d bytes, more than the bound of %d", what, n, maxAlloc)
		}
	}
}

// exactAllocs runs fn again and returns the bytes it allocated, counted exactly:
// runtime.ReadMemStats stops the world and flushes every P's cache of spans.
func exactAllocs(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// The committed seed corpus: testdata/fuzz/<target>/ of a package holds, besides inputs the
// fuzzer found worth keeping, hand-made hostile inputs written as files named seed-*. `go test`
// runs every file there as a test case. CheckCorpora checks that each fuzz target of the package
// has its directory and that the seed-* files are up to date; the package's TestFuzzCorpora
// regenerates them with go test -run TestFuzzCorpora -update-corpus.

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the seed-* files under testdata/fuzz/")

// Seed is one named, hand-made input of a fuzz target: the values of its arguments.
type Seed struct {
	Name string
	Vals []any
}

// CorpusFile encodes values in the format of Go's fuzzing corpus files.
func CorpusFile(vals ...any) []byte {
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	for _, v := range vals {
		switch v := v.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case string:
			fmt.Fprintf(&b, "string(%q)\n", v)
		case uint8:
			fmt.Fprintf(&b, "byte(%q)\n", v)
		case int, uint64, bool:
			fmt.Fprintf(&b, "%T(%v)\n", v, v)
		default:
			panic(fmt.Sprintf("CorpusFile: unsupported %T", v))
		}
	}
	return b.Bytes()
}

// CheckCorpora checks (or, with -update-corpus, writes) the seed corpus of every fuzz target of
// the package whose tests run it. targets must name every fuzz target declared in the package's
// test files.
func CheckCorpora(t *testing.T, targets map[string]func(*testing.F), seeds map[string][]Seed) {
	t.Helper()
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`(?m)^func (Fuzz\w*)\(`).FindAllSubmatch(src, -1) {
			declared[string(m[1])] = true
		}
	}
	for name := range declared {
		if targets[name] == nil {
			t.Errorf("fuzz target %s is not in the list of targets whose corpus is checked", name)
		}
	}
	for name := range targets {
		dir := filepath.Join("testdata", "fuzz", name)
		if len(seeds[name]) == 0 {
			t.Errorf("%s: no hand-made seeds", name)
		}
		for _, s := range seeds[name] {
			path := filepath.Join(dir, "seed-"+s.Name)
			want := CorpusFile(s.Vals...)
			if *updateCorpus {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s is missing or out of date (%v): regenerate with go test -run TestFuzzCorpora -update-corpus", path, err)
			}
		}
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) == 0 {
			t.Errorf("%s: no seed corpus in %s (%v)", name, dir, err)
		}
	}
}

// ClientSending returns a connection for a server to serve whose client sends input, then closes
// its end, and reads nothing: a session on it ends when the input ends. Closing the connection
// ends a write of input still pending.
func ClientSending(input []byte) io.ReadWriteCloser {
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write(input)
		pw.Close()
	}()
	return struct {
		io.Reader
		io.Writer
		io.Closer
	}{pr, io.Discard, pr}
}

// ErrorLog is a slog.Handler that keeps the messages of error-level records. A server logs a
// panic met by one of its handlers at that level and goes on serving, so a fuzz target gives
// the server an ErrorLog and fails on whatever it kept.
type ErrorLog struct {
	mu   sync.Mutex
	errs []string
}

func (h *ErrorLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelError }
func (h *ErrorLog) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool { msg += " " + a.String(); return true })
	h.errs = append(h.errs, msg)
	return nil
}
func (h *ErrorLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *ErrorLog) WithGroup(string) slog.Handler      { return h }

// Report fails the test once for every error-level record kept.
func (h *ErrorLog) Report(t interface{ Errorf(string, ...any) }) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.errs {
		t.Errorf("logged: %s", e)
	}
}
