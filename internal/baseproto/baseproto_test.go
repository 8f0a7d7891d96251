package baseproto

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadHeader(t *testing.T) {
	for in, want := range map[string]uint64{
		"Content-Length: 2\r\n\r\n{}":                                   2,
		"\r\n\nContent-Length: 2\n\n{}":                                 2, // blank lines before; bare LFs
		"Content-Type: application/json\r\ncontent-length:  7 \r\n\r\n": 7,
		"Content-Length: 3\r\nContent-Length: 0\r\n\r\n":                0, // the last one counts
	} {
		if n, err := ReadHeader(bufio.NewReader(strings.NewReader(in))); err != nil || n != want {
			t.Errorf("%q: %d, %v; want %d", in, n, err, want)
		}
	}
	for in, want := range map[string]string{
		"Content-Type: x\r\n\r\n{}":                         "no Content-Length",
		"no colon here\r\n\r\n":                             "not a \"Name: value\" field",
		"Content-Length: -1\r\n\r\n":                        "not a number",
		"Content-Length: twelve\r\n\r\n":                    "not a number",
		"Content-Length: 99999999999999999999\r\n\r\n":      "larger than any message",
		strings.Repeat("X-A: b\r\n", 40) + "\r\n":           "more than 32 header fields",
		"Content-Length: 2\r\n" + strings.Repeat("x", 2000): "longer than 1024 bytes",
	} {
		_, err := ReadHeader(bufio.NewReader(strings.NewReader(in)))
		if he, ok := errors.AsType[*HeaderError](err); !ok || !strings.Contains(he.Reason, want) {
			t.Errorf("%.40q: %v, want a *HeaderError saying %q", in, err, want)
		}
	}
	for in, want := range map[string]error{
		"":                      io.EOF,
		"\r\n\r\n  ":            io.EOF,
		"Content-Length: 5\r\n": io.ErrUnexpectedEOF,
		"Content-Le":            io.ErrUnexpectedEOF,
	} {
		if _, err := ReadHeader(bufio.NewReader(strings.NewReader(in))); !errors.Is(err, want) {
			t.Errorf("%q: %v, want %v", in, err, want)
		}
	}
}

func TestReadBody(t *testing.T) {
	r := bufio.NewReader(strings.NewReader("{}{"))
	if b, err := ReadBody(r, 2); err != nil || string(b) != "{}" {
		t.Errorf("%q, %v", b, err)
	}
	if _, err := ReadBody(r, 5); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a body cut short: %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestTruncate(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{{"short", 10, "short"}, {"abcdef", 3, "abc…"}, {"ażb", 2, "a…"}} {
		if got := Truncate(c.s, c.n); got != c.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}
