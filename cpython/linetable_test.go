package cpython

import (
	"strings"
	"testing"
)

// TestFindLocationMatchesCPython checks every code unit of every dumped code object against the
// co_positions() the same interpreter computed from the same table.
func TestFindLocationMatchesCPython(t *testing.T) {
	for _, version := range realVersions() {
		vec := readVectors(t, version)
		kinds := map[int]bool{}
		var sawBig, sawNegative bool
		for _, lt := range vec.Linetables {
			want := lt.expanded()
			if len(want) != lt.CodeUnits {
				t.Fatalf("%s %s: %d positions for %d code units", version, lt.Label, len(want), lt.CodeUnits)
			}
			mismatches := 0
			for i, w := range want {
				got, ok := FindLocation(lt.Linetable, lt.FirstLineNo, i)
				if !ok || got != w {
					if mismatches++; mismatches <= 5 {
						t.Errorf("%s %s unit %d: got %+v, %v; CPython says %+v", version, lt.Label, i, got, ok, w)
					}
				}
			}
			if got, ok := FindLocation(lt.Linetable, lt.FirstLineNo, lt.CodeUnits); ok {
				t.Errorf("%s %s: unit past the end found at %+v", version, lt.Label, got)
			}
			for k := range entryKinds(t, lt.Linetable) {
				kinds[k] = true
			}
			if len(lt.Linetable) > 4096 {
				sawBig = true
			}
			for i := 1; i < len(want); i++ {
				if want[i].Line >= 0 && want[i-1].Line > want[i].Line {
					sawNegative = true
				}
			}
		}
		// The vectors are only convincing if they exercise every entry kind.
		for k := range 16 {
			if !kinds[k] {
				t.Errorf("%s: no vector uses location entry kind %d", version, k)
			}
		}
		if !sawBig || !sawNegative {
			t.Errorf("%s: vectors lack a >4096-byte table (%v) or a backwards line step (%v)", version, sawBig, sawNegative)
		}
	}
}

// entryKinds lists the entry kinds in a well-formed table.
func entryKinds(t *testing.T, table []byte) map[int]bool {
	t.Helper()
	kinds := map[int]bool{}
	r := lineReader{b: table}
	for r.p < len(table) {
		first, _ := r.next()
		code := int(first>>3) & 15
		kinds[code] = true
		switch {
		case code == locNone:
		case code == locLong:
			r.svarint()
			r.varint()
			r.varint()
			r.varint()
		case code == locNoColumns:
			r.svarint()
		case code >= locOneLine0 && code <= locOneLine2:
			r.p += 2
		default:
			r.p++
		}
	}
	return kinds
}

func TestFindLocationSynthetic(t *testing.T) {
	// entry builds a first byte: marker bit, kind, length-1.
	entry := func(kind, length int) byte { return byte(0x80 | kind<<3 | (length - 1)) }
	tests := []struct {
		name   string
		table  []byte
		first  int
		addrq  int
		want   Location
		wantOK bool
	}{
		{"empty table", nil, 10, 0, Location{}, false},
		{"negative addrq", []byte{entry(0, 1), 0x00}, 10, -1, Location{}, false},
		{"short0", []byte{entry(0, 2), 0x25}, 10, 1, Location{10, 10, 2, 7}, true},
		{"short9", []byte{entry(9, 1), 0x73}, 10, 0, Location{10, 10, 79, 82}, true},
		{"one line 2", []byte{entry(12, 1), 200, 210}, 10, 0, Location{12, 12, 200, 210}, true},
		{"no columns, negative delta", []byte{entry(13, 1), 0x07}, 10, 0, Location{7, 7, -1, -1}, true},
		{"long", []byte{entry(14, 8), 0x04, 0x03, 0x01, 0x00}, 10, 7, Location{12, 15, 0, -1}, true},
		{"long multi-byte varint", []byte{entry(14, 1), 0x40 | 0x02, 0x01, 0x00, 0x01, 0x01}, 0, 0, Location{33, 33, 0, 0}, true},
		{"none keeps running line", []byte{entry(11, 1), 1, 2, entry(15, 1), entry(10, 1), 3, 4}, 10, 2, Location{11, 11, 3, 4}, true},
		{"none entry", []byte{entry(11, 1), 1, 2, entry(15, 3)}, 10, 3, Location{-1, -1, -1, -1}, true},
		{"deltas accumulate over skipped entries", []byte{entry(11, 1), 0, 1, entry(12, 1), 0, 1, entry(0, 1), 0x01}, 1, 2, Location{4, 4, 0, 1}, true},
		{"past the end", []byte{entry(0, 8), 0x00}, 10, 8, Location{}, false},
		{"missing marker", []byte{0x00}, 10, 0, Location{}, false},
		{"NUL after the entries", []byte{entry(0, 1), 0x00, 0x00}, 10, 1, Location{}, false},
		{"garbage after the match is not read", []byte{entry(0, 1), 0x00, 0x00}, 10, 0, Location{10, 10, 0, 0}, true},
		{"short without detail byte", []byte{entry(3, 1)}, 10, 0, Location{}, false},
		{"short detail with top bit", []byte{entry(3, 1), 0x80}, 10, 0, Location{}, false},
		{"one line missing end column", []byte{entry(10, 1), 1}, 10, 0, Location{}, false},
		{"no columns missing varint", []byte{entry(13, 1)}, 10, 0, Location{}, false},
		{"varint runs off the end", []byte{entry(13, 1), 0x40, 0x40}, 10, 0, Location{}, false},
		{"varint too long", []byte{entry(13, 1), 0x40, 0x40, 0x40, 0x40, 0x40, 0x01}, 10, 0, Location{}, false},
		{"longest valid varint", []byte{entry(13, 1), 0x40, 0x40, 0x40, 0x40, 0x02}, 10, 0, Location{10 + 1<<24, 10 + 1<<24, -1, -1}, true},
		{"long truncated", []byte{entry(14, 1), 0x02, 0x00, 0x01}, 10, 0, Location{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := FindLocation(tt.table, tt.first, tt.addrq)
			if ok != tt.wantOK || (ok && got != tt.want) {
				t.Errorf("FindLocation = %+v, %v; want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestFindLocationTruncatedRealTables(t *testing.T) {
	// Every prefix of a real table either answers like the full table or reports not found.
	vec := readVectors(t, "3.15.2")
	for _, lt := range vec.Linetables {
		if !strings.HasPrefix(lt.Label, "tricky.py:multi_line") {
			continue
		}
		want := lt.expanded()
		for n := range len(lt.Linetable) {
			for i, w := range want {
				if got, ok := FindLocation(lt.Linetable[:n], lt.FirstLineNo, i); ok && got != w {
					t.Fatalf("prefix %d unit %d: %+v, want %+v", n, i, got, w)
				}
			}
		}
	}
}

func TestCodeUnitIndex(t *testing.T) {
	tests := []struct {
		ip, code uint64
		want     int
		ok       bool
	}{
		{0x7f00000000d0, 0x7f00000000d0, 0, true},
		{0x7f00000000d2, 0x7f00000000d0, 1, true},
		{0x7f0000000100, 0x7f00000000d0, 24, true},
		{0x7f00000000ce, 0x7f00000000d0, 0, false}, // before the code
		{0x7f00000000d1, 0x7f00000000d0, 0, false}, // not on a code unit
		{0x7f00000000d0 + 2*maxCodeUnitIndex, 0x7f00000000d0, maxCodeUnitIndex, true},
		{0x7f00000000d0 + 2*maxCodeUnitIndex + 2, 0x7f00000000d0, 0, false},
		{1<<64 - 2, 0, 0, false},
		{0, 1<<64 - 1, 0, false},
	}
	for _, tt := range tests {
		got, ok := CodeUnitIndex(tt.ip, tt.code)
		if got != tt.want || ok != tt.ok {
			t.Errorf("CodeUnitIndex(%#x, %#x) = %d, %v; want %d, %v", tt.ip, tt.code, got, ok, tt.want, tt.ok)
		}
	}
}
