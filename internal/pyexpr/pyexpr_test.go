package pyexpr

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aioscope/aioscope/cpython"
)

func TestParseAccepts(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"x", "x"},
		{"  x  ", "x"},
		{"_private", "_private"},
		{"héllo", "héllo"},
		{"名前", "名前"},
		{"match", "match"}, // a soft keyword is a name
		{"a.b.c", "a.b.c"},
		{"a . b", "a.b"},
		{"items[0]", "items[0]"},
		{"items[-1]", "items[-1]"},
		{"items[ - 1 ]", "items[-1]"},
		{"d['key']", "d['key']"},
		{`d["key"]`, "d['key']"},
		{`d["it's"]`, `d["it's"]`},
		{`d['it\'s']`, `d["it's"]`},
		{`d['a"b\'c']`, `d['a"b\'c']`},
		{`d['\x41\u00e9\U0001F600\n\t\\']`, `d['Aé😀\n\t\\']`},
		{`d['\101']`, "d['A']"},
		{`d['\q']`, `d['\\q']`},
		{`d[r'\d+']`, `d['\\d+']`},
		{`d[R"\""]`, `d['\\"']`},
		{`d[u'x']`, "d['x']"},
		{"d[0x10]", "d[16]"},
		{"d[0o17]", "d[15]"},
		{"d[0b101]", "d[5]"},
		{"d[1_000]", "d[1000]"},
		{"d[0x_ff]", "d[255]"},
		{"d[00]", "d[0]"},
		{"d[-9223372036854775807]", "d[-9223372036854775807]"},
		{"a.b[1]['c'].d", "a.b[1]['c'].d"},
		{"(a)", "a"},
		{"((a)).b", "a.b"},
		{"(a.b)[0]", "a.b[0]"},
		{"len(x)", "len(x)"},
		{"len( a.b[0] )", "len(a.b[0])"},
		{"len(len)", "len(len)"},
		{"len", "len"},
		{"len.x", "len.x"},
		{"x\t.\ty", "x.y"},
	} {
		e, err := Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if got := e.String(); got != c.want {
			t.Errorf("Parse(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, c := range []struct{ in, why string }{
		{"", "want a name"},
		{"   ", "want a name"},
		{"x + 1", "unexpected"},
		{"-x", "want a name"},
		{"x()", "calling x() would run code"},
		{"f(x)", "calling f() would run code"},
		{"x.f()", "calls"},
		{"len(x, y)", "len() takes one expression"},
		{"len()", "want a name"},
		{"len(x", "len() takes one expression"},
		{"items[0:2]", "subscript is one"},
		{"items[::2]", "subscript is one"},
		{"items[i]", "subscript is one"},
		{"items[1, 2]", "subscript is one"},
		{"items[-'a']", "subscript is one"},
		{"items[1.5]", "not an int"},
		{"items[1e3]", "not an int"},
		{"items[1j]", "not an int"},
		{"items[01]", "leading zeros"},
		{"items[1__0]", "malformed"},
		{"items[1_]", "malformed"},
		{"items[0x]", "malformed"},
		{"items[99999999999999999999]", "too large"},
		{"items[b'x']", "bytes keys"},
		{"items[f'{x}']", "formatted strings"},
		{"items['''x''']", "triple-quoted"},
		{"items['x]", "unterminated"},
		{"items['x\n']", "unterminated"},
		{`items['\N{DASH}']`, `\N{...}`},
		{`items['\x4']`, "malformed"},
		{`items['\ud800']`, "not a character"},
		{`items['a' 'b']`, "subscript is one"},
		{"items[", "subscript is one"},
		{"items[0", `want "]"`},
		{"x.", "attribute name"},
		{"x.1", "unexpected"},
		{"x.None", "attribute name"},
		{".x", "want a name"},
		{"None", "want a name"},
		{"True", "want a name"},
		{"not x", "want a name"},
		{"await x", "want a name"},
		{"lambda: 0", "want a name"},
		{"x if y else z", "unexpected"},
		{"[x for x in y]", "want a name"},
		{"(x", `want ")"`},
		{"x)", "unexpected"},
		{"x y", "unexpected"},
		{"x; y", "unexpected"},
		{"x\ny", "unexpected"},
		{"__import__('os').system('id')", "calling __import__() would run code"},
		{"x := 1", "unexpected"},
		{"*x", "want a name"},
		{"x[0] = 1", "unexpected"},
		{"'a'", "want a name"},
		{"1", "want a name"},
		{"\xff", "UTF-8"},
		{strings.Repeat("(", MaxDepth+2) + "x" + strings.Repeat(")", MaxDepth+2), "nested"},
		{"x" + strings.Repeat(".a", MaxDepth+2), "more than"},
		{strings.Repeat("x", MaxLen+1), "longer than"},
	} {
		e, err := Parse(c.in)
		if err == nil {
			t.Errorf("Parse(%q) = %s, want it refused", c.in, e)
			continue
		}
		if !errors.Is(err, ErrRefused) {
			t.Errorf("Parse(%q): %v does not wrap ErrRefused", c.in, err)
		}
		if !strings.Contains(err.Error(), c.why) {
			t.Errorf("Parse(%q): %q, want it to say %q", c.in, err, c.why)
		}
	}
}

func TestParseKey(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Key
	}{
		{"0", Key{}},
		{"-5", Key{Int: -5}},
		{"'x'", Key{Str: "x", IsStr: true}},
		{`"it's"`, Key{Str: "it's", IsStr: true}},
		{`'\x00'`, Key{Str: "\x00", IsStr: true}},
	} {
		k, err := ParseKey(c.in)
		if err != nil || k != c.want {
			t.Errorf("ParseKey(%q) = %+v, %v; want %+v", c.in, k, err, c.want)
		}
	}
	for _, in := range []string{"", "x", "True", "None", "1.0", "(1, 2)", "'a' 'b'", "b'x'", "- 'x'", "0 1"} {
		if k, err := ParseKey(in); err == nil {
			t.Errorf("ParseKey(%q) = %+v, want it refused", in, k)
		}
	}
}

func TestIsIdentifier(t *testing.T) {
	for _, s := range []string{"x", "_", "__init__", "héllo", "x1", "match", "type"} {
		if !IsIdentifier(s) {
			t.Errorf("IsIdentifier(%q) = false", s)
		}
	}
	for _, s := range []string{"", "1x", "a b", "a.b", "None", "class", "seconds left", "x-y", "'a'"} {
		if IsIdentifier(s) {
			t.Errorf("IsIdentifier(%q) = true", s)
		}
	}
}

func TestQuoteRoundTrip(t *testing.T) {
	for _, s := range []string{"", "x", "it's", `say "hi"`, `both ' and "`, "\x00\x7f\u0085\u00a0é\u2028😀", `back\slash`, "\t\n\r"} {
		k, err := ParseKey(Quote(s))
		if err != nil || !k.IsStr || k.Str != s {
			t.Errorf("ParseKey(Quote(%q) = %s) = %+v, %v", s, Quote(s), k, err)
		}
	}
}

// FuzzParse: Parse never panics, refuses with ErrRefused, and what it accepts it writes back in
// a form it reads as the same expression.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"x", "a.b[0]['k']", "len(x.y[-1])", `d['\x41\U0001F600']`, "(a)[0x1_0]", "x()", "d[r'\\'']",
		"items[1:2]", "f'{x}'", "((((x))))", "a.b.c.d.e", `d["\101\n"]`, "len(len(x))"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("Parse(%q): %v does not wrap ErrRefused", s, err)
			}
			return
		}
		out := e.String()
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(%q) = %s, which does not parse: %v", s, out, err)
		}
		if again.String() != out {
			t.Fatalf("Parse(%q) = %s, which parses as %s", s, out, again)
		}
	})
}

// FuzzQuote: every str written as a literal reads back as itself.
func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "it's", `"'`, "\x00é😀\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		k, err := ParseKey(Quote(s))
		if err != nil || !k.IsStr || k.Str != s {
			t.Fatalf("ParseKey(Quote(%q) = %s) = %+v, %v", s, Quote(s), k, err)
		}
	})
}

// FuzzPythonRepr: a str key as the target's repr() writes it (a dict item's name in the
// variables a debugger lists) reads back as the same text, for both versions' tables.
func FuzzPythonRepr(f *testing.F) {
	for _, s := range []string{"", "it's", `"'`, "\x00é😀\u2028\u0378", "\\"} {
		f.Add(s)
	}
	tables := []*cpython.Printable{cpython.PrintableFor(14), cpython.PrintableFor(15)}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		data := make([]byte, 0, 4*len(s))
		for _, r := range s {
			data = binary.LittleEndian.AppendUint32(data, uint32(r))
		}
		for _, p := range tables {
			lit := string(cpython.AppendStrRepr(nil, p, 4, data))
			k, err := ParseKey(lit)
			if err != nil || !k.IsStr || k.Str != s {
				t.Fatalf("ParseKey(repr(%q) = %s) = %+v, %v", s, lit, k, err)
			}
		}
	})
}
