package cpython

// Location is a source span of one instruction, as code.co_positions() reports it. Columns are
// 0-based UTF-8 byte offsets. A field CPython did not record is -1.
type Location struct {
	Line, EndLine, Column, EndColumn int
}

// Location entry kinds of co_linetable (InternalDocs/code_objects.md, _PyCodeLocationInfoKind).
const (
	locShort0    = 0 // ..9: same line, column in the code, one byte of detail
	locOneLine0  = 10
	locOneLine2  = 12
	locNoColumns = 13
	locLong      = 14
	locNone      = 15
)

// maxVarintShift is the largest shift a valid varint needs for a 32-bit value; a longer varint
// means the table is corrupt (CPython 3.15's reader draws the same line).
const maxVarintShift = 28

// maxCodeUnitIndex bounds CodeUnitIndex: CPython sizes bytecode with a C int, so an instruction
// pointer further than this from the start of the code cannot belong to that code object.
const maxCodeUnitIndex = 1<<30 - 1

// lineReader walks a location table without ever reading past its end.
type lineReader struct {
	b []byte
	p int
}

func (r *lineReader) next() (byte, bool) {
	if r.p >= len(r.b) {
		return 0, false
	}
	c := r.b[r.p]
	r.p++
	return c, true
}

// varint reads 6-bit little-endian groups; bit 6 of each byte says another byte follows.
func (r *lineReader) varint() (int, bool) {
	c, ok := r.next()
	if !ok {
		return 0, false
	}
	v := int(c & 63)
	for shift := 0; c&64 != 0; {
		if c, ok = r.next(); !ok {
			return 0, false
		}
		shift += 6
		if shift > maxVarintShift {
			return 0, false
		}
		v |= int(c&63) << shift
	}
	return v, true
}

// svarint is a varint whose low bit is the sign (not zig-zag): odd values are negative.
func (r *lineReader) svarint() (int, bool) {
	u, ok := r.varint()
	if !ok {
		return 0, false
	}
	if u&1 != 0 {
		return -(u >> 1), true
	}
	return u >> 1, true
}

// FindLocation decodes a co_linetable and returns the location of code unit addrq (the index of
// a 2-byte _Py_CODEUNIT from the start of the bytecode), starting the running line number at
// firstLine (co_firstlineno). It agrees with code.co_positions()[addrq], None mapped to -1; an
// entry without any location gives all -1 and true.
//
// It returns false when addrq is negative or beyond the last entry, and when the table is
// malformed before reaching addrq: a truncated entry, an over-long varint, a detail byte with
// its top bit set, or an entry start without its marker bit (PyBytes are NUL-terminated, so a
// NUL there is where CPython 3.14's reader stops too). Each entry consumes at least one byte,
// so the work is bounded by len(table).
func FindLocation(table []byte, firstLine int, addrq int) (Location, bool) {
	if addrq < 0 {
		return Location{}, false
	}
	r := lineReader{b: table}
	line := firstLine
	addr := 0
	for r.p < len(r.b) {
		first, _ := r.next()
		if first&0x80 == 0 {
			return Location{}, false
		}
		code := int(first>>3) & 15
		end := addr + int(first&7) + 1
		var loc Location
		switch {
		case code == locNone:
			loc = Location{-1, -1, -1, -1}
		case code == locLong:
			dline, ok1 := r.svarint()
			dend, ok2 := r.varint()
			col, ok3 := r.varint()
			endCol, ok4 := r.varint()
			if !ok1 || !ok2 || !ok3 || !ok4 {
				return Location{}, false
			}
			line += dline
			loc = Location{line, line + dend, col - 1, endCol - 1}
		case code == locNoColumns:
			dline, ok := r.svarint()
			if !ok {
				return Location{}, false
			}
			line += dline
			loc = Location{line, line, -1, -1}
		case code >= locOneLine0 && code <= locOneLine2:
			col, ok1 := r.next()
			endCol, ok2 := r.next()
			if !ok1 || !ok2 {
				return Location{}, false
			}
			line += code - locOneLine0
			loc = Location{line, line, int(col), int(endCol)}
		default: // locShort0 .. locShort0+9
			detail, ok := r.next()
			if !ok || detail&0x80 != 0 {
				return Location{}, false
			}
			col := (code-locShort0)*8 + int(detail>>4)
			loc = Location{line, line, col, col + int(detail&15)}
		}
		if addrq < end {
			return loc, true
		}
		addr = end
	}
	return Location{}, false
}

// CodeUnitIndex converts a frame's instr_ptr into the code unit index FindLocation takes:
// (instr_ptr - address of co_code_adaptive) / 2, with no adjustment (_PyInterpreterFrame_LASTI).
// It returns false when instr_ptr lies before the code, is not on a code unit boundary, or is
// implausibly far past its start, all of which mean the frame or code object was read torn.
func CodeUnitIndex(instrPtr, codeAdaptiveAddr uint64) (int, bool) {
	if instrPtr < codeAdaptiveAddr {
		return 0, false
	}
	diff := instrPtr - codeAdaptiveAddr
	if diff%2 != 0 || diff/2 > maxCodeUnitIndex {
		return 0, false
	}
	return int(diff / 2), true
}
