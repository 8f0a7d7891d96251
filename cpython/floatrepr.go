package cpython

import (
	"math"
	"strconv"
)

// AppendFloatRepr appends repr(x) as CPython 3.14 and 3.15 print it (float_repr, that is
// PyOS_double_to_string(x, 'r', 0, Py_DTSF_ADD_DOT_0)): the shortest digits that read back as
// x, laid out in exponent form when the decimal exponent is below -4 or at least 16, and with
// ".0" added to integral values. NaN is "nan" whatever its sign.
//
// strconv's shortest formatting yields exactly the digits of David Gay's dtoa mode 0, which
// CPython uses (the nearest shortest string, exact ties to even); only the layout differs.
func AppendFloatRepr(dst []byte, x float64) []byte {
	switch {
	case math.IsNaN(x):
		return append(dst, "nan"...)
	case math.IsInf(x, 1):
		return append(dst, "inf"...)
	case math.IsInf(x, -1):
		return append(dst, "-inf"...)
	}
	var buf [32]byte
	s := strconv.AppendFloat(buf[:0], x, 'e', -1, 64) // [-]d[.ddd]e±dd
	if s[0] == '-' {
		dst = append(dst, '-')
		s = s[1:]
	}
	var digits [24]byte
	nd := 0
	i := 0
	for ; i < len(s) && s[i] != 'e'; i++ {
		if s[i] != '.' {
			digits[nd] = s[i]
			nd++
		}
	}
	exp := 0
	neg := s[i+1] == '-'
	for _, c := range s[i+2:] {
		exp = exp*10 + int(c-'0')
	}
	if neg {
		exp = -exp
	}
	d := digits[:nd]
	decpt := exp + 1 // x = 0.DIGITS × 10^decpt
	if decpt <= -4 || decpt > 16 {
		dst = append(dst, d[0])
		if len(d) > 1 {
			dst = append(dst, '.')
			dst = append(dst, d[1:]...)
		}
		e := decpt - 1
		dst = append(dst, 'e')
		if e < 0 {
			dst = append(dst, '-')
			e = -e
		} else {
			dst = append(dst, '+')
		}
		if e < 10 {
			dst = append(dst, '0')
		}
		return strconv.AppendInt(dst, int64(e), 10)
	}
	switch {
	case decpt <= 0:
		dst = append(dst, '0', '.')
		for range -decpt {
			dst = append(dst, '0')
		}
		dst = append(dst, d...)
	case decpt >= len(d):
		dst = append(dst, d...)
		for range decpt - len(d) {
			dst = append(dst, '0')
		}
		dst = append(dst, '.', '0')
	default:
		dst = append(dst, d[:decpt]...)
		dst = append(dst, '.')
		dst = append(dst, d[decpt:]...)
	}
	return dst
}

// FloatRepr returns repr(x); see AppendFloatRepr.
func FloatRepr(x float64) string { return string(AppendFloatRepr(nil, x)) }

// RoundFloat is Python's round(x, ndigits) for a float and 0 <= ndigits <= 17: x rounded
// correctly to ndigits decimals, exact ties to even (CPython's double_round uses dtoa mode 3
// and reads the digits back; strconv's fixed formatting is correctly rounded the same way).
func RoundFloat(x float64, ndigits int) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) || x == 0 || ndigits < 0 || ndigits > 17 {
		return x
	}
	r, err := strconv.ParseFloat(strconv.FormatFloat(x, 'f', ndigits, 64), 64)
	if err != nil {
		return x
	}
	if r == 0 {
		return math.Copysign(0, x)
	}
	return r
}
