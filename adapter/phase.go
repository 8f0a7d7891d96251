package adapter

import (
	"errors"
	"fmt"
)

// A session's state is a lifecycle: its phase, how far the configuration that ends in the first
// stop has come, and whether initialize was answered. Every change goes through
// lifecycle.next, which says which requests and happenings are allowed when, and what has to
// follow them; the handlers carry that out.

// phase is where a session is with its target.
type phase uint8

const (
	detached phase = iota // no process yet
	attached              // a process is open; no stop has been shown yet
	stopped               // a snapshot is shown as a stop (the first stop, or a pause)
	running               // continued: refresh snapshots replace the one shown
	exited                // the process has exited; exited and terminated were sent
	ended                 // disconnect was answered: nothing more is read, and nothing starts
)

var phaseNames = [...]string{"detached", "attached", "stopped", "running", "exited", "ended"}

func (p phase) String() string { return phaseNames[p] }

// configuration is how far the client's configuration, which ends in the session's first stop,
// has come. It can run ahead of the attach: a client may configure first.
type configuration uint8

const (
	configuring    configuration = iota // neither setExceptionBreakpoints nor configurationDone yet
	exceptionsSet                       // setExceptionBreakpoints came; configurationDone may never come
	configured                          // configurationDone came
	firstStopTaken                      // the first stop was taken (or a pause took one): nothing is left to do
)

var configurationNames = [...]string{"configuring", "exceptionsSet", "configured", "firstStopTaken"}

func (c configuration) String() string { return configurationNames[c] }

// lifecycle is a session's state. The zero value is a new session.
type lifecycle struct {
	phase  phase
	config configuration
	// initialized: initialize was answered. It is not a phase of its own because clients may
	// attach before they initialize, and a session answers initialize once whenever it comes.
	initialized bool
}

// trigger is what moves a lifecycle: a request, or something that happens beside the requests.
type trigger uint8

const (
	// The requests; attachRequest is an attach that has opened its process (checked before).
	initializeRequest trigger = iota
	attachRequest
	configurationDoneRequest
	setExceptionBreakpointsRequest
	continueRequest
	disconnectRequest

	firstStopDue // configurationDone made it due, or the grace period after setExceptionBreakpoints is over
	snapshotDue  // pause, aioscope/snapshot, the first stop or a refresh is about to read the target
	stopShown    // a snapshot taken for a stop (the first, or a pause) is shown
	targetExit   // the target was found to have exited
)

var triggerNames = [...]string{"initialize", "attach", "configurationDone", "setExceptionBreakpoints",
	"continue", "disconnect", "first stop due", "snapshot due", "stop shown", "target exit"}

func (t trigger) String() string { return triggerNames[t] }

// effect is what a request's handler has to do after its response because of a transition.
type effect uint8

const (
	noEffect      effect = iota
	takeFirstStop        // take the first snapshot and report it as a stop
	startGrace           // take the first stop after configurationGrace, unless configurationDone comes first
)

var effectNames = [...]string{"none", "take the first stop", "start the grace period"}

func (e effect) String() string { return effectNames[e] }

// Refusals. The first two are the one-line messages the client sees; the handlers turn the next
// two into messages with the process's PID; the last two are things that need not be done any
// more.
var (
	errNotAttached        = &requestError{message: "not attached to a process yet: attach to a running Python process by its process id first"}
	errAlreadyInitialized = &requestError{message: "the session is already initialized"}
	errAlreadyAttached    = errors.New("already attached")
	errExited             = errors.New("the process has exited")
	errEnded              = errors.New("the session has ended")
	errNoFirstStop        = errors.New("the first stop was taken already")
)

// next returns the lifecycle after t and what has to follow, or why t is refused now (then the
// lifecycle stays as it is).
func (l lifecycle) next(t trigger) (lifecycle, effect, error) {
	switch t {
	case initializeRequest:
		if l.initialized {
			return l, noEffect, errAlreadyInitialized
		}
		l.initialized = true
		return l, noEffect, nil

	case attachRequest:
		if l.phase != detached {
			return l, noEffect, errAlreadyAttached
		}
		l.phase = attached
		switch l.config {
		case configured:
			return l, takeFirstStop, nil
		case exceptionsSet:
			return l, startGrace, nil
		}
		return l, noEffect, nil

	case configurationDoneRequest:
		if l.config == firstStopTaken {
			return l, noEffect, nil
		}
		l.config = configured
		if l.waitingForFirstStop() {
			return l, takeFirstStop, nil
		}
		return l, noEffect, nil // before attach, the attach takes the first stop

	case setExceptionBreakpointsRequest:
		if l.config != configuring {
			return l, noEffect, nil
		}
		l.config = exceptionsSet
		if l.waitingForFirstStop() {
			return l, startGrace, nil
		}
		return l, noEffect, nil

	case continueRequest:
		if err := l.needTarget(); err != nil {
			return l, noEffect, err
		}
		l.phase = running
		return l, noEffect, nil

	case disconnectRequest:
		l.phase = ended
		return l, noEffect, nil

	case firstStopDue:
		if err := l.needTarget(); err != nil {
			return l, noEffect, err
		}
		if l.config == firstStopTaken {
			return l, noEffect, errNoFirstStop
		}
		l.config = firstStopTaken
		return l, noEffect, nil

	case snapshotDue:
		return l, noEffect, l.needTarget()

	case stopShown:
		switch l.phase {
		case detached:
			return l, noEffect, errNotAttached
		case ended:
			return l, noEffect, errEnded
		case exited:
			// The process exited while the snapshot was taken, and the exit was reported first;
			// the snapshot is shown all the same, and the session stays over.
		default:
			l.phase = stopped
		}
		l.config = firstStopTaken
		return l, noEffect, nil

	case targetExit:
		if err := l.needTarget(); err != nil {
			return l, noEffect, err // errExited: the exit was reported already
		}
		l.phase = exited
		return l, noEffect, nil
	}
	return l, noEffect, fmt.Errorf("unknown lifecycle trigger %d", t)
}

// waitingForFirstStop reports whether a process is open and nothing has ended the wait for the
// first stop (a session continued before it configured is still waiting).
func (l lifecycle) waitingForFirstStop() bool {
	return (l.phase == attached || l.phase == running) && l.config != firstStopTaken
}

// needTarget refuses what needs a process that is there.
func (l lifecycle) needTarget() error {
	switch l.phase {
	case detached:
		return errNotAttached
	case exited:
		return errExited
	case ended:
		return errEnded
	}
	return nil
}
