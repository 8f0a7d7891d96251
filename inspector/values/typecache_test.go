package values_test

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/aioscope/aioscope/inspector/values"
)

// TestTypeCacheChecked: what the reader keeps of a class is used again only while the type object
// is unchanged — its version tag and the pointers it reads — so that another class made at the
// address of a freed one, or a class renamed, is read anew; a moment takes classes as they were.
func TestTypeCacheChecked(t *testing.T) {
	for _, img := range loadImages(t) {
		if !strings.HasPrefix(img.Name, "corpus-") {
			continue
		}
		t.Run(img.Name, func(t *testing.T) {
			pages := map[uint64][]byte{}
			for a, p := range img.pages {
				pages[a] = append([]byte(nil), p...)
			}
			mem := &pageMemory{pages: pages}
			off, err := offsetsOf(mem, img.Runtime)
			if err != nil {
				t.Fatal(err)
			}
			tv := off.ValueLayout().Type
			r, err := values.New(mem, values.Config{Offsets: off, RuntimeAddr: img.Runtime, Limits: fuzzLimits()})
			if err != nil {
				t.Fatal(err)
			}
			// An instance with the default repr, and a str to rename its class with.
			var obj, str uint64
			var before string
			for _, a := range img.Roots {
				v, err := r.Value(a)
				switch {
				case err != nil:
				case obj == 0 && strings.HasPrefix(v.Repr, "<__main__.") && strings.HasSuffix(v.Repr, "object at "+hex(a)+">"):
					obj, before = a, v.Repr
				case str == 0 && v.Type == "str" && v.Repr == "'plain'":
					str = a
				}
			}
			if obj == 0 || str == 0 {
				t.Fatalf("no default-repr instance (%#x) or 'plain' (%#x) among the roots", obj, str)
			}
			typ := word(t, mem, obj+8)
			tag := typ + tv.VersionTag
			if binary.LittleEndian.Uint32(bytesAt(t, mem, tag, 4)) == 0 {
				t.Skip("the class has no version tag in this image: nothing is kept of it")
			}
			moment := r.Moment()
			if v, err := moment.Value(obj); err != nil || v.Repr != before {
				t.Fatalf("moment: %q %v", v.Repr, err)
			}
			// Renamed (ht_qualname replaced) under the same tag: read anew, except by the moment.
			setWord(t, mem, typ+tv.HtQualname, str)
			want := strings.Replace(before, before[len("<__main__."):strings.Index(before, " object at ")], "plain", 1)
			if v, err := r.Value(obj); err != nil || v.Repr != want {
				t.Errorf("renamed class: %q %v, want %q", v.Repr, err, want)
			}
			if v, err := moment.Value(obj); err != nil || v.Repr != before {
				t.Errorf("a moment takes the class as it first read it: %q %v, want %q", v.Repr, err, before)
			}
			// A class made anew at the address: another tag, another name.
			setWord(t, mem, typ+tv.HtQualname, word(t, mem, typ+tv.HtName))
			binary.LittleEndian.PutUint32(bytesAt(t, mem, tag, 4), binary.LittleEndian.Uint32(bytesAt(t, mem, tag, 4))+1)
			if v, err := r.Value(obj); err != nil || v.Repr != before {
				t.Errorf("a class with a new tag: %q %v, want %q", v.Repr, err, before)
			}
		})
	}
}

func hex(a uint64) string { return "0x" + strings.TrimLeft(strings.ToLower(uintHex(a)), "0") }

func uintHex(a uint64) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = digits[a&15]
		a >>= 4
	}
	return string(b[:])
}

// bytesAt returns the bytes of the image's copy at addr, to change them in place.
func bytesAt(t *testing.T, mem *pageMemory, addr uint64, n int) []byte {
	t.Helper()
	p := mem.pages[addr&^(imagePage-1)]
	off := int(addr & (imagePage - 1))
	if p == nil || off+n > len(p) {
		t.Fatalf("%#x is not in the image", addr)
	}
	return p[off : off+n]
}

func word(t *testing.T, mem *pageMemory, addr uint64) uint64 {
	return binary.LittleEndian.Uint64(bytesAt(t, mem, addr, 8))
}

func setWord(t *testing.T, mem *pageMemory, addr, v uint64) {
	binary.LittleEndian.PutUint64(bytesAt(t, mem, addr, 8), v)
}
