package cpython

import (
	"encoding/binary"
	"math/big"
	"testing"
	"unicode/utf8"
)

// The fuzz targets feed arbitrary bytes to every decoder that sees target memory. Their seeds
// are the real vectors, so mutations start from valid structures. Besides not panicking, each
// checks a property that must hold for any accepted input.

func FuzzParseDebugOffsets(f *testing.F) {
	for _, v := range []string{"3.13.18", "3.14.10", "3.15.2"} {
		f.Add(pyRuntimeBytes(f, v))
	}
	f.Add([]byte(Cookie))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDebugOffsets(b)
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
		_ = d.Layout()
		_ = d.Fields()
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
		a, err := ParseAsyncioOffsets(b, d)
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
		loc, ok := FindLocation(table, firstLine, addrq)
		if !ok {
			return
		}
		if addrq < 0 || addrq >= 8*len(table) {
			t.Fatalf("unit %d found in a %d-byte table", addrq, len(table))
		}
		// Appending bytes never changes an answer already found.
		if loc2, ok2 := FindLocation(append(table[:len(table):len(table)], 0xff, 0x00), firstLine, addrq); !ok2 || loc2 != loc {
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
		s, err := DecodeUnicode(kind, data)
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
		got, err := DecodeLong(tag, digits, maxDigits)
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
