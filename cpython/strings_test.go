package cpython

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// decodeStrObject decodes a whole str object the way the inspector reads one from a target.
func decodeStrObject(d *DebugOffsets, raw []byte) (string, UnicodeState, error) {
	st := ParseUnicodeState(binary.LittleEndian.Uint32(raw[d.UnicodeObject.State:]))
	if err := st.Check(); err != nil {
		return "", st, err
	}
	n := int(binary.LittleEndian.Uint64(raw[d.UnicodeObject.Length:]))
	off := int(d.UnicodeDataOffset(st.ASCII))
	s, err := DecodeUnicode(st.Kind, raw[off:off+n*st.Kind])
	return s, st, err
}

func TestDecodeRealStrings(t *testing.T) {
	for _, version := range realVersions() {
		d := realOffsets(t, version)
		vec := readVectors(t, version)
		kinds := map[int]bool{}
		for _, sv := range vec.Strings {
			got, st, err := decodeStrObject(d, sv.Raw)
			if err != nil {
				t.Errorf("%s %q: %v", version, sv.Expect, err)
				continue
			}
			if got != sv.Expect {
				t.Errorf("%s: decoded %q, want %q (state %+v)", version, got, sv.Expect, st)
			}
			if utf8.RuneCountInString(got) != sv.Length {
				t.Errorf("%s %q: %d code points, CPython len() is %d", version, got, utf8.RuneCountInString(got), sv.Length)
			}
			kinds[st.Kind] = true
		}
		if !kinds[1] || !kinds[2] || !kinds[4] {
			t.Errorf("%s: string vectors cover kinds %v, want 1, 2 and 4", version, kinds)
		}
	}
}

func TestParseUnicodeState(t *testing.T) {
	tests := []struct {
		state uint32
		want  UnicodeState
	}{
		{0x66, UnicodeState{1, true, true}},       // interned ASCII
		{0x34363866, UnicodeState{1, true, true}}, // padding bits hold garbage in real objects
		{0x24, UnicodeState{1, true, false}},      // Latin-1
		{0xb52b28, UnicodeState{2, true, false}},  // UCS-2
		{0x30, UnicodeState{4, true, false}},      // UCS-4
		{0x08, UnicodeState{2, false, false}},     // legacy, not compact
		{0xffffffff, UnicodeState{7, true, true}}, // every bit set
		{0, UnicodeState{0, false, false}},
	}
	for _, tt := range tests {
		if got := ParseUnicodeState(tt.state); got != tt.want {
			t.Errorf("ParseUnicodeState(%#x) = %+v, want %+v", tt.state, got, tt.want)
		}
	}
}

func TestUnicodeStateCheck(t *testing.T) {
	tests := []struct {
		s       UnicodeState
		errText string
	}{
		{UnicodeState{1, true, true}, ""},
		{UnicodeState{2, true, false}, ""},
		{UnicodeState{4, true, false}, ""},
		{UnicodeState{1, false, false}, "non-compact"},
		{UnicodeState{0, true, false}, "invalid Unicode kind 0"},
		{UnicodeState{3, true, false}, "invalid Unicode kind 3"},
		{UnicodeState{7, true, true}, "invalid Unicode kind 7"},
	}
	for _, tt := range tests {
		err := tt.s.Check()
		if (err == nil) != (tt.errText == "") || (err != nil && !strings.Contains(err.Error(), tt.errText)) {
			t.Errorf("%+v.Check() = %v, want %q", tt.s, err, tt.errText)
		}
	}
}

func TestUnicodeDataOffset(t *testing.T) {
	for _, version := range realVersions() {
		d := realOffsets(t, version)
		if a, c := d.UnicodeDataOffset(true), d.UnicodeDataOffset(false); a != 40 || c != 56 {
			t.Errorf("%s: data offsets %d / %d, want 40 / 56", version, a, c)
		}
	}
}

func TestDecodeUnicode(t *testing.T) {
	tests := []struct {
		name    string
		kind    int
		data    []byte
		want    string
		errText string
	}{
		{"empty", 1, nil, "", ""},
		{"ascii", 1, []byte("abc"), "abc", ""},
		{"latin-1", 1, []byte{'t', 0xe2, 'c', 0xff}, "tâcÿ", ""},
		{"nul kept", 1, []byte{0}, "\x00", ""},
		{"ucs-2", 2, []byte{0xbb, 0x03, 0xac, 0x03}, "λά", ""},
		{"ucs-2 lone high surrogate", 2, []byte{0x00, 0xd8, 'a', 0}, "\ufffda", ""},
		{"ucs-2 surrogate pair is two code points", 2, []byte{0x00, 0xd8, 0x00, 0xdc}, "\ufffd\ufffd", ""},
		{"ucs-4", 4, []byte{0x00, 0x03, 0x01, 0x00, 0x00, 0xf6, 0x01, 0x00}, "𐌀😀", ""},
		{"ucs-4 surrogate", 4, []byte{0xff, 0xdf, 0, 0}, "\ufffd", ""},
		{"ucs-4 above max", 4, []byte{0x00, 0x00, 0x11, 0x00}, "\ufffd", ""},
		{"ucs-4 top bit", 4, []byte{0xff, 0xff, 0xff, 0xff}, "\ufffd", ""},
		{"bad kind 0", 0, []byte("a"), "", "invalid Unicode kind 0"},
		{"bad kind 3", 3, []byte("abc"), "", "invalid Unicode kind 3"},
		{"bad kind negative", -2, nil, "", "invalid Unicode kind -2"},
		{"ucs-2 odd length", 2, []byte{1, 2, 3}, "", "3 bytes of Unicode kind 2"},
		{"ucs-4 partial", 4, []byte{1, 2, 3, 4, 5}, "", "5 bytes of Unicode kind 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeUnicode(tt.kind, tt.data)
			if tt.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("= %q, %v; want error %q", got, err, tt.errText)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("= %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestDecodeRealLongs(t *testing.T) {
	for _, version := range realVersions() {
		d := realOffsets(t, version)
		maxDigits := d.Layout().MaxLongDigits
		for _, lv := range readVectors(t, version).Longs {
			tag := binary.LittleEndian.Uint64(lv.Raw[d.LongObject.LvTag:])
			got, err := DecodeLong(tag, lv.Raw[d.LongObject.ObDigit:], maxDigits)
			if !lv.FitsInt64 {
				if err == nil || !strings.Contains(err.Error(), "does not fit") {
					t.Errorf("%s %s: = %d, %v; want an overflow error", version, lv.Value, got, err)
				}
				continue
			}
			if err != nil || strconv.FormatInt(got, 10) != lv.Value {
				t.Errorf("%s: decoded %d, %v; want %s (lv_tag %#x)", version, got, err, lv.Value, tag)
			}
		}
	}
}

func TestDecodeLong(t *testing.T) {
	digits := func(ds ...uint32) []byte {
		b := make([]byte, 4*len(ds))
		for i, v := range ds {
			binary.LittleEndian.PutUint32(b[4*i:], v)
		}
		return b
	}
	tag := func(ndigits uint64, sign uint64) uint64 { return ndigits<<3 | sign }
	tests := []struct {
		name      string
		tag       uint64
		digits    []byte
		maxDigits int
		want      int64
		errText   string
	}{
		{"zero", tag(0, 1), nil, 64, 0, ""},
		{"small int zero flag", 0x5, digits(0), 64, 0, ""},
		{"small int one", 0xc, digits(1), 64, 1, ""},
		{"one", tag(1, 0), digits(1), 64, 1, ""},
		{"minus one", tag(1, 2), digits(1), 64, -1, ""},
		{"2**30", tag(2, 0), digits(0, 1), 64, 1 << 30, ""},
		{"2**62", tag(3, 0), digits(0, 0, 4), 64, 1 << 62, ""},
		{"max int64", tag(3, 0), digits(1<<30-1, 1<<30-1, 7), 64, math.MaxInt64, ""},
		{"min int64", tag(3, 2), digits(0, 0, 8), 64, math.MinInt64, ""},
		{"leading zero digits", tag(5, 0), digits(7, 0, 0, 0, 0), 64, 7, ""},
		{"extra bytes ignored", tag(1, 0), digits(9, 0xffffffff), 64, 9, ""},
		{"2**63 overflows", tag(3, 0), digits(0, 0, 8), 64, 0, "does not fit"},
		{"-(2**63)-1 overflows", tag(3, 2), digits(1, 0, 8), 64, 0, "does not fit"},
		{"2**64 overflows", tag(3, 0), digits(0, 0, 16), 64, 0, "does not fit"},
		{"huge overflows", tag(5, 0), digits(0, 0, 0, 0, 1), 64, 0, "does not fit"},
		{"digit too big", tag(1, 0), digits(1 << 30), 64, 0, "invalid PyLong digit 0"},
		{"too many digits", tag(65, 0), make([]byte, 4*65), 64, 0, "65 digits, more than the 64 allowed"},
		{"negative limit", tag(0, 0), nil, -1, 0, "more than the 0 allowed"},
		{"absurd digit count", 1 << 63, nil, 64, 0, "more than the 64 allowed"},
		{"short digits", tag(2, 0), digits(1), 64, 0, "2 digits but only 4 bytes"},
		{"invalid sign", tag(1, 3), digits(1), 64, 0, "invalid sign"},
		{"zero sign with digits", tag(1, 1), digits(5), 64, 0, "marked zero"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeLong(tt.tag, tt.digits, tt.maxDigits)
			if tt.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("= %d, %v; want error %q", got, err, tt.errText)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("= %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}
