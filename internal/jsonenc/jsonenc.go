// Package jsonenc writes the large JSON documents aioscope produces (ps --json, pstree --json,
// the adapter's awaitGraph) and the envelopes of its protocol messages: Writer appends values to
// a buffer, AppendString escapes a string. Tens of thousands of tasks are written far faster
// than through reflection.
package jsonenc

import "unicode/utf8"

// AppendString appends s as a JSON string. Strings read from a target are normally valid
// UTF-8, but invalid bytes are replaced so that the message always parses.
func AppendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	// Most text needs no escaping: eight bytes at a time up to the first that may.
	i := plainPrefix(s)
	for i < len(s) {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but end lines in JavaScript source; escaping them
		// keeps the message safe for any consumer, as encoding/json does.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// plainPrefix returns the length of the longest prefix of s, in whole words of eight bytes,
// with no byte that AppendString escapes or decodes: control characters, '"', '\\' and bytes
// of multi-byte sequences.
func plainPrefix(s string) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		quote, backslash := x^(ones*'"'), x^(ones*'\\')
		// A byte below 0x20, a zero byte of quote or backslash, or a high bit sets a high bit
		// here (the classic test for a zero byte, with x < 0x20 for a control character).
		if ((x-ones*0x20)|(quote-ones)|(backslash-ones)|x)&highs != 0 {
			break
		}
	}
	return i
}
