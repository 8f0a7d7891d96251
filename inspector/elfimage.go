package inspector

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// elfSection is a section's place in the file's virtual address space.
type elfSection struct {
	Addr, Size uint64
}

// elfImage is what the inspector needs from one ELF file mapped into the target: its sections
// and load segments, to turn a section's link-time address into the target's address.
type elfImage struct {
	file     *elf.File
	sections map[string]elfSection
	loads    []elf.ProgHeader
	closer   io.Closer // the open file behind file, if any
}

func (img *elfImage) Close() error {
	if img.closer == nil {
		return nil
	}
	return img.closer.Close()
}

// maxSectionHeaders bounds the work spent on a hostile or corrupt file.
const maxSectionHeaders = 1 << 16

// readELFImage reads the headers of an ELF file. The file may be anything the target mapped, so
// every failure is an ordinary error.
func readELFImage(r io.ReaderAt) (img *elfImage, err error) {
	// debug/elf is not hardened against every malformed input; a panic there must not take
	// the tool down with it.
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, fmt.Errorf("malformed ELF file: %v", p)
		}
	}()
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, err
	}
	if len(f.Sections) > maxSectionHeaders {
		return nil, fmt.Errorf("malformed ELF file: %d section headers", len(f.Sections))
	}
	img = &elfImage{file: f, sections: make(map[string]elfSection, len(f.Sections))}
	for _, s := range f.Sections {
		if _, dup := img.sections[s.Name]; !dup {
			img.sections[s.Name] = elfSection{Addr: s.Addr, Size: s.Size}
		}
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			img.loads = append(img.loads, p.ProgHeader)
		}
	}
	if len(img.loads) == 0 {
		return nil, errors.New("no PT_LOAD segment")
	}
	return img, nil
}

// mapPageSize is the granularity of the kernel's file mappings on x86-64.
const mapPageSize = 4096

// loadBias returns what to add to a link-time address of this image to get the address in the
// target, given the file's mappings in address order.
func (img *elfImage) loadBias(maps []Mapping) (uint64, bool) {
	for _, m := range maps {
		for _, p := range img.loads {
			segStart := p.Off &^ (mapPageSize - 1)
			if m.Offset < segStart || m.Offset >= p.Off+p.Filesz {
				continue
			}
			// The link-time address that sits at file offset m.Offset in this segment.
			vaddr := p.Vaddr - (p.Off - m.Offset)
			return m.Start - vaddr, true
		}
	}
	if len(maps) == 0 {
		return 0, false
	}
	// CPython's own rule: the first mapping holds the start of the first PT_LOAD.
	p := img.loads[0]
	align := max(p.Align, 1)
	return maps[0].Start - (p.Vaddr - p.Vaddr%align), true
}

// sectionAddr returns the target address of the named section.
func (img *elfImage) sectionAddr(name string, maps []Mapping) (elfSection, uint64, bool) {
	s, ok := img.sections[name]
	if !ok || s.Addr == 0 {
		return s, 0, false
	}
	bias, ok := img.loadBias(maps)
	if !ok {
		return s, 0, false
	}
	return s, s.Addr + bias, true
}

// pyVersionHex returns the value of the exported Py_Version constant (CPython 3.11 and later),
// which names the version of interpreters aioscope cannot read.
func (img *elfImage) pyVersionHex() (uint64, bool) {
	syms, err := img.file.DynamicSymbols()
	if err != nil {
		return 0, false
	}
	for _, s := range syms {
		// Py_Version is a `const unsigned long`: 8 bytes on 64-bit Linux. Its low 4 bytes (first,
		// little-endian) hold the value; 4-byte symbols are accepted too.
		if s.Name != "Py_Version" || (s.Size != 4 && s.Size != 8) {
			continue
		}
		for _, sec := range img.file.Sections {
			if sec.Type == elf.SHT_NOBITS || s.Value < sec.Addr || s.Value+4 > sec.Addr+sec.Size {
				continue
			}
			var b [4]byte
			if _, err := sec.ReadAt(b[:], int64(s.Value-sec.Addr)); err != nil {
				return 0, false
			}
			return uint64(binary.LittleEndian.Uint32(b[:])), true
		}
	}
	return 0, false
}
