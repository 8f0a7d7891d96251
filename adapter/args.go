package adapter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/aioscope/aioscope/inspector"
)

// AttachArguments are the arguments of the attach request that aioscope understands; any other
// fields (VS Code adds type, request, name, __sessionId and more) are ignored.
type AttachArguments struct {
	// ProcessID is the PID of the Python process to read ("processId", required).
	ProcessID int
	// RefreshInterval is how often a new snapshot is published as events while the session is
	// continued ("refreshInterval", in milliseconds; 0 or absent: never).
	RefreshInterval time.Duration
	// Retries is how many times a snapshot is taken again when the target changes while it is
	// read ("retries", default inspector.DefaultRetries).
	Retries int
	// MaxThreads caps the threads listed for a target with very many tasks ("maxThreads";
	// 0: no cap; absent: the server's default).
	MaxThreads int
	// MainThreadOnly reads only the main thread's tasks and those of exited threads, as
	// CPython 3.14's own tool does ("mainThreadOnly").
	MainThreadOnly bool
}

// minRefreshInterval keeps a tiny refreshInterval from turning the adapter into a busy loop.
const minRefreshInterval = 10 * time.Millisecond

// parseAttachArguments validates the raw arguments of an attach request. Its errors are the
// one-line messages shown to the user.
func parseAttachArguments(raw json.RawMessage, defaultMaxThreads int) (AttachArguments, error) {
	args := AttachArguments{Retries: inspector.DefaultRetries, MaxThreads: defaultMaxThreads}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return args, fmt.Errorf("attach needs a processId: the PID of a running Python 3.14 or 3.15 process")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return args, fmt.Errorf("attach arguments must be a JSON object with a processId, not %s", truncate(string(raw), 60))
	}
	pidRaw, ok := fields["processId"]
	if !ok || bytes.Equal(bytes.TrimSpace(pidRaw), []byte("null")) {
		return args, fmt.Errorf("attach needs a processId: the PID of a running Python 3.14 or 3.15 process")
	}
	pid, err := intArgument(pidRaw)
	if err != nil || pid <= 0 || pid > math.MaxInt32 {
		return args, fmt.Errorf("invalid processId %s: expected a positive integer PID", truncate(string(bytes.TrimSpace(pidRaw)), 60))
	}
	args.ProcessID = int(pid)

	if r, ok := fields["refreshInterval"]; ok && !isNull(r) {
		ms, err := intArgument(r)
		if err != nil || ms < 0 || ms > int64(24*time.Hour/time.Millisecond) {
			return args, fmt.Errorf("invalid refreshInterval %s: expected milliseconds, 0 or more (0: no refresh)", truncate(string(bytes.TrimSpace(r)), 60))
		}
		args.RefreshInterval = time.Duration(ms) * time.Millisecond
		if args.RefreshInterval > 0 && args.RefreshInterval < minRefreshInterval {
			args.RefreshInterval = minRefreshInterval
		}
	}
	if r, ok := fields["retries"]; ok && !isNull(r) {
		n, err := intArgument(r)
		if err != nil || n < 0 || n > 1000 {
			return args, fmt.Errorf("invalid retries %s: expected an integer from 0 to 1000", truncate(string(bytes.TrimSpace(r)), 60))
		}
		args.Retries = int(n)
	}
	if r, ok := fields["maxThreads"]; ok && !isNull(r) {
		n, err := intArgument(r)
		if err != nil || n < 0 || n > math.MaxInt32 {
			return args, fmt.Errorf("invalid maxThreads %s: expected an integer, 0 or more (0: no limit)", truncate(string(bytes.TrimSpace(r)), 60))
		}
		args.MaxThreads = int(n)
	}
	if r, ok := fields["mainThreadOnly"]; ok && !isNull(r) {
		if err := json.Unmarshal(r, &args.MainThreadOnly); err != nil {
			return args, fmt.Errorf("invalid mainThreadOnly %s: expected true or false", truncate(string(bytes.TrimSpace(r)), 60))
		}
	}
	return args, nil
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// intArgument parses a JSON number that is an integer (1234 or 1234.0, not "1234" or 12.5).
func intArgument(raw json.RawMessage) (int64, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return 0, err
	}
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("not a number")
	}
	if i, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
		return i, nil
	}
	f, err := n.Float64()
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, fmt.Errorf("not an integer")
	}
	return int64(f), nil
}
