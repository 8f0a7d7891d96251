package adapter

import (
	"bufio"
	"errors"
	"fmt"
	"strconv"

	"github.com/aioscope/aioscope/internal/baseproto"
)

// The base protocol is read here rather than with dap.ReadBaseMessage: go-dap reads a header
// line of any length, accepts only one header field and caps bodies at 4 MiB, while a client may
// legitimately send other header fields (Content-Type) and a hostile or broken one must not make
// the adapter buffer unbounded input. Headers are written here too: dap.WriteBaseMessage takes a
// message in one piece, and a large awaitGraph body is written as it is, not copied into one.

// DefaultMaxMessageSize is the largest message body accepted unless Config says otherwise.
const DefaultMaxMessageSize = 16 << 20

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
	n, err := baseproto.ReadHeader(r)
	if he, ok := errors.AsType[*baseproto.HeaderError](err); ok {
		return nil, &FramingError{Reason: he.Reason}
	}
	if err != nil {
		return nil, err
	}
	if n > uint64(maxBody) {
		return nil, framingErrorf("Content-Length %d is larger than the %d bytes accepted", n, maxBody)
	}
	return baseproto.ReadBody(r, n)
}

// appendHeader appends the base protocol's header of a message with an n-byte body.
func appendHeader(b []byte, n int) []byte {
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, "\r\n\r\n"...)
}
