package inspector

import (
	"errors"
	"fmt"
)

// The errors below are the ones a user can act on. Each Error() is one line that names the
// problem; the CLI and the debug adapter add what to do about it.

// ProcessNotFoundError: there is no process with that PID.
type ProcessNotFoundError struct{ PID int }

func (e *ProcessNotFoundError) Error() string { return fmt.Sprintf("process %d not found", e.PID) }

// ProcessGoneError: the process exited while it was being read.
type ProcessGoneError struct{ PID int }

func (e *ProcessGoneError) Error() string {
	return fmt.Sprintf("process %d exited while it was being read", e.PID)
}

// PermissionError: the kernel refused access to the process's memory or maps.
type PermissionError struct {
	PID int
	Err error
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("permission denied reading process %d: %v", e.PID, e.Err)
}

func (e *PermissionError) Unwrap() error { return e.Err }

// NotPythonError: the process has no CPython runtime that aioscope can find.
type NotPythonError struct {
	PID int
	Exe string
}

func (e *NotPythonError) Error() string {
	if e.Exe != "" {
		return fmt.Sprintf("process %d (%s) is not a Python process: no CPython runtime found in its memory", e.PID, e.Exe)
	}
	return fmt.Sprintf("process %d is not a Python process: no CPython runtime found in its memory", e.PID)
}

// AsyncioNotLoadedError: the target runs a supported CPython but its asyncio C module is not
// loaded, so there are no tasks to show.
type AsyncioNotLoadedError struct {
	PID     int
	Version string
}

func (e *AsyncioNotLoadedError) Error() string {
	return fmt.Sprintf("process %d (Python %s) has not imported asyncio: it has no asyncio tasks", e.PID, e.Version)
}

// InconsistentError: what was read does not hang together, almost always because the target
// changed while it was being read. A new snapshot usually succeeds.
type InconsistentError struct {
	Err error
}

func (e *InconsistentError) Error() string { return e.Err.Error() }
func (e *InconsistentError) Unwrap() error { return e.Err }

func inconsistent(format string, args ...any) error {
	return &InconsistentError{Err: fmt.Errorf(format, args...)}
}

// TargetChangedError: every attempt at a snapshot met a target that changed under it.
type TargetChangedError struct {
	PID      int
	Attempts int
	Last     error
}

func (e *TargetChangedError) Error() string {
	return fmt.Sprintf("process %d changed too fast to read a consistent snapshot (%d attempts; last: %v)", e.PID, e.Attempts, e.Last)
}

func (e *TargetChangedError) Unwrap() error { return e.Last }

// retryable reports whether a failed snapshot is worth taking again.
func retryable(err error) bool {
	switch err.(type) {
	case nil:
		return false
	case *ReadError, *InconsistentError: // the common cases, without errors.As's allocations
		return true
	}
	var re *ReadError
	var ie *InconsistentError
	return errors.As(err, &re) || errors.As(err, &ie)
}
