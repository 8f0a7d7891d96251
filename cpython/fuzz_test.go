package cpython

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The fuzz targets feed arbitrary bytes to every decoder that sees target memory. Their seeds
// are the real vectors, so mutations start from valid structures, and the hostile inputs kept
// under testdata/fuzz/<target>/. Each runs the code under test through bounded, which fails on
// a panic, on a call that does not return in time and on one that allocates more than a bound
// proportional to its input; besides, each checks a property that must hold for any accepted
// input.

// fuzzDeadline bounds one call on one input. A correct call takes microseconds; the deadline
// only turns a hang into a failure, so it is generous for a loaded machine.
const fuzzDeadline = 5 * time.Second

// allocBound is the most a decoder may allocate for an input of n bytes: a fixed allowance and
// a small multiple of the input (a string decoded from UCS-1 can take twice its bytes in UTF-8).
func allocBound(n int) uint64 { return 64<<10 + 8*uint64(n) }

var allocSample = []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}

// heapAllocs returns the bytes allocated on the heap so far by the whole process. Unlike
// runtime.ReadMemStats it does not stop the world, so it can run around every fuzz input.
func heapAllocs() uint64 {
	metrics.Read(allocSample)
	return allocSample[0].Value.Uint64()
}

// bounded runs fn and fails the test if it panics, does not return within fuzzDeadline, or
// allocates more than maxAlloc bytes. The allowance covers the little the test's own goroutine
// and the fuzzing engine allocate meanwhile.
func bounded(t fatalfer, what string, maxAlloc uint64, fn func()) {
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
	timer := time.NewTimer(fuzzDeadline)
	defer timer.Stop()
	select {
	case o := <-done:
		if o.panicked != nil {
			t.Fatalf("%s panicked: %v\n%s", what, o.panicked, o.stack)
		}
	case <-timer.C:
		t.Fatalf("%s did not return within %v", what, fuzzDeadline)
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

// fatalfer is the part of *testing.T that bounded uses.
type fatalfer interface {
	Helper()
	Fatalf(format string, args ...any)
}

// recordingT records failures instead of ending the test.
type recordingT struct{ failures []string }

func (r *recordingT) Helper() {}
func (r *recordingT) Fatalf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

var sink []byte

// TestBounded checks that bounded notices what it is there to notice.
func TestBounded(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		fn         func()
	}{
		{"a panic", "panicked: boom", func() { panic("boom") }},
		{"an allocation", "allocated", func() { sink = make([]byte, 1<<20) }},
	} {
		r := &recordingT{}
		bounded(r, tc.name, 64<<10, tc.fn)
		if len(r.failures) == 0 || !strings.Contains(r.failures[0], tc.want) {
			t.Errorf("bounded on %s: %q, want a failure mentioning %q", tc.name, r.failures, tc.want)
		}
	}
	r := &recordingT{}
	bounded(r, "a small call", 64<<10, func() { sink = make([]byte, 100) })
	if len(r.failures) != 0 {
		t.Errorf("bounded failed a small call: %q", r.failures)
	}
}

func FuzzParseDebugOffsets(f *testing.F) {
	for _, v := range []string{"3.13.18", "3.14.10", "3.15.2"} {
		f.Add(pyRuntimeBytes(f, v))
	}
	f.Add([]byte(Cookie))
	f.Fuzz(func(t *testing.T, b []byte) {
		var d *DebugOffsets
		var err error
		bounded(t, "ParseDebugOffsets", allocBound(len(b)), func() {
			d, err = ParseDebugOffsets(b)
			if err == nil {
				_ = d.Layout()
				_ = d.Fields()
			}
		})
		if err != nil {
			if d != nil {
				t.Fatal("table returned with an error")
			}
			return
		}
		if CheckSupported(d.Version) != nil || d.FreeThreaded {
			t.Fatalf("accepted %s free_threaded=%v", d.Version, d.FreeThreaded)
		}
		// Every offset a reader dereferences stays inside its (capped) struct.
		if d.CodeObject.FirstLineNo+4 > d.CodeObject.Size || d.CodeObject.Size > MaxObjectSize {
			t.Fatalf("code_object.firstlineno %d escapes size %d", d.CodeObject.FirstLineNo, d.CodeObject.Size)
		}
		if d.GenObject.GiIframe+d.InterpreterFrame.Size > d.GenObject.Size {
			t.Fatal("embedded frame escapes the generator")
		}
		if d.UnicodeDataOffset(false) >= d.UnicodeObject.Size || d.UnicodeDataOffset(true) >= d.UnicodeObject.Size {
			t.Fatal("string data offset escapes the object")
		}
		if d.ThreadState.NativeThreadID%8 != 0 || d.ThreadState.NativeThreadID+8 > d.ThreadState.Size {
			t.Fatal("native_thread_id misplaced")
		}
	})
}

func FuzzParseAsyncioOffsets(f *testing.F) {
	f.Add(asyncioDebugBytes(f, "3.14.10"), false)
	f.Add(asyncioDebugBytes(f, "3.15.2"), true)
	f.Add(asyncioDebugBytes(f, "3.14.10"), true)
	d14 := realOffsets(f, "3.14.10")
	d15 := realOffsets(f, "3.15.2")
	f.Fuzz(func(t *testing.T, b []byte, use315 bool) {
		d := d14
		if use315 {
			d = d15
		}
		var a *AsyncioOffsets
		var err error
		bounded(t, "ParseAsyncioOffsets", allocBound(len(b)), func() { a, err = ParseAsyncioOffsets(b, d) })
		if err != nil {
			return
		}
		tk := a.TaskObject
		if tk.Size > MaxTaskObjectSize || tk.TaskNode+16 > tk.Size || tk.TaskIsTask >= tk.Size ||
			tk.TaskAwaitedByIsSet >= tk.Size || tk.TaskCoro+8 > tk.Size || tk.TaskName+8 > tk.Size {
			t.Fatalf("task offsets escape the task: %+v", tk)
		}
		if a.InterpreterState.Size != d.InterpreterState.Size || a.ThreadState.AsyncioTasksHead+16 > a.ThreadState.Size {
			t.Fatalf("state offsets inconsistent: %+v", a)
		}
	})
}

func FuzzFindLocation(f *testing.F) {
	for _, v := range realVersions() {
		for _, lt := range readVectors(f, v).Linetables {
			f.Add([]byte(lt.Linetable), lt.FirstLineNo, lt.CodeUnits/2)
		}
	}
	f.Add([]byte{}, 1, 0)
	f.Add([]byte{0xe8, 0x40, 0x40, 0x40, 0x40, 0x40, 0x01}, 0, 0)
	f.Fuzz(func(t *testing.T, table []byte, firstLine int, addrq int) {
		var loc, loc2 Location
		var ok, ok2 bool
		longer := append(table[:len(table):len(table)], 0xff, 0x00)
		bounded(t, "FindLocation", allocBound(len(table)), func() {
			loc, ok = FindLocation(table, firstLine, addrq)
			// Appending bytes never changes an answer already found.
			loc2, ok2 = FindLocation(longer, firstLine, addrq)
		})
		if !ok {
			return
		}
		if addrq < 0 || addrq >= 8*len(table) {
			t.Fatalf("unit %d found in a %d-byte table", addrq, len(table))
		}
		if !ok2 || loc2 != loc {
			t.Fatalf("appending changed %+v to %+v, %v", loc, loc2, ok2)
		}
	})
}

func FuzzDecodeUnicode(f *testing.F) {
	for _, v := range realVersions() {
		d := realOffsets(f, v)
		for _, sv := range readVectors(f, v).Strings {
			st := ParseUnicodeState(binary.LittleEndian.Uint32(sv.Raw[d.UnicodeObject.State:]))
			f.Add(st.Kind, []byte(sv.Raw[d.UnicodeDataOffset(st.ASCII):]))
		}
	}
	f.Add(3, []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, kind int, data []byte) {
		var s string
		var err error
		bounded(t, "DecodeUnicode", allocBound(len(data)), func() { s, err = DecodeUnicode(kind, data) })
		if err != nil {
			return
		}
		if !utf8.ValidString(s) {
			t.Fatalf("invalid UTF-8 %q", s)
		}
		if n := utf8.RuneCountInString(s); n != len(data)/kind {
			t.Fatalf("%d code points from %d bytes of kind %d", n, len(data), kind)
		}
	})
}

func FuzzDecodeLong(f *testing.F) {
	for _, v := range realVersions() {
		d := realOffsets(f, v)
		for _, lv := range readVectors(f, v).Longs {
			f.Add(binary.LittleEndian.Uint64(lv.Raw[d.LongObject.LvTag:]), []byte(lv.Raw[d.LongObject.ObDigit:]), 64)
		}
	}
	f.Fuzz(func(t *testing.T, tag uint64, digits []byte, maxDigits int) {
		var got int64
		var err error
		bounded(t, "DecodeLong", allocBound(len(digits)), func() { got, err = DecodeLong(tag, digits, maxDigits) })
		// Compare against arbitrary-precision arithmetic.
		n := tag >> 3
		sign := tag & 3
		valid := maxDigits >= 0 && n <= uint64(maxDigits) && sign != 3 && uint64(len(digits)) >= 4*n
		want := new(big.Int)
		for i := int(n) - 1; valid && i >= 0; i-- {
			dg := binary.LittleEndian.Uint32(digits[4*i:])
			if dg >= 1<<30 {
				valid = false
			}
			want.Lsh(want, 30).Or(want, big.NewInt(int64(dg)))
		}
		if valid && sign == 1 && want.Sign() != 0 {
			valid = false
		}
		if valid && sign == 2 {
			want.Neg(want)
		}
		if valid && !want.IsInt64() {
			valid = false
		}
		if valid != (err == nil) {
			t.Fatalf("DecodeLong(%#x, %x, %d) = %d, %v; big.Int says valid=%v (%s)", tag, digits, maxDigits, got, err, valid, want)
		}
		if valid && got != want.Int64() {
			t.Fatalf("DecodeLong(%#x, %x) = %d, want %s", tag, digits, got, want)
		}
	})
}

// The committed seed corpus: testdata/fuzz/<target>/ holds, besides inputs the fuzzer found
// worth keeping, the hand-made hostile inputs below, written as files named seed-*. `go test`
// runs every file there as a test case. TestFuzzCorpora checks that each fuzz target of the
// package has its directory and that the seed-* files are the ones below; regenerate them with
// go test -run TestFuzzCorpora -update-corpus.

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the seed-* files under testdata/fuzz/")

// corpusSeed is one named input of a fuzz target.
type corpusSeed struct {
	name string
	vals []any
}

// corpusFile encodes values in the format of Go's fuzzing corpus files.
func corpusFile(vals ...any) []byte {
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
			panic(fmt.Sprintf("corpusFile: unsupported %T", v))
		}
	}
	return b.Bytes()
}

// checkCorpora checks (or, with -update-corpus, writes) the seed corpus of every fuzz target of
// the package. targets must name every fuzz target declared in the package's test files.
func checkCorpora(t *testing.T, targets map[string]func(*testing.F), seeds map[string][]corpusSeed) {
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
			path := filepath.Join(dir, "seed-"+s.name)
			want := corpusFile(s.vals...)
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

func TestFuzzCorpora(t *testing.T) {
	real14, real15 := pyRuntimeBytes(t, "3.14.10"), pyRuntimeBytes(t, "3.15.2")
	a14, a15 := asyncioDebugBytes(t, "3.14.10"), asyncioDebugBytes(t, "3.15.2")
	ff := func(n int) []byte { return bytes.Repeat([]byte{0xff}, n) }
	u32s := func(vs ...uint32) []byte {
		b := make([]byte, 4*len(vs))
		for i, v := range vs {
			binary.LittleEndian.PutUint32(b[4*i:], v)
		}
		return b
	}
	u16s := func(vs ...uint16) []byte {
		b := make([]byte, 2*len(vs))
		for i, v := range vs {
			binary.LittleEndian.PutUint16(b[2*i:], v)
		}
		return b
	}
	// A long-form location entry (code 14, one code unit) whose first varint never ends.
	endlessVarint := append([]byte{0x80 | locLong<<3}, bytes.Repeat([]byte{0x7f}, 4096)...)
	// A no-column entry whose line delta is the largest a 5-byte varint holds, many times over:
	// the running line number must not overflow into a valid-looking answer.
	bigDelta := bytes.Repeat([]byte{0x80 | locNoColumns<<3, 0x7e, 0x7f, 0x7f, 0x7f, 0x3f}, 512)
	seeds := map[string][]corpusSeed{
		"FuzzParseDebugOffsets": {
			{"huge-interpreter-size", []any{withEntry(t, real14, 14, "interpreter_state.size", 1<<63)}},
			{"overflowing-offset", []any{withEntry(t, real15, 15, "code_object.filename", 1<<64-8)}},
			{"version-3.16", []any{withEntry(t, real15, 15, "version", 0x031000f0)}},
			{"free-threaded", []any{withEntry(t, real14, 14, "free_threaded", 1)}},
			{"truncated-header", []any{real15[:20]}},
			{"cookie-then-ff", []any{append([]byte(Cookie), ff(880)...)}},
		},
		"FuzzParseAsyncioOffsets": {
			{"all-ff", []any{ff(104), true}},
			{"huge-task-size", []any{withAsyncioEntry(a14, 0, 1<<63), false}},
			{"node-past-task", []any{withAsyncioEntry(a15, 1, 1<<64-8), true}},
			{"short", []any{a15[:50], true}},
		},
		"FuzzFindLocation": {
			{"endless-varint", []any{endlessVarint, 1, 0}},
			{"huge-line-deltas", []any{bigDelta, 1 << 62, 511}},
			{"max-first-line", []any{[]byte{0xe8, 0x40, 0x40, 0x40, 0x40, 0x40, 0x01}, int(^uint(0) >> 1), 0}},
			{"max-addrq", []any{ff(64), 1, int(^uint(0) >> 1)}},
			{"negative-addrq", []any{[]byte{0xe8, 0x00}, 1, -1}},
		},
		"FuzzDecodeUnicode": {
			{"ucs4-beyond-unicode", []any{4, u32s(0x110000, 0xffffffff, 0x7fffffff, 0x41)}},
			{"ucs4-surrogates", []any{4, u32s(0xd800, 0xdfff, 0xdbff, 0xdc00)}},
			{"ucs2-lone-surrogates", []any{2, u16s(0xd800, 0x41, 0xdc00, 0xffff)}},
			{"ucs2-odd-length", []any{2, []byte{0x41, 0x00, 0x42}}},
			{"latin1-high", []any{1, []byte("\x80\xff\x00\xe9")}},
			{"kind-3", []any{3, []byte{1, 2, 3}}},
			{"kind-0", []any{0, []byte{}}},
			{"kind-negative", []any{-4, []byte{1, 2, 3, 4}}},
		},
		"FuzzDecodeLong": {
			{"all-bits-tag", []any{^uint64(0), []byte{}, int(^uint(0) >> 1)}},
			{"huge-count", []any{uint64(1<<61-1) << 3, ff(64), int(^uint(0) >> 1)}},
			{"overflow-int64", []any{uint64(3<<3 | 2), u32s(1<<30-1, 1<<30-1, 1<<30-1), 8}},
			{"min-int64", []any{uint64(3<<3 | 2), u32s(0, 0, 8), 8}},
			{"digit-too-big", []any{uint64(1 << 3), u32s(1 << 30), 8}},
			{"negative-max", []any{uint64(0), []byte{}, -1}},
			{"zero-with-digits", []any{uint64(1<<3 | 1), u32s(5), 8}},
		},
	}
	checkCorpora(t, map[string]func(*testing.F){
		"FuzzParseDebugOffsets":   FuzzParseDebugOffsets,
		"FuzzParseAsyncioOffsets": FuzzParseAsyncioOffsets,
		"FuzzFindLocation":        FuzzFindLocation,
		"FuzzDecodeUnicode":       FuzzDecodeUnicode,
		"FuzzDecodeLong":          FuzzDecodeLong,
	}, seeds)
}
