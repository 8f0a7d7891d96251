package cpython

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// UnicodeState is the decoded state word of a PyASCIIObject.
type UnicodeState struct {
	Kind    int  // bytes per character: 1 (Latin-1), 2 (UCS-2) or 4 (UCS-4)
	Compact bool // the characters follow the header in the same allocation
	ASCII   bool // all characters are ASCII; the data starts right after PyASCIIObject
}

// ParseUnicodeState decodes the 4-byte state bitfield (interned:2, kind:3, compact:1, ascii:1,
// statically_allocated:1). The remaining bits are padding and may hold anything.
func ParseUnicodeState(state uint32) UnicodeState {
	return UnicodeState{
		Kind:    int(state>>2) & 7,
		Compact: (state>>5)&1 != 0,
		ASCII:   (state>>6)&1 != 0,
	}
}

// Check reports whether a string in this state can be decoded from its object alone: only
// compact strings keep their characters inline, and only kinds 1, 2 and 4 exist.
func (s UnicodeState) Check() error {
	if !s.Compact {
		return errors.New("cannot read a non-compact Unicode object")
	}
	switch s.Kind {
	case 1, 2, 4:
		return nil
	}
	return fmt.Errorf("invalid Unicode kind %d", s.Kind)
}

// UnicodeDataOffset is where the characters of a compact string start: after PyASCIIObject for
// an ASCII string, after PyCompactUnicodeObject otherwise. aioscope applies this to 3.14 targets
// too, whose own reader only handles ASCII.
func (d *DebugOffsets) UnicodeDataOffset(ascii bool) uint64 {
	if d == nil {
		return 0
	}
	if ascii {
		return d.UnicodeObject.ASCIIObjectSize
	}
	return d.UnicodeObject.CompactUnicodeObjectSize
}

// DecodeUnicode converts the characters of a compact str to UTF-8: kind 1 is Latin-1, kind 2
// UCS-2 little-endian, kind 4 UCS-4 little-endian. Code points that have no UTF-8 form (lone
// surrogates, values above U+10FFFF) become U+FFFD. len(data) must be a multiple of kind.
func DecodeUnicode(kind int, data []byte) (string, error) {
	switch kind {
	case 1, 2, 4:
	default:
		return "", fmt.Errorf("invalid Unicode kind %d", kind)
	}
	if len(data)%kind != 0 {
		return "", fmt.Errorf("%d bytes of Unicode kind %d data is not a whole number of characters", len(data), kind)
	}
	var sb strings.Builder
	sb.Grow(len(data))
	for i := 0; i < len(data); i += kind {
		var r rune
		switch kind {
		case 1:
			r = rune(data[i])
		case 2:
			r = rune(binary.LittleEndian.Uint16(data[i:]))
		case 4:
			c := binary.LittleEndian.Uint32(data[i:])
			if c > utf8.MaxRune {
				c = utf8.RuneError
			}
			r = rune(c)
		}
		// WriteRune turns surrogates into U+FFFD.
		sb.WriteRune(r)
	}
	return sb.String(), nil
}

// PyLong layout constants (pycore_long.h): lv_tag holds the digit count above three flag bits,
// of which the low two are the sign.
const (
	longDigitBits     = 30
	longNonSizeBits   = 3
	longSignMask      = 3
	longSignNegative  = 2
	longSignZero      = 1
	longDigitByteSize = 4
)

// DecodeLong decodes a PyLong from its lv_tag and the bytes of its ob_digit array: the digit
// count is lvTag>>3, the sign is lvTag&3 (0 positive, 1 zero, 2 negative; bit 2 flags small
// ints and is ignored), and the digits are little-endian uint32 values of 30 bits each, least
// significant first. It fails for more than maxDigits digits, too few bytes, a digit of 2^30 or
// more, an undefined sign, and a value that does not fit in an int64.
func DecodeLong(lvTag uint64, digits []byte, maxDigits int) (int64, error) {
	ndigits := lvTag >> longNonSizeBits
	sign := lvTag & longSignMask
	if maxDigits < 0 || ndigits > uint64(maxDigits) {
		return 0, fmt.Errorf("PyLong has %d digits, more than the %d allowed", ndigits, max(maxDigits, 0))
	}
	if sign == longSignMask {
		return 0, fmt.Errorf("PyLong has an invalid sign in lv_tag %#x", lvTag)
	}
	n := int(ndigits)
	if len(digits) < n*longDigitByteSize {
		return 0, fmt.Errorf("PyLong has %d digits but only %d bytes of them", n, len(digits))
	}
	var mag uint64
	for i := n - 1; i >= 0; i-- {
		digit := binary.LittleEndian.Uint32(digits[longDigitByteSize*i:])
		if digit >= 1<<longDigitBits {
			return 0, fmt.Errorf("invalid PyLong digit %d: %#x", i, digit)
		}
		if mag > math.MaxUint64>>longDigitBits {
			return 0, errors.New("PyLong value does not fit in 64 bits")
		}
		mag = mag<<longDigitBits | uint64(digit)
	}
	switch {
	case sign == longSignZero:
		if mag != 0 {
			return 0, fmt.Errorf("PyLong marked zero has non-zero digits (lv_tag %#x)", lvTag)
		}
		return 0, nil
	case sign == longSignNegative:
		if mag > 1<<63 {
			return 0, errors.New("PyLong value does not fit in 64 bits")
		}
		return int64(-mag), nil // -(1<<63) wraps to math.MinInt64, the intended value
	default:
		if mag > math.MaxInt64 {
			return 0, errors.New("PyLong value does not fit in 64 bits")
		}
		return int64(mag), nil
	}
}
