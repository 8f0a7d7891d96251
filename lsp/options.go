package lsp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/internal/srcpath"
	"github.com/aioscope/aioscope/tracking"
)

// DefaultRefreshInterval is how often a snapshot is taken unless refreshInterval says otherwise.
const DefaultRefreshInterval = 2 * time.Second

// minRefreshInterval bounds how often snapshots are taken: a target of 100,000 tasks takes a
// good part of that to read.
const minRefreshInterval = 100 * time.Millisecond

// options are the initialization options (initialize's initializationOptions):
//
//	processId          PID to attach to, a number or a string of digits (default: none; attach
//	                   later with the aioscope.attach command)
//	refreshInterval    milliseconds between snapshots (default 2000; 0: only on aioscope.refresh
//	                   and aioscope/snapshot; at least 100)
//	pathMappings       [{"localRoot": "/home/me/svc", "remoteRoot": "/app"}]: files the target
//	                   names under remoteRoot are the files under localRoot here; a relative
//	                   localRoot is relative to the workspace's root
//	retries            retries of a snapshot that meets a target changing while it is read
//	                   (default 3)
//	mainThreadOnly     read only the main thread's tasks, as CPython 3.14's own tool does
//	inlayHints         true or false; by default inlay hints are offered only to clients
//	                   without code lenses, which show the same
//	stuckThreshold     milliseconds a leaf task must wait at one place, outside asyncio.sleep(),
//	                   to be shown as stuck (default 30000)
//	blockedThreshold   milliseconds a callback must run to be shown as blocking its event loop
//	                   (default 100; 0: the loops are not sampled)
//	advertiseCommands  false keeps the commands out of the capabilities, for clients that would
//	                   otherwise register them under names they already use (they can still be
//	                   executed)
type options struct {
	pid               int
	refresh           time.Duration
	mappings          []srcpath.Mapping
	inspect           inspector.Options
	inlayHints        *bool
	advertiseCommands bool
	stuck, blocked    time.Duration
}

type rawOptions struct {
	ProcessID       json.RawMessage `json:"processId"`
	RefreshInterval *float64        `json:"refreshInterval"`
	PathMappings    []struct {
		LocalRoot  string `json:"localRoot"`
		RemoteRoot string `json:"remoteRoot"`
	} `json:"pathMappings"`
	Retries           *int     `json:"retries"`
	MainThreadOnly    bool     `json:"mainThreadOnly"`
	InlayHints        *bool    `json:"inlayHints"`
	AdvertiseCommands *bool    `json:"advertiseCommands"`
	StuckThreshold    *float64 `json:"stuckThreshold"`
	BlockedThreshold  *float64 `json:"blockedThreshold"`
}

// parseOptions reads initializationOptions; root is the workspace's root directory ("" when
// unknown), for relative local roots.
func parseOptions(raw json.RawMessage, root string) (options, error) {
	o := options{refresh: DefaultRefreshInterval, inspect: inspector.Options{Retries: inspector.DefaultRetries}, advertiseCommands: true,
		stuck: DefaultStuckThreshold, blocked: tracking.DefaultBlockThreshold}
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return o, nil
	}
	var r rawOptions
	if err := json.Unmarshal(raw, &r); err != nil {
		return o, fmt.Errorf("invalid initializationOptions: %v", err)
	}
	if len(r.ProcessID) > 0 && string(r.ProcessID) != "null" {
		pid, err := parsePID(r.ProcessID)
		if err != nil {
			return o, fmt.Errorf("invalid initializationOptions.processId: %v", err)
		}
		o.pid = pid
	}
	if r.RefreshInterval != nil {
		ms := *r.RefreshInterval
		if ms < 0 || ms > float64(24*time.Hour/time.Millisecond) {
			return o, fmt.Errorf("invalid initializationOptions.refreshInterval %v: milliseconds between snapshots, 0 to take them only on request", ms)
		}
		o.refresh = time.Duration(ms * float64(time.Millisecond))
		if o.refresh > 0 && o.refresh < minRefreshInterval {
			o.refresh = minRefreshInterval
		}
	}
	for i, m := range r.PathMappings {
		local := m.LocalRoot
		if local != "" && !filepath.IsAbs(local) && root != "" {
			local = filepath.Join(root, local)
		}
		if !filepath.IsAbs(local) || !strings.HasPrefix(m.RemoteRoot, "/") {
			return o, fmt.Errorf("invalid initializationOptions.pathMappings[%d]: localRoot and remoteRoot must be absolute paths (localRoot may be relative to the workspace)", i)
		}
		o.mappings = append(o.mappings, srcpath.Mapping{LocalRoot: local, RemoteRoot: m.RemoteRoot})
	}
	if r.Retries != nil {
		if *r.Retries < 0 || *r.Retries > 1000 {
			return o, fmt.Errorf("invalid initializationOptions.retries %d: 0 to 1000", *r.Retries)
		}
		o.inspect.Retries = *r.Retries
	}
	if r.StuckThreshold != nil {
		ms := *r.StuckThreshold
		if !(ms >= 1 && ms <= float64(7*24*time.Hour/time.Millisecond)) {
			return o, fmt.Errorf("invalid initializationOptions.stuckThreshold %v: milliseconds a task waits at one place before it is shown as stuck (at least 1)", ms)
		}
		o.stuck = time.Duration(ms * float64(time.Millisecond))
	}
	if r.BlockedThreshold != nil {
		ms := *r.BlockedThreshold
		if !(ms >= 0 && ms <= float64(time.Hour/time.Millisecond)) {
			return o, fmt.Errorf("invalid initializationOptions.blockedThreshold %v: milliseconds a callback runs before its event loop is shown as blocked, 0 not to sample the loops", ms)
		}
		o.blocked = time.Duration(ms * float64(time.Millisecond))
	}
	o.inspect.MainThreadOnly = r.MainThreadOnly
	o.inlayHints = r.InlayHints
	if r.AdvertiseCommands != nil {
		o.advertiseCommands = *r.AdvertiseCommands
	}
	return o, nil
}

// parsePID reads a PID given as a number or as a string of digits (editors' process pickers
// give strings).
func parsePID(raw json.RawMessage) (int, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, err
	}
	var s string
	switch x := v.(type) {
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		s = strings.TrimSpace(x)
	default:
		return 0, fmt.Errorf("%s is not a PID", clip(string(raw)))
	}
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 || pid > 1<<22 {
		return 0, fmt.Errorf("%q is not a PID (a positive integer)", clip(s))
	}
	return pid, nil
}
