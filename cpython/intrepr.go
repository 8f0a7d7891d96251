package cpython

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
)

// PythonMaxStrDigits is CPython's default limit on the decimal digits of an int that repr()
// and str() convert (sys.get_int_max_str_digits()); past it they raise ValueError.
const PythonMaxStrDigits = 4300

// LongTag is a decoded PyLongObject.lv_tag.
type LongTag struct {
	NDigits  uint64 // number of 30-bit digits
	Negative bool
	Zero     bool
}

// ParseLongTag decodes lv_tag: the digit count above three flag bits, of which the low two are
// the sign (0 positive, 1 zero, 2 negative). Sign 3 does not exist; a zero with digits or a
// non-zero without any cannot be a real int.
func ParseLongTag(lvTag uint64) (LongTag, error) {
	t := LongTag{NDigits: lvTag >> longNonSizeBits}
	switch lvTag & longSignMask {
	case 0:
	case longSignZero:
		t.Zero = true
	case longSignNegative:
		t.Negative = true
	default:
		return t, fmt.Errorf("PyLong has an invalid sign in lv_tag %#x", lvTag)
	}
	if t.Zero != (t.NDigits == 0) {
		return t, fmt.Errorf("PyLong lv_tag %#x: sign and digit count disagree", lvTag)
	}
	return t, nil
}

// ErrLongDigit reports a 30-bit digit with bits above the 30th set: a torn or corrupt int.
var ErrLongDigit = errors.New("PyLong digit out of range")

// FormatLong renders an int from its tag and the bytes of all its digits (little-endian uint32s
// of 30 bits, least significant first). An int of at most maxDecimal decimal digits is written
// out as repr() does; a bigger one (CPython's repr raises ValueError past 4300 digits) becomes
// the marker "<int of N digits>", with "-" before N for negative values.
func FormatLong(t LongTag, digits []byte, maxDecimal int) (string, error) {
	n := int(t.NDigits)
	if t.NDigits > math.MaxInt32 || len(digits) < 4*n {
		return "", fmt.Errorf("PyLong has %d digits but only %d bytes of them", t.NDigits, len(digits))
	}
	if n == 0 {
		return "0", nil
	}
	if n <= 2 {
		var v uint64
		for i := n - 1; i >= 0; i-- {
			d := binary.LittleEndian.Uint32(digits[4*i:])
			if d >= 1<<longDigitBits {
				return "", ErrLongDigit
			}
			v = v<<longDigitBits | uint64(d)
		}
		if v == 0 {
			return "", fmt.Errorf("PyLong with %d digits is zero", n)
		}
		s := strconv.FormatUint(v, 10)
		if t.Negative {
			s = "-" + s
		}
		return s, nil
	}
	x, err := longMagnitude(digits[:4*n])
	if err != nil {
		return "", err
	}
	if x.Sign() == 0 || binary.LittleEndian.Uint32(digits[4*(n-1):]) == 0 {
		// CPython normalizes ints: the top digit of a non-zero int is never 0.
		return "", fmt.Errorf("PyLong with %d digits is not normalized", n)
	}
	if maxDecimal > 0 {
		if nd := decimalDigits(x); nd > maxDecimal {
			return longMarker(t.Negative, fmt.Sprintf("%d digits", nd)), nil
		}
	}
	if t.Negative {
		x.Neg(x)
	}
	return x.String(), nil
}

// FormatLongBits is the marker for an int too big to read whole: only its size is known, from
// the digit count and the top digit.
func FormatLongBits(t LongTag, top uint32) string {
	bits := uint64(0)
	if t.NDigits > 0 {
		bits = (t.NDigits-1)*longDigitBits + uint64(big.NewInt(int64(top)).BitLen())
	}
	return longMarker(t.Negative, fmt.Sprintf("%d bits", bits))
}

func longMarker(neg bool, size string) string {
	if neg {
		return "<negative int of " + size + ">"
	}
	return "<int of " + size + ">"
}

func longMagnitude(digits []byte) (*big.Int, error) {
	n := len(digits) / 4
	words := make([]big.Word, 0, (n*longDigitBits+63)/64+1)
	var acc uint64
	accBits := 0
	for i := 0; i < n; i++ {
		d := uint64(binary.LittleEndian.Uint32(digits[4*i:]))
		if d >= 1<<longDigitBits {
			return nil, ErrLongDigit
		}
		acc |= d << accBits
		accBits += longDigitBits
		if accBits >= 64 {
			words = append(words, big.Word(acc))
			accBits -= 64
			acc = d >> (longDigitBits - accBits)
		}
	}
	if accBits > 0 {
		words = append(words, big.Word(acc))
	}
	return new(big.Int).SetBits(words), nil
}

// decimalDigits counts the decimal digits of x > 0 without converting it: estimated from its
// bit length, then corrected against a power of ten.
func decimalDigits(x *big.Int) int {
	b := x.BitLen()
	est := int(float64(b-1)*math.Log10(2)) + 1 // digits of 2^(b-1)
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(est-1)), nil)
	ten := big.NewInt(10)
	for i := 0; i < 4 && x.Cmp(p) < 0 && est > 1; i++ {
		p.Div(p, ten)
		est--
	}
	for i := 0; i < 4; i++ {
		next := new(big.Int).Mul(p, ten)
		if x.Cmp(next) < 0 {
			break
		}
		p = next
		est++
	}
	return est
}
