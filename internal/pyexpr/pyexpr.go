// Package pyexpr parses the small part of Python's expression syntax that names a value without
// computing anything: names, attributes, subscripts with an int or str literal, and len(). It
// is what a debugger that only reads memory can evaluate: `request.headers['host']`,
// `items[-1]`, `len(queue._queue)`. Nothing is ever executed; anything else — calls, operators,
// slices, comprehensions — is refused.
package pyexpr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Expr is a parsed expression: *Name, *Attr, *Index or *Len.
type Expr interface {
	// String writes the expression back in canonical form, which Parse reads as the same Expr.
	String() string
	expr()
}

// Name is a variable: a local of the frame, a global of its module or a builtin.
type Name struct{ Name string }

// Attr is X.Name.
type Attr struct {
	X    Expr
	Name string
}

// Index is X[Key].
type Index struct {
	X   Expr
	Key Key
}

// Len is len(X).
type Len struct{ X Expr }

// Key is a subscript: an int or a str literal.
type Key struct {
	Str   string
	Int   int64
	IsStr bool
}

func (*Name) expr()  {}
func (*Attr) expr()  {}
func (*Index) expr() {}
func (*Len) expr()   {}

func (e *Name) String() string  { return e.Name }
func (e *Attr) String() string  { return e.X.String() + "." + e.Name }
func (e *Index) String() string { return e.X.String() + "[" + e.Key.String() + "]" }
func (e *Len) String() string   { return "len(" + e.X.String() + ")" }

// String writes the key as a Python literal.
func (k Key) String() string {
	if k.IsStr {
		return Quote(k.Str)
	}
	return strconv.FormatInt(k.Int, 10)
}

// Limits on what Parse accepts: a hover or watch expression is short, and nesting is bounded
// so that a hostile expression cannot exhaust the stack.
const (
	MaxLen   = 4096
	MaxDepth = 64
)

// ErrRefused is wrapped by every error of Parse: the text is not an expression of this
// language (it may well be valid Python, which aioscope will not run).
var ErrRefused = errors.New("not an expression aioscope reads")

// SyntaxError is a refused expression: where and why.
type SyntaxError struct {
	Pos int // byte offset in the text
	Msg string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("at %d: %s", e.Pos, e.Msg) }
func (e *SyntaxError) Unwrap() error { return ErrRefused }

// Parse parses one expression. Whitespace between tokens is allowed, as in Python.
func Parse(text string) (Expr, error) {
	if len(text) > MaxLen {
		return nil, &SyntaxError{Pos: MaxLen, Msg: fmt.Sprintf("longer than %d bytes", MaxLen)}
	}
	if !utf8.ValidString(text) {
		return nil, &SyntaxError{Msg: "not valid UTF-8"}
	}
	p := &parser{src: text}
	p.next()
	e, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.errorf("unexpected %s", p.tok.describe())
	}
	return e, nil
}

// ParseKey parses a subscript literal: an int (possibly negative) or a str.
func ParseKey(text string) (Key, error) {
	p := &parser{src: text}
	p.next()
	k, err := p.key()
	if err != nil {
		return Key{}, err
	}
	if p.tok.kind != tokEOF {
		return Key{}, p.errorf("unexpected %s", p.tok.describe())
	}
	return k, nil
}

// IsIdentifier reports whether s is a Python identifier that is not a keyword, so that X.s is
// an attribute expression.
func IsIdentifier(s string) bool {
	if s == "" || keywords[s] {
		return false
	}
	for i, r := range s {
		if !(isIDStart(r) || i > 0 && isIDContinue(r)) {
			return false
		}
	}
	return true
}

// keywords cannot be names (soft keywords such as match and type can).
var keywords = map[string]bool{
	"False": true, "None": true, "True": true, "and": true, "as": true, "assert": true, "async": true,
	"await": true, "break": true, "class": true, "continue": true, "def": true, "del": true, "elif": true,
	"else": true, "except": true, "finally": true, "for": true, "from": true, "global": true, "if": true,
	"import": true, "in": true, "is": true, "lambda": true, "nonlocal": true, "not": true, "or": true,
	"pass": true, "raise": true, "return": true, "try": true, "while": true, "with": true, "yield": true,
}

// isIDStart and isIDContinue approximate Python's XID_Start and XID_Continue (the identifier
// may still name nothing, which the lookup reports).
func isIDStart(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.Is(unicode.Nl, r) || unicode.Is(unicode.Other_ID_Start, r)
}

func isIDContinue(r rune) bool {
	return isIDStart(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) ||
		unicode.Is(unicode.Nd, r) || unicode.Is(unicode.Pc, r) || unicode.Is(unicode.Other_ID_Continue, r)
}

// Quote writes s as a Python str literal, as repr() does: single quotes unless s has a single
// quote and no double quote; backslash escapes for the quote, backslash, \t \n \r, other
// control and non-printable characters.
func Quote(s string) string {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == rune(quote) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x7f || unicode.IsPrint(r):
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokName
	tokInt
	tokStr
	tokOp // one of . [ ] ( ) -
	tokOther
)

type token struct {
	kind tokKind
	pos  int
	text string // a name, an operator, or what was met
	str  string // a str literal's value
	num  int64  // an int literal's value (unsigned part)
	err  string // a malformed literal: why
}

func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of expression"
	case tokName:
		return "name " + strconv.Quote(t.text)
	case tokInt:
		return "number " + t.text
	case tokStr:
		return "string"
	}
	return strconv.Quote(t.text)
}

type parser struct {
	src string
	pos int
	tok token
}

func (p *parser) errorf(format string, args ...any) error {
	return &SyntaxError{Pos: p.tok.pos, Msg: fmt.Sprintf(format, args...)}
}

// expr := postfix ; postfix := primary { "." NAME | "[" key "]" } ;
// primary := NAME | "len" "(" expr ")" | "(" expr ")"
func (p *parser) expr(depth int) (Expr, error) {
	if depth > MaxDepth {
		return nil, p.errorf("nested more than %d levels deep", MaxDepth)
	}
	var x Expr
	switch t := p.tok; {
	case t.kind == tokName:
		p.next()
		if p.tok.kind == tokOp && p.tok.text == "(" {
			if t.text != "len" {
				return nil, &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf("calling %s() would run code; only len() is read", t.text)}
			}
			p.next()
			inner, err := p.expr(depth + 1)
			if err != nil {
				return nil, err
			}
			if p.tok.kind != tokOp || p.tok.text != ")" {
				return nil, p.errorf("len() takes one expression: want \")\", got %s", p.tok.describe())
			}
			p.next()
			x = &Len{X: inner}
		} else {
			x = &Name{Name: t.text}
		}
	case t.kind == tokOp && t.text == "(":
		p.next()
		inner, err := p.expr(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokOp || p.tok.text != ")" {
			return nil, p.errorf("want \")\", got %s", p.tok.describe())
		}
		p.next()
		x = inner
	case t.err != "":
		return nil, p.errorf("%s", t.err)
	default:
		return nil, p.errorf("want a name, got %s", t.describe())
	}
	for steps := 0; ; steps++ {
		if steps > MaxDepth {
			return nil, p.errorf("more than %d attributes and subscripts", MaxDepth)
		}
		if p.tok.kind != tokOp {
			return x, nil
		}
		switch p.tok.text {
		case ".":
			p.next()
			if p.tok.kind != tokName {
				return nil, p.errorf("want an attribute name after \".\", got %s", p.tok.describe())
			}
			x = &Attr{X: x, Name: p.tok.text}
			p.next()
		case "[":
			p.next()
			k, err := p.key()
			if err != nil {
				return nil, err
			}
			if p.tok.kind != tokOp || p.tok.text != "]" {
				return nil, p.errorf("a subscript is one int or str literal: want \"]\", got %s", p.tok.describe())
			}
			p.next()
			x = &Index{X: x, Key: k}
		case "(":
			return nil, p.errorf("calls would run code")
		default:
			return x, nil
		}
	}
}

// key := ["-"] INT | STR
func (p *parser) key() (Key, error) {
	neg := false
	if p.tok.kind == tokOp && p.tok.text == "-" {
		neg = true
		p.next()
	}
	switch t := p.tok; {
	case t.kind == tokInt:
		p.next()
		if neg {
			return Key{Int: -t.num}, nil
		}
		return Key{Int: t.num}, nil
	case t.kind == tokStr && !neg:
		p.next()
		return Key{Str: t.str, IsStr: true}, nil
	case t.err != "":
		return Key{}, p.errorf("%s", t.err)
	}
	return Key{}, p.errorf("a subscript is one int or str literal, got %s", p.tok.describe())
}

// next reads the next token into p.tok.
func (p *parser) next() {
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c != ' ' && c != '\t' && c != '\f' {
			break
		}
		p.pos++
	}
	start := p.pos
	if p.pos >= len(p.src) {
		p.tok = token{kind: tokEOF, pos: start}
		return
	}
	c := p.src[p.pos]
	switch {
	case c == '.' && !(p.pos+1 < len(p.src) && isDigit(p.src[p.pos+1])):
		p.pos++
		p.tok = token{kind: tokOp, pos: start, text: "."}
	case c == '[' || c == ']' || c == '(' || c == ')' || c == '-':
		p.pos++
		p.tok = token{kind: tokOp, pos: start, text: string(c)}
	case isDigit(c) || c == '.':
		p.tok = p.number()
	case c == '\'' || c == '"':
		p.tok = p.str(start, start, false)
	default:
		r, size := utf8.DecodeRuneInString(p.src[p.pos:])
		if !isIDStart(r) {
			p.pos += size
			p.tok = token{kind: tokOther, pos: start, text: string(r)}
			return
		}
		end := p.pos + size
		for end < len(p.src) {
			r, size := utf8.DecodeRuneInString(p.src[end:])
			if !isIDContinue(r) {
				break
			}
			end += size
		}
		word := p.src[p.pos:end]
		// String prefixes: r'' and u'' are plain str literals; b'' and f'' are not keys.
		if end < len(p.src) && (p.src[end] == '\'' || p.src[end] == '"') {
			switch strings.ToLower(word) {
			case "r", "u":
				p.tok = p.str(start, end, strings.ToLower(word) == "r")
				return
			case "b", "rb", "br":
				p.pos = end
				p.tok = token{kind: tokOther, pos: start, text: word + "'", err: "bytes keys are not read; use an int or str"}
				return
			case "f", "rf", "fr", "t", "rt", "tr":
				p.pos = end
				p.tok = token{kind: tokOther, pos: start, text: word + "'", err: "formatted strings run code"}
				return
			}
		}
		p.pos = end
		if keywords[word] {
			p.tok = token{kind: tokOther, pos: start, text: word}
			return
		}
		p.tok = token{kind: tokName, pos: start, text: word}
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number reads an int literal: decimal (no leading zeros but 0), 0x, 0o or 0b, with single
// underscores between digits. Floats, imaginary numbers and ints beyond 64 bits are refused.
func (p *parser) number() token {
	start := p.pos
	end := start
	for end < len(p.src) {
		c := p.src[end]
		if isDigit(c) || c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			end++
			continue
		}
		break
	}
	text := p.src[start:end]
	p.pos = end
	bad := func(why string) token { return token{kind: tokOther, pos: start, text: text, err: why} }
	base, digits := 10, text
	if len(text) > 1 && text[0] == '0' {
		switch text[1] {
		case 'x', 'X':
			base, digits = 16, text[2:]
		case 'o', 'O':
			base, digits = 8, text[2:]
		case 'b', 'B':
			base, digits = 2, text[2:]
		}
		if base != 10 && strings.HasPrefix(digits, "_") {
			digits = digits[1:]
		}
	}
	if digits == "" || strings.HasPrefix(digits, "_") || strings.HasSuffix(digits, "_") || strings.Contains(digits, "__") {
		return bad("malformed number " + strconv.Quote(text))
	}
	clean := strings.ReplaceAll(digits, "_", "")
	if base == 10 && len(clean) > 1 && clean[0] == '0' && strings.Trim(clean, "0") != "" {
		return bad("leading zeros in a decimal number are not allowed")
	}
	for _, c := range clean {
		if d := digitValue(c); d < 0 || d >= base {
			return bad("number " + strconv.Quote(text) + " is not an int; subscripts are int or str literals")
		}
	}
	v, err := strconv.ParseUint(clean, base, 63)
	if err != nil {
		return bad("number " + strconv.Quote(text) + " is too large")
	}
	return token{kind: tokInt, pos: start, text: text, num: int64(v)}
}

func digitValue(c rune) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// str reads a one-line str literal whose quote is at quoteAt (its prefix started at start).
func (p *parser) str(start, quoteAt int, raw bool) token {
	q := p.src[quoteAt]
	bad := func(why string) token { return token{kind: tokOther, pos: start, text: p.src[start:p.pos], err: why} }
	if strings.HasPrefix(p.src[quoteAt:], strings.Repeat(string(q), 3)) {
		p.pos = len(p.src)
		return bad("triple-quoted strings are not read")
	}
	var b strings.Builder
	i := quoteAt + 1
	for {
		if i >= len(p.src) {
			p.pos = i
			return bad("unterminated string")
		}
		c := p.src[i]
		switch {
		case c == q:
			p.pos = i + 1
			return token{kind: tokStr, pos: start, text: p.src[start:p.pos], str: b.String()}
		case c == '\n' || c == '\r':
			p.pos = i
			return bad("unterminated string")
		case c == '\\' && raw:
			// A raw string keeps the backslash; it still escapes a quote from ending the string.
			if i+1 >= len(p.src) {
				p.pos = i + 1
				return bad("unterminated string")
			}
			b.WriteByte('\\')
			r, size := utf8.DecodeRuneInString(p.src[i+1:])
			if r == '\n' || r == '\r' {
				p.pos = i + 1
				return bad("unterminated string")
			}
			b.WriteRune(r)
			i += 1 + size
		case c == '\\':
			n, err := p.escape(&b, i)
			if err != "" {
				p.pos = i
				return bad(err)
			}
			i += n
		default:
			r, size := utf8.DecodeRuneInString(p.src[i:])
			b.WriteRune(r)
			i += size
		}
	}
}

// escape decodes the escape sequence at p.src[i] (a backslash) into b and returns its length.
func (p *parser) escape(b *strings.Builder, i int) (int, string) {
	if i+1 >= len(p.src) {
		return 0, "unterminated string"
	}
	c := p.src[i+1]
	simple := map[byte]string{'\\': `\`, '\'': `'`, '"': `"`, 'a': "\a", 'b': "\b", 'f': "\f", 'n': "\n", 'r': "\r", 't': "\t", 'v': "\v"}
	if s, ok := simple[c]; ok {
		b.WriteString(s)
		return 2, ""
	}
	hex := func(n int) (int, string) {
		if i+2+n > len(p.src) {
			return 0, "truncated \\" + string(c) + " escape"
		}
		v, err := strconv.ParseUint(p.src[i+2:i+2+n], 16, 32)
		if err != nil {
			return 0, "malformed \\" + string(c) + " escape"
		}
		if v > unicode.MaxRune || v >= 0xd800 && v < 0xe000 {
			return 0, "escape of a code point that is not a character"
		}
		b.WriteRune(rune(v))
		return 2 + n, ""
	}
	switch c {
	case 'x':
		return hex(2)
	case 'u':
		return hex(4)
	case 'U':
		return hex(8)
	case 'N':
		return 0, "\\N{...} escapes are not read"
	case '\n':
		return 0, "line continuations are not read"
	}
	if c >= '0' && c <= '7' {
		n, v := 1, int(c-'0')
		for n < 3 && i+1+n < len(p.src) && p.src[i+1+n] >= '0' && p.src[i+1+n] <= '7' {
			v = v*8 + int(p.src[i+1+n]-'0')
			n++
		}
		b.WriteRune(rune(v))
		return 1 + n, ""
	}
	// Python keeps an unknown escape as it is (with a warning).
	b.WriteByte('\\')
	return 1, ""
}
