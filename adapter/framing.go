package adapter

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The base protocol is read here rather than with dap.ReadBaseMessage: go-dap reads a header
// line of any length, accepts only one header field and caps bodies at 4 MiB, while a client may
// legitimately send other header fields (Content-Type) and a hostile or broken one must not make
// the adapter buffer unbounded input. Headers are written here too: dap.WriteBaseMessage takes a
// message in one piece, and a large awaitGraph body is written as it is, not copied into one.

const (
	// maxHeaderLine bounds one header line, so that input without line breaks cannot grow a
	// buffer without limit.
	maxHeaderLine = 1024
	// maxHeaderFields bounds the number of header fields of one message.
	maxHeaderFields = 32
	// DefaultMaxMessageSize is the largest message body accepted unless Config says otherwise.
	DefaultMaxMessageSize = 16 << 20
)

// FramingError means the input no longer follows the base protocol (a header without
// Content-Length, a line that is not a header field, a body larger than the limit): the end of
// the message cannot be found, so nothing after it can be trusted either and the session ends.
type FramingError struct {
	Reason string
}

func (e *FramingError) Error() string { return "malformed DAP message framing: " + e.Reason }

func framingErrorf(format string, args ...any) error {
	return &FramingError{Reason: fmt.Sprintf(format, args...)}
}

// readMessage reads one base-protocol message from r and returns its body. It returns io.EOF
// when the input ends cleanly between messages, io.ErrUnexpectedEOF when it ends inside one, and
// a *FramingError when the header is malformed or announces more than maxBody bytes.
func readMessage(r *bufio.Reader, maxBody int) ([]byte, error) {
	length := -1
	fields := 0
	for {
		line, err := readHeaderLine(r)
		if err != nil {
			if errors.Is(err, io.EOF) && fields == 0 && line == "" {
				return nil, io.EOF
			}
			if errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if line == "" {
			if fields == 0 {
				// A stray blank line between messages; some clients end bodies with a newline.
				continue
			}
			break
		}
		fields++
		if fields > maxHeaderFields {
			return nil, framingErrorf("more than %d header fields", maxHeaderFields)
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, framingErrorf("header line %q is not a \"Name: value\" field", truncate(line, 80))
		}
		if !strings.EqualFold(strings.TrimSpace(name), "Content-Length") {
			continue // Content-Type and any other field carry nothing the adapter needs
		}
		value = strings.TrimSpace(value)
		n, err := strconv.ParseUint(value, 10, 63)
		if err != nil {
			if len(value) > 0 && strings.Trim(value, "0123456789") == "" {
				return nil, framingErrorf("Content-Length %s is larger than the %d bytes accepted", truncate(value, 40), maxBody)
			}
			return nil, framingErrorf("Content-Length %q is not a number", truncate(value, 40))
		}
		if n > uint64(maxBody) {
			return nil, framingErrorf("Content-Length %d is larger than the %d bytes accepted", n, maxBody)
		}
		length = int(n)
	}
	if length < 0 {
		return nil, framingErrorf("header has no Content-Length field")
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(r, body); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("reading a %d-byte message body: %w", length, err)
	}
	return body, nil
}

// readHeaderLine reads one header line and returns it without its line ending. Lines end with
// CRLF as the protocol says; a bare LF is accepted too. The line is read a byte at a time so that
// an overlong one is refused as soon as it is too long, not when a buffer fills or the client
// sends a line break.
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
		if len(buf) > maxHeaderLine {
			return "", framingErrorf("header line longer than %d bytes: %q", maxHeaderLine, truncate(string(buf), 40))
		}
	}
	return string(bytes.TrimSuffix(buf, []byte("\r"))), nil
}

// appendHeader appends the base protocol's header of a message with an n-byte body.
func appendHeader(b []byte, n int) []byte {
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, "\r\n\r\n"...)
}

// truncate shortens s to at most n bytes for quoting in a message, without splitting a
// character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
