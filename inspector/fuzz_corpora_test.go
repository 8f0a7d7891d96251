package inspector

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aioscope/aioscope/internal/fuzzcheck"
)

func TestFuzzCorpora(t *testing.T) {
	// FuzzWalker: every image under every kind of corruption, many operations at a time.
	var walker []fuzzcheck.Seed
	for i := range loadSeedImages(t) {
		for _, c := range []struct {
			name string
			ops  []byte
		}{
			{"flipped-bytes", []byte{0}},
			{"crossed-pointers", []byte{1}},
			{"self-pointers", []byte{2}},
			{"huge-sizes", []byte{3}},
			{"pointers-into-nowhere", []byte{4}},
			{"dropped-pages", []byte{6}},
			{"copied-objects", []byte{7}},
			{"everything", []byte{0, 1, 2, 3, 4, 5, 6, 7}},
		} {
			walker = append(walker, fuzzcheck.Seed{Name: fmt.Sprintf("%s-%d", c.name, i),
				Vals: []any{uint8(i), mutationProgram(uint64(i)<<8|uint64(c.ops[0]), 48, c.ops...)}})
		}
	}

	// FuzzELFImage: the synthetic libpython with its headers broken.
	const base = 0x7f1c2a000000
	spec := syntheticELF(0x030e0af0)
	lib := buildELF(spec)
	maps := mapsFor(spec.progs, base, "/usr/lib/libpython3.14.so.1.0")
	shdr := func(name string, field int) int { return elfSectionField(t, lib, name, field) }
	const (
		shAddr, shOffset, shSize, shLink = 16, 24, 32, 40
		ehPhnum, ehShoff, ehShnum        = 56, 40, 60
		ehShstrndx, phOff, phFilesz      = 62, 64 + 8, 64 + 32
	)
	elfSeeds := []fuzzcheck.Seed{
		{Name: "shnum-max", Vals: []any{patchELF(lib, ehShnum, 2, 0xffff), maps}},
		{Name: "shoff-past-end", Vals: []any{patchELF(lib, ehShoff, 8, 1<<62), maps}},
		{Name: "shstrndx-out-of-range", Vals: []any{patchELF(lib, ehShstrndx, 2, 0xfffe), maps}},
		{Name: "phnum-max", Vals: []any{patchELF(lib, ehPhnum, 2, 0xffff), maps}},
		{Name: "load-offset-huge", Vals: []any{patchELF(lib, phOff, 8, 1<<63), maps}},
		{Name: "load-filesz-huge", Vals: []any{patchELF(lib, phFilesz, 8, ^uint64(0)), maps}},
		{Name: "dynsym-huge", Vals: []any{patchELF(lib, shdr(".dynsym", shSize), 8, 1<<62), maps}},
		{Name: "dynsym-offset-past-end", Vals: []any{patchELF(lib, shdr(".dynsym", shOffset), 8, 1<<40), maps}},
		{Name: "dynsym-link-self", Vals: []any{patchELF(lib, shdr(".dynsym", shLink), 4, 7), maps}},
		{Name: "dynstr-empty", Vals: []any{patchELF(lib, shdr(".dynstr", shSize), 8, 0), maps}},
		{Name: "pyruntime-wraps", Vals: []any{patchELF(lib, shdr(".PyRuntime", shAddr), 8, ^uint64(0)-8), maps}},
		{Name: "rodata-wraps", Vals: []any{patchELF(patchELF(lib, shdr(".rodata", shAddr), 8, ^uint64(0)-3), shdr(".rodata", shSize), 8, 16), maps}},
		{Name: "maps-wrapping", Vals: []any{lib, "ffffffffffff0000-ffffffffffffffff r--p ffffffffffff0000 08:01 4242 /usr/lib/libpython3.14.so.1.0\n" +
			"0-1000 r--p 7fffffffffffffff 08:01 4242 /usr/lib/libpython3.14.so.1.0\n" + maps}},
		{Name: "maps-overlapping", Vals: []any{lib, maps + maps + strings.ReplaceAll(maps, "7f1c2a", "7f1c29")}},
	}

	seeds := map[string][]fuzzcheck.Seed{
		"FuzzWalker": walker,
		"FuzzParseMaps": {
			{Name: "overflowing-addresses", Vals: []any{[]byte("ffffffffffffffffff-fffffffffffffffffff r--p 0 0:0 0 /x\n10000000000000000-20000000000000000 r--p 0 0:0 0 /y\n")}},
			{Name: "wrapping", Vals: []any{[]byte("ffffffffffff0000-0000000000001000 r--p 00000000 08:01 1 /w\n1000-1000 r--p 0 08:01 1 /empty\n")}},
			{Name: "nul-and-crlf", Vals: []any{[]byte("7f00-7f10 r--p 0 08:01 1 /a\x00b\r\n7f10-7f20 rw-p 0 08:01 1 /c\r\n\r\n")}},
			{Name: "huge-offset-and-inode", Vals: []any{[]byte("1000-2000 r-xp ffffffffffffffffff 08:01 99999999999999999999999 /lib\n1000-2000 r-xp 0 08:01 -1 /lib\n")}},
			{Name: "deleted-only", Vals: []any{[]byte("1000-2000 r--p 0 0:0 1  (deleted)\n2000-3000 r--p 0 0:0 1 (deleted) (deleted)\n")}},
			{Name: "many-lines", Vals: []any{[]byte(strings.Repeat("7f0000001000-7f0000002000 r--p 00001000 08:01 42 /usr/bin/python3.14\n", 1000))}},
		},
		"FuzzELFImage": elfSeeds,
	}
	fuzzcheck.CheckCorpora(t, map[string]func(*testing.F){
		"FuzzWalker":    FuzzWalker,
		"FuzzParseMaps": FuzzParseMaps,
		"FuzzELFImage":  FuzzELFImage,
	}, seeds)
}
