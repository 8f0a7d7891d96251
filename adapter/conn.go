package adapter

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"

	"github.com/google/go-dap"
)

// conn is a session's connection to its client: message bodies come in from a reading goroutine,
// and every message goes out through write, which numbers the messages in the order they are
// written.
type conn struct {
	in         *bufio.Reader
	maxMessage int
	log        *slog.Logger
	broken     func() // called when writing fails: the session ends

	mu     sync.Mutex // serialises writes; guards out, seq and closed
	out    *bufio.Writer
	seq    int
	closed bool // writing failed or the session is over: nothing more is sent
}

func newConn(rw io.ReadWriter, maxMessage int, log *slog.Logger, broken func()) *conn {
	return &conn{
		in:         bufio.NewReaderSize(rw, 64<<10),
		out:        bufio.NewWriterSize(rw, 64<<10),
		maxMessage: maxMessage,
		log:        log,
		broken:     broken,
	}
}

// readResult is one message body read from the client, or why reading ended.
type readResult struct {
	body []byte
	err  error
}

// readMessages reads messages from the client on a goroutine of its own, so that the session can
// stop waiting for one when ctx is done. The channel delivers each message, and last the error
// that ended reading (io.EOF for a clean end); the goroutine ends then, or when ctx is done.
func (c *conn) readMessages(ctx context.Context) <-chan readResult {
	msgs := make(chan readResult)
	go func() {
		for {
			body, err := readMessage(c.in, c.maxMessage)
			select {
			case msgs <- readResult{body, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return msgs
}

// respond sends the successful response to req. body is the response's body: nil for none, a
// json.RawMessage already encoded, or a value for encoding/json (a go-dap body type).
func (c *conn) respond(req request, body any) {
	c.send(&dap.Response{ProtocolMessage: dap.ProtocolMessage{Type: "response"},
		RequestSeq: req.seq, Success: true, Command: req.command}, body)
}

// errorBody is the body of an error response: DAP's ErrorResponse body, whose showUser is left
// out when the client is to decide (go-dap's type always sends it).
type errorBody struct {
	Error errorMessage `json:"error"`
}

type errorMessage struct {
	ID     int    `json:"id"`
	Format string `json:"format"`
	// ShowUser false: the client shows the message where the request came from (a Watch
	// expression, the Variables view) and need not notify the user as well. Nil: the client
	// decides; VS Code then shows a failed attach in a dialog.
	ShowUser *bool  `json:"showUser,omitempty"`
	URL      string `json:"url,omitempty"`
	URLLabel string `json:"urlLabel,omitempty"`
}

// respondError sends the error response to req, with the one line shown to the user.
func (c *conn) respondError(req request, msg errorMessage) {
	c.send(&dap.Response{ProtocolMessage: dap.ProtocolMessage{Type: "response"},
		RequestSeq: req.seq, Success: false, Command: req.command, Message: msg.Format},
		errorBody{Error: msg})
}

// event sends an event; body is as for respond.
func (c *conn) event(name string, body any) {
	c.send(&dap.Event{ProtocolMessage: dap.ProtocolMessage{Type: "event"}, Event: name}, body)
}

// output sends an output event.
func (c *conn) output(category, text string) {
	c.event("output", dap.OutputEventBody{Category: category, Output: text})
}

// send encodes body and writes the message.
func (c *conn) send(head dap.Message, body any) {
	var encoded []byte
	switch b := body.(type) {
	case nil:
	case json.RawMessage:
		encoded = b
	default:
		var err error
		if encoded, err = json.Marshal(body); err != nil {
			c.log.Error("encoding a message", "err", err)
			return
		}
	}
	c.write(head, encoded)
}

// bodyField joins an envelope and its body.
const bodyField = `,"body":`

// write writes one message: head is the envelope, a *dap.Response or a *dap.Event without a body,
// whose seq is set here; body is the encoded body, nil for none. The envelope is encoded with
// encoding/json and the body is spliced in before its closing brace: written as it is, not
// copied, since for a large await graph it is megabytes. A write failure ends the session.
func (c *conn) write(head dap.Message, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.seq++
	switch h := head.(type) {
	case *dap.Response:
		h.Seq = c.seq
	case *dap.Event:
		h.Seq = c.seq
	}
	env, err := json.Marshal(head)
	if err != nil {
		c.log.Error("encoding a message", "err", err)
		return
	}
	msg := make([]byte, 0, 32+len(env)+len(bodyField))
	if body == nil {
		msg = append(appendHeader(msg, len(env)), env...)
	} else {
		env = env[:len(env)-1] // the envelope's closing brace comes after the body
		msg = appendHeader(msg, len(env)+len(bodyField)+len(body)+1)
		msg = append(append(msg, env...), bodyField...)
	}
	_, err = c.out.Write(msg)
	if err == nil && body != nil {
		if _, err = c.out.Write(body); err == nil {
			err = c.out.WriteByte('}')
		}
	}
	if err == nil {
		err = c.out.Flush()
	}
	if err != nil {
		c.log.Warn("writing to the client failed; ending the session", "err", err)
		c.closed = true
		c.broken()
	}
}

// close makes sure nothing more is written.
func (c *conn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
}

func (c *conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}
