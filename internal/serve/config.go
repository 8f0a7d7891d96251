package serve

import (
	"log/slog"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/snapshot"
)

// Target is a process a protocol server reads. *inspector.Process is the real one.
type Target interface {
	PID() int
	PythonVersion() string
	Snapshot() (*snapshot.Snapshot, error)
}

// AttachFunc opens a target, as inspector.Attach does.
type AttachFunc func(pid int, opts inspector.Options) (Target, error)

// AttachProcess opens a live process with inspector.Attach.
func AttachProcess(pid int, opts inspector.Options) (Target, error) {
	p, err := inspector.Attach(pid, opts)
	if err != nil {
		return nil, err // a nil *Process must not become a non-nil Target
	}
	return p, nil
}

// Common is the configuration every protocol server has, each field's zero value meaning its
// default.
type Common struct {
	// Attach opens the target; nil means the server's default.
	Attach AttachFunc
	// Logger receives diagnostics (never the protocol itself); nil discards them.
	Logger *slog.Logger
	// MaxMessageSize bounds the body of a message from the client; 0 or less means the
	// server's default.
	MaxMessageSize int
}

// Filled returns c with its defaults in: attach, a logger that discards, maxMessage.
func (c Common) Filled(attach AttachFunc, maxMessage int) Common {
	if c.Attach == nil {
		c.Attach = attach
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = maxMessage
	}
	return c
}
