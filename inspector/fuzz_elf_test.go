package inspector

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aioscope/aioscope/internal/fuzzcheck"
)

// elfSpec describes a small ELF64 file for the fuzz seeds: real program headers and section
// headers, but section contents only where the inspector reads them.
type elfSpec struct {
	typ      elf.Type
	progs    []elf.ProgHeader
	sections []elfSpecSection
	pyVer    uint32 // value of the Py_Version symbol; 0 for none
	pyVerSec string // section holding Py_Version
}

type elfSpecSection struct {
	name    string
	typ     elf.SectionType
	flags   elf.SectionFlag
	addr    uint64
	size    uint64
	align   uint64
	entsize uint64
	offset  uint64 // for sections without data here: where the original file had them
}

// buildELF writes spec as an ELF file that debug/elf reads: header, program headers, the data
// of .dynsym/.dynstr/the Py_Version section and .shstrtab, then the section headers at the end.
func buildELF(spec elfSpec) []byte {
	le := binary.LittleEndian
	var data bytes.Buffer
	dataStart := (64 + 56*len(spec.progs) + 7) &^ 7 // after the header and program headers
	pad := func(align int) {
		for data.Len()%align != 0 {
			data.WriteByte(0)
		}
	}
	type shdr struct {
		name            uint32
		typ             elf.SectionType
		flags           elf.SectionFlag
		addr, off, size uint64
		link, info      uint32
		align, entsize  uint64
		nameString      string
		dataBytes       []byte
		hasData         bool
	}
	shs := []shdr{{}} // section 0 is null
	for _, s := range spec.sections {
		shs = append(shs, shdr{typ: s.typ, flags: s.flags, addr: s.addr, size: s.size, align: s.align,
			entsize: s.entsize, off: s.offset, nameString: s.name})
	}
	secIndex := func(name string) int {
		for i, s := range shs {
			if s.nameString == name && i > 0 {
				return i
			}
		}
		return -1
	}
	if spec.pyVer != 0 {
		vi := secIndex(spec.pyVerSec)
		// Py_Version is an unsigned long. Its section shrinks to the 8 bytes of the symbol.
		var v [8]byte
		le.PutUint64(v[:], uint64(spec.pyVer))
		shs[vi].size, shs[vi].dataBytes, shs[vi].hasData = 8, v[:], true
		dynstr := []byte("\x00Py_Version\x00")
		sym := make([]byte, 48) // the null symbol, then Py_Version
		le.PutUint32(sym[24:], 1)
		sym[24+4] = byte(elf.STB_GLOBAL)<<4 | byte(elf.STT_OBJECT)
		le.PutUint16(sym[24+6:], uint16(vi))
		le.PutUint64(sym[24+8:], shs[vi].addr)
		le.PutUint64(sym[24+16:], 8)
		shs = append(shs,
			shdr{typ: elf.SHT_STRTAB, flags: elf.SHF_ALLOC, nameString: ".dynstr", dataBytes: dynstr, hasData: true, align: 1},
			shdr{typ: elf.SHT_DYNSYM, flags: elf.SHF_ALLOC, nameString: ".dynsym", dataBytes: sym, hasData: true, align: 8, entsize: 24, info: 1})
		shs[len(shs)-1].link = uint32(len(shs) - 2)
	}
	shstr := []byte{0}
	for i := range shs[1:] {
		shs[i+1].name = uint32(len(shstr))
		shstr = append(append(shstr, shs[i+1].nameString...), 0)
	}
	shstr = append(shstr, ".shstrtab\x00"...)
	shs = append(shs, shdr{typ: elf.SHT_STRTAB, nameString: ".shstrtab", name: uint32(len(shstr) - len(".shstrtab\x00")),
		dataBytes: shstr, hasData: true, align: 1})
	for i := range shs {
		if shs[i].hasData {
			pad(8)
			shs[i].off = uint64(dataStart + data.Len())
			shs[i].size = uint64(len(shs[i].dataBytes))
			data.Write(shs[i].dataBytes)
		}
	}
	pad(8)
	shoff := uint64(dataStart + data.Len())

	// The headers in debug/elf's on-disk layouts: the file header, the program headers, the
	// data (from dataStart), then the section headers.
	appendLE := func(b []byte, v any) []byte {
		b, err := binary.Append(b, le, v)
		if err != nil {
			panic(err) // only a type without a fixed size fails
		}
		return b
	}
	hdr := elf.Header64{Type: uint16(spec.typ), Machine: uint16(elf.EM_X86_64), Version: uint32(elf.EV_CURRENT),
		Phoff: 64, Shoff: shoff, Ehsize: 64, Phentsize: 56, Phnum: uint16(len(spec.progs)),
		Shentsize: 64, Shnum: uint16(len(shs)), Shstrndx: uint16(len(shs) - 1)}
	copy(hdr.Ident[:], elf.ELFMAG)
	hdr.Ident[elf.EI_CLASS], hdr.Ident[elf.EI_DATA], hdr.Ident[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	out := appendLE(make([]byte, 0, int(shoff)+64*len(shs)), hdr)
	for _, p := range spec.progs {
		out = appendLE(out, elf.Prog64{Type: uint32(p.Type), Flags: uint32(p.Flags), Off: p.Off, Vaddr: p.Vaddr,
			Paddr: p.Paddr, Filesz: p.Filesz, Memsz: p.Memsz, Align: p.Align})
	}
	out = append(out, make([]byte, dataStart-len(out))...)
	out = append(out, data.Bytes()...)
	for _, s := range shs {
		out = appendLE(out, elf.Section64{Name: s.name, Type: uint32(s.typ), Flags: uint64(s.flags), Addr: s.addr,
			Off: s.off, Size: s.size, Link: s.link, Info: s.info, Addralign: s.align, Entsize: s.entsize})
	}
	return out
}

// mapsFor writes the /proc/PID/maps lines of an image whose PT_LOAD segments are mapped at base.
func mapsFor(progs []elf.ProgHeader, base uint64, path string) string {
	var b strings.Builder
	for _, p := range progs {
		if p.Type != elf.PT_LOAD {
			continue
		}
		perms := []byte("---p")
		if p.Flags&elf.PF_R != 0 {
			perms[0] = 'r'
		}
		if p.Flags&elf.PF_W != 0 {
			perms[1] = 'w'
		}
		if p.Flags&elf.PF_X != 0 {
			perms[2] = 'x'
		}
		start := base + p.Vaddr&^(pageSize-1)
		end := (base + p.Vaddr + p.Memsz + pageSize - 1) &^ (pageSize - 1)
		fmt.Fprintf(&b, "%x-%x %s %08x 08:01 4242 %s\n", start, end, perms, p.Off&^(pageSize-1), path)
	}
	return b.String()
}

// syntheticELF is a small shared library laid out like libpython: a read-only segment, an
// executable one and a writable one holding .PyRuntime and .AsyncioDebug.
func syntheticELF(pyVer uint32) elfSpec {
	return elfSpec{
		typ: elf.ET_DYN,
		progs: []elf.ProgHeader{
			{Type: elf.PT_LOAD, Flags: elf.PF_R, Off: 0, Vaddr: 0, Filesz: 0x5000, Memsz: 0x5000, Align: 0x1000},
			{Type: elf.PT_LOAD, Flags: elf.PF_R | elf.PF_X, Off: 0x5000, Vaddr: 0x5000, Filesz: 0x20000, Memsz: 0x20000, Align: 0x1000},
			{Type: elf.PT_LOAD, Flags: elf.PF_R | elf.PF_W, Off: 0x25d50, Vaddr: 0x26d50, Filesz: 0x3000, Memsz: 0x5000, Align: 0x1000},
			{Type: elf.PT_GNU_STACK, Flags: elf.PF_R | elf.PF_W},
		},
		sections: []elfSpecSection{
			{name: ".rodata", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC, addr: 0x2000, size: 0x1000, align: 32, offset: 0x2000},
			{name: ".text", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, addr: 0x5000, size: 0x20000, align: 16, offset: 0x5000},
			{name: ".PyRuntime", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC | elf.SHF_WRITE, addr: 0x26d60, size: 0x1800, align: 64, offset: 0x25d60},
			{name: ".AsyncioDebug", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC | elf.SHF_WRITE, addr: 0x28600, size: 0x100, align: 8, offset: 0x27600},
			{name: ".bss", typ: elf.SHT_NOBITS, flags: elf.SHF_ALLOC | elf.SHF_WRITE, addr: 0x29d50, size: 0x2000, align: 32, offset: 0x28d50},
		},
		pyVer:    pyVer,
		pyVerSec: ".rodata",
	}
}

// realELFSpec takes the program and section headers of a real interpreter, when one is at hand,
// so that the seeds include a real layout (many sections, segment offsets that are not page
// aligned). Its contents are dropped except for Py_Version.
func realELFSpec(path string) (elfSpec, bool) {
	f, err := elf.Open(path)
	if err != nil {
		return elfSpec{}, false
	}
	defer f.Close()
	spec := elfSpec{typ: f.Type}
	for _, p := range f.Progs {
		spec.progs = append(spec.progs, p.ProgHeader)
	}
	syms, _ := f.DynamicSymbols()
	var pyVerAddr uint64
	for _, s := range syms {
		if s.Name == "Py_Version" {
			pyVerAddr = s.Value
		}
	}
	for _, s := range f.Sections {
		switch s.Type {
		case elf.SHT_NULL, elf.SHT_DYNSYM, elf.SHT_STRTAB:
			continue // rebuilt by buildELF
		}
		sec := elfSpecSection{name: s.Name, typ: s.Type, flags: s.Flags, addr: s.Addr, size: s.Size,
			align: s.Addralign, entsize: s.Entsize, offset: s.Offset}
		if pyVerAddr != 0 && spec.pyVerSec == "" && s.Type != elf.SHT_NOBITS && pyVerAddr >= s.Addr && pyVerAddr+8 <= s.Addr+s.Size {
			var b [4]byte
			if _, err := s.ReadAt(b[:], int64(pyVerAddr-s.Addr)); err == nil {
				spec.pyVer, spec.pyVerSec = binary.LittleEndian.Uint32(b[:]), s.Name
				sec.addr = pyVerAddr
			}
		}
		spec.sections = append(spec.sections, sec)
	}
	return spec, true
}

// realInterpreters are the interpreters whose layouts seed FuzzELFImage when present.
func realInterpreters() []string {
	var paths []string
	for _, v := range []string{"3.13", "3.14", "3.15"} {
		if p := os.Getenv("AIOSCOPE_PYTHON" + strings.ReplaceAll(v, ".", "")); p != "" {
			paths = append(paths, p)
		}
		paths = append(paths, filepath.Join("..", ".cache", "sid", "usr", "bin", "python"+v))
	}
	return paths
}

func TestSyntheticELFSeeds(t *testing.T) {
	spec := syntheticELF(0x030e0af0)
	b := buildELF(spec)
	img, err := readELFImage(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	const base = 0x7f1c2a000000
	maps := ParseMaps([]byte(mapsFor(spec.progs, base, "/usr/lib/libpython3.14.so.1.0")))
	if _, addr, ok := img.sectionAddr(".PyRuntime", maps); !ok || addr != base+0x26d60 {
		t.Errorf(".PyRuntime at 0x%x (%v), want 0x%x", addr, ok, base+0x26d60)
	}
	if _, addr, ok := img.sectionAddr(".AsyncioDebug", maps); !ok || addr != base+0x28600 {
		t.Errorf(".AsyncioDebug at 0x%x (%v), want 0x%x", addr, ok, base+0x28600)
	}
	if v, ok := img.pyVersionHex(); !ok || v != 0x030e0af0 {
		t.Errorf("Py_Version 0x%x (%v)", v, ok)
	}
	for _, path := range realInterpreters() {
		spec, ok := realELFSpec(path)
		if !ok {
			continue
		}
		// The real file itself: its Py_Version is an 8-byte unsigned long.
		fh, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		real, err := readELFImage(fh)
		if err != nil {
			fh.Close()
			t.Fatalf("%s: %v", path, err)
		}
		if v, ok := real.pyVersionHex(); !ok || v>>24 != 3 || v != uint64(spec.pyVer) {
			t.Errorf("%s: Py_Version 0x%x (%v)", path, v, ok)
		}
		fh.Close()
		img, err := readELFImage(bytes.NewReader(buildELF(spec)))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if v, ok := img.pyVersionHex(); !ok || v != uint64(spec.pyVer) || v>>24 != 3 {
			t.Errorf("%s: Py_Version 0x%x (%v), want 0x%x", path, v, ok, spec.pyVer)
		}
	}
}

// FuzzELFImage checks reading the ELF files a target maps: section lookup, load bias and the
// Py_Version symbol, on mutated headers and mutated maps.
func FuzzELFImage(f *testing.F) {
	const base = 0x7f1c2a000000
	spec := syntheticELF(0x030e0af0)
	f.Add(buildELF(spec), mapsFor(spec.progs, base, "/usr/lib/libpython3.14.so.1.0"))
	noVer := syntheticELF(0)
	f.Add(buildELF(noVer), mapsFor(noVer.progs, base, "/usr/bin/python3.15"))
	// Truncated: the section headers are gone.
	f.Add(buildELF(spec)[:0x200], "")
	for _, path := range realInterpreters() {
		if spec, ok := realELFSpec(path); ok {
			f.Add(buildELF(spec), mapsFor(spec.progs, 0x55d4c8a00000, path))
		}
	}
	f.Fuzz(func(t *testing.T, file []byte, mapsText string) {
		fuzzcheck.Bounded(t, fmt.Sprintf("reading an ELF file of %d bytes", len(file)), elfAllocBound(len(file)+len(mapsText)), func() {
			img, err := readELFImage(bytes.NewReader(file))
			if err != nil {
				if img != nil {
					t.Error("image returned with an error")
				}
				return
			}
			defer img.Close()
			ms := ParseMaps([]byte(mapsText))
			for _, name := range []string{".PyRuntime", ".AsyncioDebug", ".text", ""} {
				img.sectionAddr(name, ms)
				img.sectionAddr(name, nil)
			}
			if v, ok := img.pyVersionHex(); ok && v > 1<<32 {
				t.Errorf("Py_Version 0x%x is wider than 32 bits", v)
			}
		})
	})
}

// mapsAllocBound is the most parsing n bytes of /proc/PID/maps may allocate: a small multiple
// of the input (each line becomes a Mapping, which is larger than its shortest line).
func mapsAllocBound(n int) uint64 { return 1<<20 + 64*uint64(n) }

// elfAllocBound is the most reading an ELF file of n bytes (and a maps text) may allocate. The
// header counts are 16-bit, so debug/elf's tables have a fixed ceiling; section contents are
// only read as far as the file goes.
func elfAllocBound(n int) uint64 { return 64<<20 + 16*uint64(n) }

// patchELF returns a copy of an ELF file built by buildELF with one little-endian field of
// width bytes at off replaced.
func patchELF(file []byte, off, width int, v uint64) []byte {
	out := slices.Clone(file)
	for i := 0; i < width; i++ {
		out[off+i] = byte(v >> (8 * i))
	}
	return out
}

// elfSectionField is the file offset of a field (at fieldOff in the 64-byte header) of the
// named section of an ELF file built by buildELF.
func elfSectionField(t *testing.T, file []byte, name string, fieldOff int) int {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	shoff := int(binary.LittleEndian.Uint64(file[40:]))
	for i, s := range f.Sections {
		if s.Name == name {
			return shoff + 64*i + fieldOff
		}
	}
	t.Fatalf("no section %s", name)
	return 0
}
