package cpython

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// withEntry returns a copy of table b (of the given minor version) with one entry replaced.
func withEntry(tb testing.TB, b []byte, minor int, name string, value uint64) []byte {
	tb.Helper()
	out := append([]byte(nil), b...)
	off := -1
	switch name {
	case "version":
		off = 8
	case "free_threaded":
		off = 16
	default:
		for i, e := range tableEntries(minor) {
			if e.name == name {
				off = HeaderSize + 8*i
			}
		}
	}
	if off < 0 {
		tb.Fatalf("no entry %q in the 3.%d table", name, minor)
	}
	binary.LittleEndian.PutUint64(out[off:], value)
	return out
}

func TestParseDebugOffsetsMatchesReference(t *testing.T) {
	for _, version := range realVersions() {
		t.Run(version, func(t *testing.T) {
			d := realOffsets(t, version)
			ref := readReferenceTable(t, version)
			if d.Version.String() != version || d.FreeThreaded {
				t.Fatalf("decoded %s free_threaded=%v", d.Version, d.FreeThreaded)
			}
			size, err := DebugOffsetsSize(d.Version)
			if err != nil || size != ref.structSize {
				t.Fatalf("DebugOffsetsSize = %d, %v; reference says %d", size, err, ref.structSize)
			}
			got := d.Fields()
			if len(got) != len(ref.fields) {
				t.Fatalf("decoded %d entries, reference has %d", len(got), len(ref.fields))
			}
			for i, f := range got {
				r := ref.fields[i]
				if f.Name != r.name || f.Offset != r.offset || f.Value != r.value {
					t.Errorf("entry %d: got %s@%d=%d, reference %s@%d=%d", i, f.Name, f.Offset, f.Value, r.name, r.offset, r.value)
				}
			}
			if last := got[len(got)-1]; last.Offset+8 != size {
				t.Errorf("last entry ends at %d, table is %d bytes", last.Offset+8, size)
			}
		})
	}
}

func TestParseDebugOffsetsRealValues(t *testing.T) {
	d14 := realOffsets(t, "3.14.10")
	d15 := realOffsets(t, "3.15.2")
	tests := []struct {
		name      string
		got, want uint64
	}{
		{"3.14 thread_state.native_thread_id", d14.ThreadState.NativeThreadID, 160},
		{"3.15 thread_state.native_thread_id", d15.ThreadState.NativeThreadID, 184},
		{"3.14 thread_state.size", d14.ThreadState.Size, 832},
		{"3.15 thread_state.size", d15.ThreadState.Size, 888},
		{"3.14 thread_state.base_frame (absent)", d14.ThreadState.BaseFrame, 0},
		{"3.15 thread_state.base_frame", d15.ThreadState.BaseFrame, 80},
		{"3.15 err_stackitem.exc_value", d15.ErrStackItem.ExcValue, 0},
		{"3.15 thread_state.exc_state", d15.ThreadState.ExcState, 288},
		{"3.14 interpreter_state.threads_main", d14.InterpreterState.ThreadsMain, 7360},
		{"3.15 interpreter_state.threads_head", d15.InterpreterState.ThreadsHead, 7336},
		{"3.14 runtime_state.interpreters_head", d14.RuntimeState.InterpretersHead, 808},
		{"3.15 runtime_state.interpreters_head", d15.RuntimeState.InterpretersHead, 936},
		{"3.14 interpreter_frame.owner", d14.InterpreterFrame.Owner, 74},
		{"3.15 interpreter_frame.stackpointer", d15.InterpreterFrame.StackPointer, 64},
		{"3.14 code_object.co_code_adaptive", d14.CodeObject.CoCodeAdaptive, 208},
		{"3.15 code_object.firstlineno", d15.CodeObject.FirstLineNo, 68},
		{"3.14 type_object.tp_flags", d14.TypeObject.TpFlags, 168},
		{"3.15 type_object.size", d15.TypeObject.Size, 424},
		{"3.15 heap_type_object.size", d15.HeapTypeObject.Size, 944},
		{"3.14 unicode_object.asciiobject_size", d14.UnicodeObject.ASCIIObjectSize, 40},
		{"3.14 unicode_object.compactunicodeobject_size (derived)", d14.UnicodeObject.CompactUnicodeObjectSize, 56},
		{"3.15 unicode_object.compactunicodeobject_size", d15.UnicodeObject.CompactUnicodeObjectSize, 56},
		{"3.14 gen_object.gi_iframe", d14.GenObject.GiIframe, 72},
		{"3.15 gen_object.gi_frame_state", d15.GenObject.GiFrameState, 67},
		{"3.14 gc.size", d14.GC.Size, 264},
		{"3.15 gc.generation_stats_size", d15.GC.GenerationStatsSize, 1120},
		{"3.15 llist_node.prev", d15.LListNode.Prev, 8},
		{"3.14 debugger_support.debugger_script_path_size", d14.DebuggerSupport.DebuggerScriptPathSize, 512},
		{"3.14 set_object.mask", d14.SetObject.Mask, 32},
		{"3.15 long_object.ob_digit", d15.LongObject.ObDigit, 24},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %d, want %d", tt.name, tt.got, tt.want)
		}
	}
}

func TestParseDebugOffsetsRejects313(t *testing.T) {
	b := pyRuntimeBytes(t, "3.13.18")
	v, ft, err := ParseHeader(b)
	if err != nil || v.String() != "3.13.18" || ft {
		t.Fatalf("ParseHeader(3.13) = %s, %v, %v", v, ft, err)
	}
	_, err = ParseDebugOffsets(b)
	var uv *UnsupportedVersionError
	if !errors.As(err, &uv) || uv.Version.String() != "3.13.18" {
		t.Fatalf("ParseDebugOffsets(3.13) = %v, want *UnsupportedVersionError for 3.13.18", err)
	}
	if !strings.Contains(err.Error(), "Python 3.13.18 is not supported") {
		t.Errorf("error %q does not name the version", err)
	}
	if _, err := DebugOffsetsSize(v); !errors.As(err, &uv) {
		t.Errorf("DebugOffsetsSize(3.13) = %v, want *UnsupportedVersionError", err)
	}
}

func TestDebugOffsetsSize(t *testing.T) {
	for _, tt := range []struct {
		v    Version
		want int
	}{
		{Version{3, 14, 10, LevelFinal, 0}, 760},
		{Version{3, 14, 0, LevelAlpha, 7}, 760},
		{Version{3, 15, 2, LevelFinal, 0}, 888},
	} {
		if got, err := DebugOffsetsSize(tt.v); got != tt.want || err != nil {
			t.Errorf("DebugOffsetsSize(%s) = %d, %v; want %d", tt.v, got, err, tt.want)
		}
	}
	// The field lists: 94 and 110 uint64 entries follow the 8-byte cookie.
	if n := 2 + len(tableEntries(14)); n != 94 {
		t.Errorf("3.14 table has %d uint64 entries after the cookie, want 94", n)
	}
	if n := 2 + len(tableEntries(15)); n != 110 {
		t.Errorf("3.15 table has %d uint64 entries after the cookie, want 110", n)
	}
}

func TestParseHeader(t *testing.T) {
	real15 := pyRuntimeBytes(t, "3.15.2")
	header := func(cookie string, version, ft uint64) []byte {
		b := make([]byte, HeaderSize)
		copy(b, cookie)
		binary.LittleEndian.PutUint64(b[8:], version)
		binary.LittleEndian.PutUint64(b[16:], ft)
		return b
	}
	tests := []struct {
		name     string
		b        []byte
		want     Version
		wantFT   bool
		noCookie bool
		errText  string
	}{
		{name: "real 3.15", b: real15, want: Version{3, 15, 2, LevelFinal, 0}},
		{name: "exactly the header", b: real15[:HeaderSize], want: Version{3, 15, 2, LevelFinal, 0}},
		{name: "free-threaded", b: header(Cookie, 0x030E00A1, 1), want: Version{3, 14, 0, LevelAlpha, 1}, wantFT: true},
		{name: "nil", b: nil, noCookie: true},
		{name: "short", b: real15[:HeaderSize-1], noCookie: true},
		{name: "wrong cookie", b: header("xdebugpz", 0x030E0AF0, 0), noCookie: true},
		{name: "zeros", b: make([]byte, 64), noCookie: true},
		{name: "high version bits", b: header(Cookie, 1<<40|0x030E0AF0, 0), errText: "implausible version"},
		{name: "bad release level", b: header(Cookie, 0x030E0A10, 0), errText: "release level"},
		{name: "bad free_threaded", b: header(Cookie, 0x030E0AF0, 2), errText: "free_threaded flag 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ft, err := ParseHeader(tt.b)
			switch {
			case tt.noCookie:
				if !errors.Is(err, ErrNoCookie) {
					t.Fatalf("err = %v, want ErrNoCookie", err)
				}
			case tt.errText != "":
				if err == nil || errors.Is(err, ErrNoCookie) || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.errText)
				}
			default:
				if err != nil || v != tt.want || ft != tt.wantFT {
					t.Fatalf("= %+v, %v, %v; want %+v, %v", v, ft, err, tt.want, tt.wantFT)
				}
			}
		})
	}
}

func TestParseDebugOffsetsErrors(t *testing.T) {
	real14 := pyRuntimeBytes(t, "3.14.10")
	real15 := pyRuntimeBytes(t, "3.15.2")
	tests := []struct {
		name    string
		b       []byte
		is      error
		errText string
	}{
		{"no cookie", append([]byte("notpy..."), real15[8:]...), ErrNoCookie, ""},
		{"free-threaded 3.14", withEntry(t, real14, 14, "free_threaded", 1), ErrFreeThreaded,
			"Python 3.14.10 is a free-threaded build: free-threaded CPython builds are not supported yet"},
		{"free-threaded 3.15", withEntry(t, real15, 15, "free_threaded", 1), ErrFreeThreaded, ""},
		{"3.14 table truncated", real14[:759], ErrInvalidOffsets, "invalid debug offsets: the table of Python 3.14.10 is 759 bytes, need 760"},
		{"3.15 table truncated", real15[:760], ErrInvalidOffsets, "the table of Python 3.15.2 is 760 bytes, need 888"},
		// A 3.14 table relabelled 3.15 is read with the 3.15 list and fails validation.
		{"3.14 table claiming 3.15", withEntry(t, real14, 14, "version", 0x030F02F0), ErrInvalidOffsets, ""},
		{"example firstlineno", withEntry(t, real14, 14, "code_object.firstlineno", 216), ErrInvalidOffsets,
			"invalid debug offsets: code_object.firstlineno=216 with width 4 exceeds code_object.size 216"},
		{"example misaligned pointer", withEntry(t, real15, 15, "thread_state.native_thread_id", 185), ErrInvalidOffsets,
			"invalid debug offsets: thread_state.native_thread_id=185 is not aligned to 8 bytes"},
		{"example zero size", withEntry(t, real15, 15, "gen_object.size", 0), ErrInvalidOffsets,
			"invalid debug offsets: gen_object.size must be greater than zero"},
		{"example huge size", withEntry(t, real14, 14, "interpreter_state.size", 1<<21), ErrInvalidOffsets,
			"invalid debug offsets: interpreter_state.size=2097152 exceeds the 1048576-byte limit"},
		{"embedded frame overflows the generator", withEntry(t, real14, 14, "interpreter_frame.size", 96), ErrInvalidOffsets,
			"gen_object.gi_iframe=72 with width 96 exceeds gen_object.size 160"},
		{"embedded GC state overflows the interpreter", withEntry(t, real15, 15, "interpreter_state.gc", 226240-168), ErrInvalidOffsets,
			"interpreter_state.gc=226072 with width 176 exceeds interpreter_state.size 226240"},
		{"overflowing offset", withEntry(t, real15, 15, "code_object.filename", 1<<64-8), ErrInvalidOffsets,
			"code_object.filename=18446744073709551608 with width 8 exceeds"},
		{"llist_node.next beyond the node", withEntry(t, real15, 15, "llist_node.next", 16), ErrInvalidOffsets,
			"llist_node.next=16 with width 8 exceeds sizeof(llist_node) 16"},
		// 3.14 does not export the compact unicode size; the derived value is still checked.
		{"3.14 derived compact size", withEntry(t, real14, 14, "unicode_object.asciiobject_size", 56), ErrInvalidOffsets,
			"unicode_object.compactunicodeobject_size=72 with width 1 exceeds unicode_object.size 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseDebugOffsets(tt.b)
			if d != nil || !errors.Is(err, tt.is) {
				t.Fatalf("= %v, %v; want error wrapping %v", d, err, tt.is)
			}
			if tt.errText != "" && !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("error %q\ndoes not contain %q", err, tt.errText)
			}
		})
	}
}

// TestParseDebugOffsetsValidatesEveryField breaks each validated entry of both real tables in
// every way the validator knows and checks the error names that entry.
func TestParseDebugOffsetsValidatesEveryField(t *testing.T) {
	for _, version := range realVersions() {
		real := pyRuntimeBytes(t, version)
		d := realOffsets(t, version)
		minor := d.Version.Minor
		checked := 0
		for _, s := range sections() {
			if s.since > minor {
				continue
			}
			if s.size != nil {
				name := s.name + ".size"
				for _, bad := range []uint64{0, s.maxSize + 1} {
					expectInvalid(t, version, withEntry(t, real, minor, name, bad), name)
				}
			}
			for _, f := range s.fields {
				if f.since > minor || f.ct == ctValue {
					continue
				}
				name := s.name + "." + f.name
				width, align := f.ct.widthAlign(d)
				limit := s.extent
				if s.size != nil {
					limit = *s.size(d)
				}
				// Past the end: the smallest aligned offset that no longer fits.
				past := (limit - width + align) / align * align
				expectInvalid(t, version, withEntry(t, real, minor, name, past), name)
				if align > 1 {
					expectInvalid(t, version, withEntry(t, real, minor, name, *f.ptr(d)+1), name)
				}
				checked++
			}
		}
		if checked < 60 {
			t.Errorf("%s: only %d fields validated", version, checked)
		}
	}
}

func expectInvalid(t *testing.T, version string, b []byte, field string) {
	t.Helper()
	_, err := ParseDebugOffsets(b)
	if !errors.Is(err, ErrInvalidOffsets) {
		t.Errorf("%s: breaking %s: err = %v, want ErrInvalidOffsets", version, field, err)
		return
	}
	if !strings.Contains(err.Error(), field) {
		t.Errorf("%s: breaking %s: error %q does not name it", version, field, err)
	}
}

func TestParseDebugOffsetsIgnoresTrailingBytes(t *testing.T) {
	real14 := pyRuntimeBytes(t, "3.14.10") // 888 bytes: the table plus the runtime state after it
	a, err := ParseDebugOffsets(real14[:760])
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseDebugOffsets(real14)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(*a) != fmt.Sprint(*b) {
		t.Error("trailing bytes changed the decoded table")
	}
}

func TestFieldsListsVersionEntries(t *testing.T) {
	d14 := realOffsets(t, "3.14.10")
	names := map[string]bool{}
	for _, f := range d14.Fields() {
		names[f.Name] = true
	}
	for _, absent := range []string{"thread_state.base_frame", "err_stackitem.exc_value", "heap_type_object.size",
		"unicode_object.compactunicodeobject_size", "gc.frame"} {
		if names[absent] {
			t.Errorf("3.14 Fields() lists %s", absent)
		}
	}
	if f := d14.Fields()[0]; f.Name != "version" || f.Value != 0x030E0AF0 {
		t.Errorf("first field = %+v", f)
	}
}
