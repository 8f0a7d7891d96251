// Package baseproto reads the base protocol the Debug Adapter Protocol and the Language Server
// Protocol share: a message is a block of "Name: value" header lines, one of them Content-Length,
// ended by a blank line, and then that many bytes of body. Lines end with CRLF as both protocols
// say; a bare LF, which some clients send, is accepted too.
//
// The input comes from a client that may be broken or hostile, so everything is bounded: a header
// line, the number of header fields, and (by the caller, which knows its limit) the body.
package baseproto

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

const (
	// MaxHeaderLine bounds one header line, so that input without line breaks cannot grow a
	// buffer without limit: the protocols' headers are a few dozen bytes.
	MaxHeaderLine = 1024
	// MaxHeaderFields bounds the number of header fields of one message.
	MaxHeaderFields = 32
)

// HeaderError means the input no longer follows the base protocol (a header without
// Content-Length, a line that is not a header field, a length that cannot be read): the end of
// the message cannot be found, so nothing after it can be trusted either.
type HeaderError struct {
	Reason string
}

func (e *HeaderError) Error() string { return "malformed message header: " + e.Reason }

func headerErrorf(format string, args ...any) error {
	return &HeaderError{Reason: fmt.Sprintf(format, args...)}
}

// ReadHeader reads the header block of the next message and returns the length of its body.
// Blank lines before it are passed over. It returns io.EOF when the input ends cleanly between
// messages, io.ErrUnexpectedEOF when it ends inside a header, and a *HeaderError when the header
// cannot be followed. Header fields other than Content-Length (Content-Type) are passed over.
func ReadHeader(r *bufio.Reader) (uint64, error) {
	length, haveLength := uint64(0), false
	fields := 0
	for {
		line, err := readHeaderLine(r)
		if err != nil {
			if errors.Is(err, io.EOF) && (fields > 0 || line != "") {
				return 0, io.ErrUnexpectedEOF
			}
			return 0, err
		}
		if line == "" {
			if fields == 0 {
				continue // a stray blank line between messages; some clients end bodies with one
			}
			break
		}
		if fields++; fields > MaxHeaderFields {
			return 0, headerErrorf("more than %d header fields", MaxHeaderFields)
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return 0, headerErrorf("header line %q is not a \"Name: value\" field", Truncate(line, 80))
		}
		if !strings.EqualFold(strings.TrimSpace(name), "Content-Length") {
			continue
		}
		value = strings.TrimSpace(value)
		n, err := strconv.ParseUint(value, 10, 63)
		if err != nil {
			if len(value) > 0 && strings.Trim(value, "0123456789") == "" {
				return 0, headerErrorf("Content-Length %s is larger than any message can be", Truncate(value, 40))
			}
			return 0, headerErrorf("Content-Length %q is not a number", Truncate(value, 40))
		}
		length, haveLength = n, true
	}
	if !haveLength {
		return 0, headerErrorf("header has no Content-Length field")
	}
	return length, nil
}

// ReadBody reads a body of n bytes, which the caller has checked against its limit. The input
// ending first is io.ErrUnexpectedEOF.
func ReadBody(r *bufio.Reader, n uint64) ([]byte, error) {
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("reading a %d-byte message body: %w", n, err)
	}
	return body, nil
}

// readHeaderLine reads one header line and returns it without its line ending. The line is read
// a byte at a time so that an overlong one is refused as soon as it is too long, not when a
// buffer fills or the client sends a line break. At the end of the input it returns io.EOF, with
// the partial line read unless that is only white space.
func readHeaderLine(r *bufio.Reader) (string, error) {
	var buf []byte
	for {
		c, err := r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				if len(bytes.TrimSpace(buf)) == 0 {
					return "", io.EOF
				}
				return string(buf), io.EOF
			}
			return "", err
		}
		if c == '\n' {
			break
		}
		buf = append(buf, c)
		if len(buf) > MaxHeaderLine {
			return "", headerErrorf("header line longer than %d bytes: %q", MaxHeaderLine, Truncate(string(buf), 40))
		}
	}
	return string(bytes.TrimSuffix(buf, []byte("\r"))), nil
}

// Truncate shortens s to at most n bytes for quoting in a message, without splitting a
// character.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
