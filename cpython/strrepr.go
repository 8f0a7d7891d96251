package cpython

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"unicode"
)

// str.isprintable() follows the Unicode database of each interpreter: 16.0.0 in 3.14, 17.0.0
// in 3.15. Go's unicode package is older, so the tables are taken from the interpreters
// themselves (unicode/nonprintable-3.1x.txt: inclusive ranges of code points for which
// chr(c).isprintable() is False, as hexadecimal "START END" lines). TestNonPrintableTables
// checks them against the interpreters and rewrites them with -update-unicode.

//go:embed unicode/nonprintable-3.14.txt
var nonPrintable314 []byte

//go:embed unicode/nonprintable-3.15.txt
var nonPrintable315 []byte

// Printable answers str.isprintable() for single code points of one Python version.
type Printable struct {
	starts, ends []rune // sorted, disjoint ranges of non-printable code points
}

var printableTables = sync.OnceValues(func() ([2]*Printable, error) {
	var out [2]*Printable
	for i, data := range [][]byte{nonPrintable314, nonPrintable315} {
		p, err := ParsePrintable(data)
		if err != nil {
			return out, err
		}
		out[i] = p
	}
	return out, nil
})

// PrintableFor returns the table of a Python minor version: 3.14's for 14, 3.15's for 15 and
// any other.
func PrintableFor(minor int) *Printable {
	tables, err := printableTables()
	if err != nil {
		// The tables are compiled in and checked by the tests; this cannot happen at run time.
		panic("cpython: embedded Unicode tables are corrupt: " + err.Error())
	}
	if minor == 14 {
		return tables[0]
	}
	return tables[1]
}

// ParsePrintable reads a table of non-printable ranges ("START END" hexadecimal lines).
func ParsePrintable(data []byte) (*Printable, error) {
	p := &Printable{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		f := bytes.Fields(sc.Bytes())
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("line %d: want START END", line)
		}
		a, err1 := strconv.ParseUint(string(f[0]), 16, 32)
		b, err2 := strconv.ParseUint(string(f[1]), 16, 32)
		if err1 != nil || err2 != nil || a > b || b > 0x10FFFF {
			return nil, fmt.Errorf("line %d: bad range %q", line, sc.Bytes())
		}
		if n := len(p.ends); n > 0 && rune(a) <= p.ends[n-1] {
			return nil, fmt.Errorf("line %d: ranges out of order", line)
		}
		p.starts = append(p.starts, rune(a))
		p.ends = append(p.ends, rune(b))
	}
	if len(p.starts) == 0 {
		return nil, fmt.Errorf("empty table")
	}
	return p, sc.Err()
}

// Ranges returns the number of non-printable ranges.
func (p *Printable) Ranges() int { return len(p.starts) }

// IsPrintable reports str.isprintable() for one code point. Values outside Unicode are not
// printable.
func (p *Printable) IsPrintable(c rune) bool {
	if c < 0 || c > 0x10FFFF {
		return false
	}
	if c >= 0x20 && c < 0x7F {
		return true
	}
	i := sort.Search(len(p.ends), func(i int) bool { return p.ends[i] >= c })
	return i == len(p.ends) || c < p.starts[i]
}

// CodePoint returns code point i of str data of the given kind (1, 2 or 4 bytes per code point,
// little-endian). The caller keeps i within len(data)/kind.
func CodePoint(kind int, data []byte, i int) rune {
	switch kind {
	case 1:
		return rune(data[i])
	case 2:
		return rune(binary.LittleEndian.Uint16(data[2*i:]))
	}
	return rune(binary.LittleEndian.Uint32(data[4*i:]))
}

// StrQuote is the quote repr() puts around a str or bytes: a double quote when the text holds
// a single quote and no double quote, a single quote otherwise.
func StrQuote(hasSingle, hasDouble bool) byte {
	if hasSingle && !hasDouble {
		return '"'
	}
	return '\''
}

// StrQuotes reports whether str data holds single and double quotes.
func StrQuotes(kind int, data []byte) (single, double bool) {
	n := len(data) / kind
	for i := 0; i < n && !(single && double); i++ {
		switch CodePoint(kind, data, i) {
		case '\'':
			single = true
		case '"':
			double = true
		}
	}
	return single, double
}

const hexDigits = "0123456789abcdef"

// AppendStrBody appends the code points of str data, escaped as repr() escapes them inside the
// given quote (_PyUnicode_Repr): the quote and backslash escaped, \t \n \r, \xhh below 0x20 and
// for 0x7F, printable characters as they are, other ones as \xhh, \uhhhh or \Uhhhhhhhh. kind is
// 1, 2 or 4 and len(data) a multiple of it. A code point without a UTF-8 form is never written:
// surrogates and values past U+10FFFF are not printable, so they are escaped.
func AppendStrBody(dst []byte, p *Printable, quote byte, kind int, data []byte) []byte {
	n := len(data) / kind
	for i := 0; i < n; i++ {
		c := CodePoint(kind, data, i)
		// u is c as the unsigned 32-bit value memory holds: garbage past U+10FFFF can be a
		// negative rune, and is escaped like any other value past it.
		u := uint32(c)
		switch e := shortEscape(c, quote); {
		case e != 0:
			dst = append(dst, '\\', e)
		case u < 0x20 || u == 0x7F:
			dst = append(dst, '\\', 'x', hexDigits[u>>4], hexDigits[u&15])
		case u < 0x7F:
			dst = append(dst, byte(u))
		case u <= unicode.MaxRune && p.IsPrintable(c):
			dst = appendRune(dst, c)
		case u <= 0xFF:
			dst = append(dst, '\\', 'x', hexDigits[u>>4], hexDigits[u&15])
		case u <= 0xFFFF:
			dst = append(dst, '\\', 'u')
			dst = appendHex(dst, u, 4)
		default:
			dst = append(dst, '\\', 'U')
			dst = appendHex(dst, u, 8)
		}
	}
	return dst
}

// shortEscape is the letter str and bytes reprs alike write after a backslash for c inside the
// given quote: the quote itself, the backslash, t, n and r; 0 when c is written otherwise.
func shortEscape(c rune, quote byte) byte {
	switch c {
	case rune(quote), '\\':
		return byte(c)
	case '\t':
		return 't'
	case '\n':
		return 'n'
	case '\r':
		return 'r'
	}
	return 0
}

// AppendStrRepr appends repr() of a whole str given by its data.
func AppendStrRepr(dst []byte, p *Printable, kind int, data []byte) []byte {
	q := StrQuote(StrQuotes(kind, data))
	dst = append(dst, q)
	dst = AppendStrBody(dst, p, q, kind, data)
	return append(dst, q)
}

func appendHex(dst []byte, v uint32, width int) []byte {
	for shift := 4 * (width - 1); shift >= 0; shift -= 4 {
		dst = append(dst, hexDigits[(v>>shift)&15])
	}
	return dst
}

// appendRune writes a valid, non-surrogate code point as UTF-8.
func appendRune(dst []byte, c rune) []byte {
	switch {
	case c < 0x80:
		return append(dst, byte(c))
	case c < 0x800:
		return append(dst, 0xC0|byte(c>>6), 0x80|byte(c)&0x3F)
	case c < 0x10000:
		return append(dst, 0xE0|byte(c>>12), 0x80|byte(c>>6)&0x3F, 0x80|byte(c)&0x3F)
	}
	return append(dst, 0xF0|byte(c>>18), 0x80|byte(c>>12)&0x3F, 0x80|byte(c>>6)&0x3F, 0x80|byte(c)&0x3F)
}

// BytesQuotes reports whether bytes data holds single and double quotes.
func BytesQuotes(data []byte) (single, double bool) {
	return bytes.IndexByte(data, '\'') >= 0, bytes.IndexByte(data, '"') >= 0
}

// AppendBytesBody appends bytes data escaped as bytes.__repr__ escapes it inside the given
// quote: the quote and backslash escaped, \t \n \r, \xhh for other bytes below 0x20 or from
// 0x7F, the rest as ASCII.
func AppendBytesBody(dst []byte, quote byte, data []byte) []byte {
	for _, c := range data {
		switch e := shortEscape(rune(c), quote); {
		case e != 0:
			dst = append(dst, '\\', e)
		case c < 0x20 || c >= 0x7F:
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// AppendBytesRepr appends repr() of a whole bytes object given by its data: b'...'.
func AppendBytesRepr(dst []byte, data []byte) []byte {
	q := StrQuote(BytesQuotes(data))
	dst = append(dst, 'b', q)
	dst = AppendBytesBody(dst, q, data)
	return append(dst, q)
}
