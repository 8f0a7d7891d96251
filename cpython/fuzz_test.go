package cpython

import (
	"bytes"
	"encoding/binary"
	"math/big"
	"testing"
	"unicode/utf8"

	"github.com/aioscope/aioscope/internal/fuzzcheck"
)

// The fuzz targets feed arbitrary bytes to every decoder that sees target memory. Their seeds
// are the real vectors, so mutations start from valid structures, and the hostile inputs kept
// under testdata/fuzz/<target>/. Each runs the code under test through bounded, which fails on
// a panic, on a call that does not return in time and on one that allocates more than a bound
// proportional to its input; besides, each checks a property that must hold for any accepted
// input.

// allocBound is the most a decoder may allocate for an input of n bytes: a fixed allowance and
// a small multiple of the input (a string decoded from UCS-1 can take twice its bytes in UTF-8).
func allocBound(n int) uint64 { return 64<<10 + 8*uint64(n) }

func FuzzParseDebugOffsets(f *testing.F) {
	for _, v := range []string{"3.13.18", "3.14.10", "3.15.2"} {
		f.Add(pyRuntimeBytes(f, v))
	}
	f.Add([]byte(Cookie))
	f.Fuzz(func(t *testing.T, b []byte) {
		var d *DebugOffsets
		var err error
		fuzzcheck.Bounded(t, "ParseDebugOffsets", allocBound(len(b)), func() {
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
		fuzzcheck.Bounded(t, "ParseAsyncioOffsets", allocBound(len(b)), func() { a, err = ParseAsyncioOffsets(b, d) })
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
		fuzzcheck.Bounded(t, "FindLocation", allocBound(len(table)), func() {
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
		fuzzcheck.Bounded(t, "DecodeUnicode", allocBound(len(data)), func() { s, err = DecodeUnicode(kind, data) })
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
		fuzzcheck.Bounded(t, "DecodeLong", allocBound(len(digits)), func() { got, err = DecodeLong(tag, digits, maxDigits) })
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
	seeds := map[string][]fuzzcheck.Seed{
		"FuzzParseDebugOffsets": {
			{Name: "huge-interpreter-size", Vals: []any{withEntry(t, real14, 14, "interpreter_state.size", 1<<63)}},
			{Name: "overflowing-offset", Vals: []any{withEntry(t, real15, 15, "code_object.filename", 1<<64-8)}},
			{Name: "version-3.16", Vals: []any{withEntry(t, real15, 15, "version", 0x031000f0)}},
			{Name: "free-threaded", Vals: []any{withEntry(t, real14, 14, "free_threaded", 1)}},
			{Name: "truncated-header", Vals: []any{real15[:20]}},
			{Name: "cookie-then-ff", Vals: []any{append([]byte(Cookie), ff(880)...)}},
		},
		"FuzzParseAsyncioOffsets": {
			{Name: "all-ff", Vals: []any{ff(104), true}},
			{Name: "huge-task-size", Vals: []any{withAsyncioEntry(a14, 0, 1<<63), false}},
			{Name: "node-past-task", Vals: []any{withAsyncioEntry(a15, 1, 1<<64-8), true}},
			{Name: "short", Vals: []any{a15[:50], true}},
		},
		"FuzzFindLocation": {
			{Name: "endless-varint", Vals: []any{endlessVarint, 1, 0}},
			{Name: "huge-line-deltas", Vals: []any{bigDelta, 1 << 62, 511}},
			{Name: "max-first-line", Vals: []any{[]byte{0xe8, 0x40, 0x40, 0x40, 0x40, 0x40, 0x01}, int(^uint(0) >> 1), 0}},
			{Name: "max-addrq", Vals: []any{ff(64), 1, int(^uint(0) >> 1)}},
			{Name: "negative-addrq", Vals: []any{[]byte{0xe8, 0x00}, 1, -1}},
		},
		"FuzzDecodeUnicode": {
			{Name: "ucs4-beyond-unicode", Vals: []any{4, u32s(0x110000, 0xffffffff, 0x7fffffff, 0x41)}},
			{Name: "ucs4-surrogates", Vals: []any{4, u32s(0xd800, 0xdfff, 0xdbff, 0xdc00)}},
			{Name: "ucs2-lone-surrogates", Vals: []any{2, u16s(0xd800, 0x41, 0xdc00, 0xffff)}},
			{Name: "ucs2-odd-length", Vals: []any{2, []byte{0x41, 0x00, 0x42}}},
			{Name: "latin1-high", Vals: []any{1, []byte("\x80\xff\x00\xe9")}},
			{Name: "kind-3", Vals: []any{3, []byte{1, 2, 3}}},
			{Name: "kind-0", Vals: []any{0, []byte{}}},
			{Name: "kind-negative", Vals: []any{-4, []byte{1, 2, 3, 4}}},
		},
		"FuzzDecodeLong": {
			{Name: "all-bits-tag", Vals: []any{^uint64(0), []byte{}, int(^uint(0) >> 1)}},
			{Name: "huge-count", Vals: []any{uint64(1<<61-1) << 3, ff(64), int(^uint(0) >> 1)}},
			{Name: "overflow-int64", Vals: []any{uint64(3<<3 | 2), u32s(1<<30-1, 1<<30-1, 1<<30-1), 8}},
			{Name: "min-int64", Vals: []any{uint64(3<<3 | 2), u32s(0, 0, 8), 8}},
			{Name: "digit-too-big", Vals: []any{uint64(1 << 3), u32s(1 << 30), 8}},
			{Name: "negative-max", Vals: []any{uint64(0), []byte{}, -1}},
			{Name: "zero-with-digits", Vals: []any{uint64(1<<3 | 1), u32s(5), 8}},
		},
	}
	fuzzcheck.CheckCorpora(t, map[string]func(*testing.F){
		"FuzzParseDebugOffsets":   FuzzParseDebugOffsets,
		"FuzzParseAsyncioOffsets": FuzzParseAsyncioOffsets,
		"FuzzFindLocation":        FuzzFindLocation,
		"FuzzDecodeUnicode":       FuzzDecodeUnicode,
		"FuzzDecodeLong":          FuzzDecodeLong,
	}, seeds)
}
