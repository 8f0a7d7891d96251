package lsp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/aioscope/aioscope/internal/baseproto"
	"github.com/sourcegraph/jsonrpc2"
)

// DefaultMaxMessageSize bounds the body of one message from the client. The largest a client
// sends is a whole document in didOpen or didChange; a larger one is skipped and refused.
const DefaultMaxMessageSize = 64 << 20

// FramingError reports input that does not follow the base protocol's framing (a header block
// with a Content-Length, then that many bytes). The stream cannot be followed past it, so the
// connection ends.
type FramingError struct{ Reason string }

func (e *FramingError) Error() string { return "malformed message from the client: " + e.Reason }

// codec writes messages as jsonrpc2.VSCodeObjectCodec does and reads them with the same framing,
// but bounded and with recovery: the library's reader accepts any length (up to 4 GiB) and, after a
// body that is not a message, has lost its place in the stream and ends the connection. Here a body
// that is not a JSON-RPC message, or too large, is skipped and answered (an error response when it
// has an id, else a window/showMessage), and the next message is read; only broken framing ends
// the connection.
type codec struct {
	jsonrpc2.VSCodeObjectCodec
	maxBody int
	// bad is told about each skipped message: its id (nil when it has none) and why.
	bad func(id *jsonrpc2.ID, reason string)
	// ended is told why reading ended.
	ended func(error)
}

// ReadObject reads the next message that can be handed to the connection.
func (c codec) ReadObject(r *bufio.Reader, v any) error {
	for {
		body, err := readFrame(r, c.maxBody)
		var tooLarge *tooLargeError
		if errors.As(err, &tooLarge) {
			c.bad(nil, tooLarge.Error())
			continue
		}
		if err != nil {
			c.ended(err)
			return err
		}
		id, reason, ok := checkMessage(body)
		if !ok {
			c.bad(id, reason)
			continue
		}
		if err := json.Unmarshal(body, v); err != nil {
			// checkMessage accepts only what the library's decoder does; should they ever
			// disagree, the message is refused rather than the connection ended.
			c.bad(id, "unreadable message: "+err.Error())
			continue
		}
		return nil
	}
}

type tooLargeError struct{ n, limit uint64 }

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("a message of %d bytes is larger than the limit of %d bytes; it was skipped", e.n, e.limit)
}

// readFrame reads one message body. A body longer than maxBody is read past and reported as a
// *tooLargeError; a header block that cannot be followed is a *FramingError; the end of the input
// between messages is io.EOF, and within one io.ErrUnexpectedEOF.
func readFrame(r *bufio.Reader, maxBody int) ([]byte, error) {
	length, err := baseproto.ReadHeader(r)
	if he, ok := errors.AsType[*baseproto.HeaderError](err); ok {
		return nil, &FramingError{Reason: he.Reason}
	}
	if err != nil {
		return nil, err
	}
	if length > uint64(maxBody) {
		if _, err := io.CopyN(io.Discard, r, int64(length)); err != nil {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, &tooLargeError{n: length, limit: uint64(maxBody)}
	}
	return baseproto.ReadBody(r, length)
}

// clip shortens s for quoting in a message.
func clip(s string) string { return baseproto.Truncate(s, 40) }

// checkMessage decides whether body is a single JSON-RPC request, notification or response that
// the connection can take. When it is not, reason says why and id is the request's id if it has a
// usable one, for the error response.
func checkMessage(body []byte) (id *jsonrpc2.ID, reason string, ok bool) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		return nil, "a batch of messages (the protocol sends one message at a time)", false
	}
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method json.RawMessage `json:"method"`
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
		Params json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, "not a JSON object: " + err.Error(), false
	}
	if len(m.ID) > 0 && string(m.ID) != "null" {
		var parsed jsonrpc2.ID
		if err := json.Unmarshal(m.ID, &parsed); err != nil || !validID(m.ID) {
			return nil, fmt.Sprintf("invalid id %s (a number or a string)", clip(string(m.ID))), false
		}
		id = &parsed
	}
	isRequest := len(m.Method) > 0
	isResponse := len(m.Result) > 0 || len(m.Error) > 0
	switch {
	case isRequest && isResponse:
		return id, "both a method and a result or error", false
	case isResponse:
		return id, "", true
	case !isRequest:
		return id, "neither a request nor a response", false
	}
	var method string
	if err := json.Unmarshal(m.Method, &method); err != nil {
		return id, "method is not a string", false
	}
	if p := bytes.TrimSpace(m.Params); len(p) > 0 && p[0] != '{' && p[0] != '[' && string(p) != "null" {
		return id, "params is neither an object nor an array", false
	}
	return id, "", true
}

// validID reports whether raw is an id the library reads back as sent: a string, or a
// non-negative integer (it keeps ids in a uint64).
func validID(raw json.RawMessage) bool {
	if len(raw) > 0 && raw[0] == '"' {
		return true
	}
	_, err := strconv.ParseUint(string(raw), 10, 63)
	return err == nil
}
