package adapter

import (
	"errors"
	"fmt"
	"testing"
)

// TestLifecycleTransitions: every transition lifecycle.next allows, and every one it refuses.
func TestLifecycleTransitions(t *testing.T) {
	type state = lifecycle
	cases := []struct {
		name string
		from state
		on   trigger
		to   state // for a refusal: unused, the lifecycle stays as it was
		eff  effect
		err  error
	}{
		// initialize: once, whenever it comes.
		{"initialize", state{}, initializeRequest, state{initialized: true}, noEffect, nil},
		{"a second initialize", state{initialized: true}, initializeRequest, state{}, noEffect, errAlreadyInitialized},
		{"initialize after attach", state{phase: attached}, initializeRequest, state{phase: attached, initialized: true}, noEffect, nil},
		{"initialize after an attach that followed initialize", state{phase: stopped, config: firstStopTaken, initialized: true}, initializeRequest, state{}, noEffect, errAlreadyInitialized},

		// attach: once; what the configuration asked for before it follows it.
		{"attach", state{initialized: true}, attachRequest, state{phase: attached, initialized: true}, noEffect, nil},
		{"attach without initialize", state{}, attachRequest, state{phase: attached}, noEffect, nil},
		{"attach after configurationDone", state{config: configured}, attachRequest, state{phase: attached, config: configured}, takeFirstStop, nil},
		{"attach after setExceptionBreakpoints", state{config: exceptionsSet}, attachRequest, state{phase: attached, config: exceptionsSet}, startGrace, nil},
		{"a second attach", state{phase: attached}, attachRequest, state{}, noEffect, errAlreadyAttached},
		{"attach when stopped", state{phase: stopped, config: firstStopTaken}, attachRequest, state{}, noEffect, errAlreadyAttached},
		{"attach after the target exited", state{phase: exited}, attachRequest, state{}, noEffect, errAlreadyAttached},

		// configurationDone: the first stop, now or after the attach.
		{"configurationDone before attach", state{}, configurationDoneRequest, state{config: configured}, noEffect, nil},
		{"configurationDone after setExceptionBreakpoints, before attach", state{config: exceptionsSet}, configurationDoneRequest, state{config: configured}, noEffect, nil},
		{"configurationDone", state{phase: attached}, configurationDoneRequest, state{phase: attached, config: configured}, takeFirstStop, nil},
		{"configurationDone within the grace period", state{phase: attached, config: exceptionsSet}, configurationDoneRequest, state{phase: attached, config: configured}, takeFirstStop, nil},
		{"configurationDone after continue", state{phase: running}, configurationDoneRequest, state{phase: running, config: configured}, takeFirstStop, nil},
		{"configurationDone after a pause", state{phase: stopped, config: firstStopTaken}, configurationDoneRequest, state{phase: stopped, config: firstStopTaken}, noEffect, nil},
		{"a second configurationDone", state{phase: running, config: firstStopTaken}, configurationDoneRequest, state{phase: running, config: firstStopTaken}, noEffect, nil},
		{"configurationDone after the target exited", state{phase: exited}, configurationDoneRequest, state{phase: exited, config: configured}, noEffect, nil},

		// setExceptionBreakpoints: the grace period, once, for clients that never send
		// configurationDone.
		{"setExceptionBreakpoints before attach", state{}, setExceptionBreakpointsRequest, state{config: exceptionsSet}, noEffect, nil},
		{"setExceptionBreakpoints", state{phase: attached}, setExceptionBreakpointsRequest, state{phase: attached, config: exceptionsSet}, startGrace, nil},
		{"setExceptionBreakpoints after continue", state{phase: running}, setExceptionBreakpointsRequest, state{phase: running, config: exceptionsSet}, startGrace, nil},
		{"a second setExceptionBreakpoints", state{phase: attached, config: exceptionsSet}, setExceptionBreakpointsRequest, state{phase: attached, config: exceptionsSet}, noEffect, nil},
		{"setExceptionBreakpoints after configurationDone", state{phase: attached, config: configured}, setExceptionBreakpointsRequest, state{phase: attached, config: configured}, noEffect, nil},
		{"setExceptionBreakpoints after the first stop", state{phase: stopped, config: firstStopTaken}, setExceptionBreakpointsRequest, state{phase: stopped, config: firstStopTaken}, noEffect, nil},
		{"setExceptionBreakpoints after the target exited", state{phase: exited}, setExceptionBreakpointsRequest, state{phase: exited, config: exceptionsSet}, noEffect, nil},

		// The first stop: once, while the target is there.
		{"the first stop after configurationDone", state{phase: attached, config: configured}, firstStopDue, state{phase: attached, config: firstStopTaken}, noEffect, nil},
		{"the grace period's stop", state{phase: attached, config: exceptionsSet}, firstStopDue, state{phase: attached, config: firstStopTaken}, noEffect, nil},
		{"the first stop while continued", state{phase: running, config: exceptionsSet}, firstStopDue, state{phase: running, config: firstStopTaken}, noEffect, nil},
		{"the grace period's stop after configurationDone's", state{phase: stopped, config: firstStopTaken}, firstStopDue, state{}, noEffect, errNoFirstStop},
		{"the grace period's stop after a failed first stop", state{phase: attached, config: firstStopTaken}, firstStopDue, state{}, noEffect, errNoFirstStop},
		{"the first stop after the target exited", state{phase: exited, config: configured}, firstStopDue, state{}, noEffect, errExited},
		{"the grace period's stop after disconnect", state{phase: ended, config: exceptionsSet}, firstStopDue, state{}, noEffect, errEnded},

		// Snapshots: only of a target that is there.
		{"a snapshot before attach", state{}, snapshotDue, state{}, noEffect, errNotAttached},
		{"a snapshot", state{phase: attached}, snapshotDue, state{phase: attached}, noEffect, nil},
		{"a snapshot when stopped", state{phase: stopped, config: firstStopTaken}, snapshotDue, state{phase: stopped, config: firstStopTaken}, noEffect, nil},
		{"a snapshot while continued", state{phase: running}, snapshotDue, state{phase: running}, noEffect, nil},
		{"pause after the target exited", state{phase: exited}, snapshotDue, state{}, noEffect, errExited},
		{"a snapshot after disconnect", state{phase: ended}, snapshotDue, state{}, noEffect, errEnded},

		// A stop shown: the first stop, or a pause.
		{"the first stop shown", state{phase: attached, config: firstStopTaken}, stopShown, state{phase: stopped, config: firstStopTaken}, noEffect, nil},
		{"a pause before the first stop", state{phase: attached}, stopShown, state{phase: stopped, config: firstStopTaken}, noEffect, nil},
		{"a pause while continued", state{phase: running, config: firstStopTaken}, stopShown, state{phase: stopped, config: firstStopTaken}, noEffect, nil},
		{"a pause when stopped", state{phase: stopped, config: firstStopTaken}, stopShown, state{phase: stopped, config: firstStopTaken}, noEffect, nil},
		{"a stop taken as the target exited", state{phase: exited, config: firstStopTaken}, stopShown, state{phase: exited, config: firstStopTaken}, noEffect, nil},
		{"a stop before attach", state{}, stopShown, state{}, noEffect, errNotAttached},
		{"a stop taken as the client disconnected", state{phase: ended, config: firstStopTaken}, stopShown, state{}, noEffect, errEnded},

		// continue: while the target is there.
		{"continue before attach", state{initialized: true}, continueRequest, state{}, noEffect, errNotAttached},
		{"continue", state{phase: stopped, config: firstStopTaken}, continueRequest, state{phase: running, config: firstStopTaken}, noEffect, nil},
		{"continue before the first stop", state{phase: attached}, continueRequest, state{phase: running}, noEffect, nil},
		{"continue while continued", state{phase: running, config: firstStopTaken}, continueRequest, state{phase: running, config: firstStopTaken}, noEffect, nil},
		{"continue after the target exited", state{phase: exited, config: firstStopTaken}, continueRequest, state{}, noEffect, errExited},

		// The target's exit: reported once.
		{"exit when stopped", state{phase: stopped, config: firstStopTaken}, targetExit, state{phase: exited, config: firstStopTaken}, noEffect, nil},
		{"exit while continued", state{phase: running, config: firstStopTaken}, targetExit, state{phase: exited, config: firstStopTaken}, noEffect, nil},
		{"exit before the first stop", state{phase: attached, config: exceptionsSet}, targetExit, state{phase: exited, config: exceptionsSet}, noEffect, nil},
		{"exit found a second time", state{phase: exited}, targetExit, state{}, noEffect, errExited},
		{"exit before attach", state{}, targetExit, state{}, noEffect, errNotAttached},
		{"exit after disconnect", state{phase: ended}, targetExit, state{}, noEffect, errEnded},

		// disconnect: whenever it comes.
		{"disconnect before anything", state{}, disconnectRequest, state{phase: ended}, noEffect, nil},
		{"disconnect when stopped", state{phase: stopped, config: firstStopTaken, initialized: true}, disconnectRequest, state{phase: ended, config: firstStopTaken, initialized: true}, noEffect, nil},
		{"disconnect while continued", state{phase: running}, disconnectRequest, state{phase: ended}, noEffect, nil},
		{"disconnect after the target exited", state{phase: exited}, disconnectRequest, state{phase: ended}, noEffect, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			to, eff, err := tc.from.next(tc.on)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || to != tc.from || eff != noEffect {
					t.Errorf("%+v on %v: %+v, %v, %v; want the refusal %q and the lifecycle unchanged", tc.from, tc.on, to, eff, err, tc.err)
				}
				return
			}
			if err != nil || to != tc.to || eff != tc.eff {
				t.Errorf("%+v on %v: %+v, %v, %v; want %+v, %v", tc.from, tc.on, to, eff, err, tc.to, tc.eff)
			}
		})
	}
}

// TestLifecycleSequences runs the sequences clients send through lifecycle.next, as the session
// does: a refused step leaves the lifecycle as it was.
func TestLifecycleSequences(t *testing.T) {
	type step struct {
		on  trigger
		eff effect
		err error
	}
	for _, tc := range []struct {
		name  string
		steps []step
		want  lifecycle
	}{
		{"VS Code", []step{{initializeRequest, noEffect, nil}, {attachRequest, noEffect, nil},
			{setExceptionBreakpointsRequest, startGrace, nil}, {configurationDoneRequest, takeFirstStop, nil},
			{firstStopDue, noEffect, nil}, {snapshotDue, noEffect, nil}, {stopShown, noEffect, nil},
			{firstStopDue, noEffect, errNoFirstStop}, // the grace period ends after configurationDone's stop
			{continueRequest, noEffect, nil}, {snapshotDue, noEffect, nil}, {stopShown, noEffect, nil},
			{disconnectRequest, noEffect, nil}},
			lifecycle{phase: ended, config: firstStopTaken, initialized: true}},
		{"setExceptionBreakpoints only: the grace period's stop", []step{{initializeRequest, noEffect, nil}, {attachRequest, noEffect, nil},
			{setExceptionBreakpointsRequest, startGrace, nil}, {firstStopDue, noEffect, nil}, {snapshotDue, noEffect, nil},
			{stopShown, noEffect, nil}},
			lifecycle{phase: stopped, config: firstStopTaken, initialized: true}},
		{"configured before attach", []step{{initializeRequest, noEffect, nil}, {setExceptionBreakpointsRequest, noEffect, nil},
			{configurationDoneRequest, noEffect, nil}, {attachRequest, takeFirstStop, nil}, {firstStopDue, noEffect, nil}},
			lifecycle{phase: attached, config: firstStopTaken, initialized: true}},
		{"the target exits while continued", []step{{attachRequest, noEffect, nil}, {configurationDoneRequest, takeFirstStop, nil},
			{firstStopDue, noEffect, nil}, {stopShown, noEffect, nil}, {continueRequest, noEffect, nil}, {targetExit, noEffect, nil},
			{snapshotDue, noEffect, errExited}, {continueRequest, noEffect, errExited}, {targetExit, noEffect, errExited},
			{initializeRequest, noEffect, nil}, {disconnectRequest, noEffect, nil}},
			lifecycle{phase: ended, config: firstStopTaken, initialized: true}},
		{"nothing before attach", []step{{snapshotDue, noEffect, errNotAttached}, {continueRequest, noEffect, errNotAttached},
			{initializeRequest, noEffect, nil}, {initializeRequest, noEffect, errAlreadyInitialized}},
			lifecycle{initialized: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l lifecycle
			for i, s := range tc.steps {
				next, eff, err := l.next(s.on)
				if !errors.Is(err, s.err) || eff != s.eff {
					t.Fatalf("step %d (%v) from %+v: effect %v, error %v; want %v, %v", i, s.on, l, eff, err, s.eff, s.err)
				}
				if err == nil {
					l = next
				}
			}
			if l != tc.want {
				t.Errorf("ended in %+v, want %+v", l, tc.want)
			}
		})
	}
}

// TestLifecycleInvariants walks every lifecycle reachable from a new session: a shown stop means
// the first stop is over, the first stop is asked for only while a process is open and it has
// not been taken, and an ended session starts nothing.
func TestLifecycleInvariants(t *testing.T) {
	seen := map[lifecycle]bool{{}: true}
	queue := []lifecycle{{}}
	for len(queue) > 0 {
		l := queue[0]
		queue = queue[1:]
		if l.phase == stopped && l.config != firstStopTaken {
			t.Errorf("%+v: stopped, but the first stop is still to come", l)
		}
		for on := initializeRequest; on <= targetExit; on++ {
			next, eff, err := l.next(on)
			what := fmt.Sprintf("%+v on %v", l, on)
			if err != nil {
				if next != l || eff != noEffect {
					t.Errorf("%s: refused (%v), yet moved to %+v with %v", what, err, next, eff)
				}
				continue
			}
			if eff != noEffect && (next.phase != attached && next.phase != running || next.config == firstStopTaken) {
				t.Errorf("%s: %v in %+v", what, eff, next)
			}
			if l.phase == ended && (next.phase != ended || eff != noEffect) {
				t.Errorf("%s: an ended session moved to %+v with %v", what, next, eff)
			}
			if !seen[next] {
				seen[next] = true
				queue = append(queue, next)
			}
		}
	}
	if len(seen) < 20 {
		t.Errorf("only %d lifecycles reachable", len(seen))
	}
}
