package jsonenc

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAppendString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", `"plain"`},
		{"a\"b\\c", `"a\"b\\c"`},
		{"\n\r\t\x00\x1f", `"\n\r\t\u0000\u001f"`},
		{"zażółć λ 𐌀", `"zażółć λ 𐌀"`},
		{"bad \xff byte", `"bad \ufffd byte"`},
		{"line\u2028para\u2029", `"line\u2028para\u2029"`},
	} {
		got := string(AppendString(nil, tc.in))
		if got != tc.want {
			t.Errorf("AppendString(%q) = %s, want %s", tc.in, got, tc.want)
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Errorf("%s does not parse: %v", got, err)
		}
	}
}

// TestAppendStringLong checks the eight-bytes-at-a-time path against the byte-at-a-time one:
// every byte that needs escaping, at every position of strings longer than a word.
func TestAppendStringLong(t *testing.T) {
	specials := []string{"\"", "\\", "\n", "\x00", "\x1f", "\x7f", "é", "\xff", "\u2028", "😀", " ", "~"}
	for n := 0; n < 40; n++ {
		for _, sp := range specials {
			for at := 0; at <= n; at++ {
				s := strings.Repeat("a", at) + sp + strings.Repeat("b", n-at)
				got := string(AppendString(nil, s))
				want := string(appendStringBytewise(nil, s))
				if got != want {
					t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
				}
			}
		}
	}
}

// appendStringBytewise is AppendString without its fast path.
func appendStringBytewise(b []byte, s string) []byte {
	// Pieces shorter than a word never take the fast path.
	out := append(b, '"')
	for len(s) > 0 {
		n := min(len(s), 7)
		// Do not split a UTF-8 sequence.
		for n < len(s) && n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		if n == 0 {
			n = min(len(s), 7)
		}
		piece := AppendString(nil, s[:n])
		out = append(out, piece[1:len(piece)-1]...)
		s = s[n:]
	}
	return append(out, '"')
}
