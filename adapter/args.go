package adapter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/internal/baseproto"
	"github.com/aioscope/aioscope/tracking"
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
	// StuckThreshold is how long a task that awaits no other task must wait at one place to be
	// shown as stuck ("stuckThreshold", in milliseconds; default 30 s).
	StuckThreshold time.Duration
	// BlockedThreshold is how long one callback must run for its event loop to be reported
	// blocked while a refresh runs ("blockedThreshold", in milliseconds; default asyncio's
	// slow_callback_duration, 100 ms).
	BlockedThreshold time.Duration
}

// Defaults of the thresholds.
const (
	DefaultStuckThreshold   = 30 * time.Second
	DefaultBlockedThreshold = tracking.DefaultBlockThreshold
)

// minBlockedThreshold keeps the blocked threshold above what samples, a few milliseconds apart,
// can tell.
const minBlockedThreshold = 20 * time.Millisecond

// minRefreshInterval keeps a tiny refreshInterval from turning the adapter into a busy loop.
const minRefreshInterval = 10 * time.Millisecond

var errNoProcessID = errors.New("attach needs a processId: the PID of a running Python 3.14 or 3.15 process")

// attachJSON is the attach request's arguments as they come. Each field keeps its JSON text,
// which the error messages quote.
type attachJSON struct {
	ProcessID       jsonArg[integer] `json:"processId"`
	RefreshInterval jsonArg[integer] `json:"refreshInterval"`
	Retries         jsonArg[integer] `json:"retries"`
	MaxThreads      jsonArg[integer] `json:"maxThreads"`
	MainThreadOnly  jsonArg[bool]    `json:"mainThreadOnly"`
	StuckThreshold  jsonArg[integer] `json:"stuckThreshold"`
	Blocked         jsonArg[integer] `json:"blockedThreshold"`
}

// parseAttachArguments validates the raw arguments of an attach request. Its errors are the
// one-line messages shown to the user.
func parseAttachArguments(raw json.RawMessage, defaultMaxThreads int) (AttachArguments, error) {
	args := AttachArguments{Retries: inspector.DefaultRetries, MaxThreads: defaultMaxThreads,
		StuckThreshold: DefaultStuckThreshold, BlockedThreshold: DefaultBlockedThreshold}
	var in attachJSON
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return args, errNoProcessID
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return args, fmt.Errorf("attach arguments must be a JSON object with a processId, not %s", baseproto.Truncate(string(raw), 60))
	}
	if !in.ProcessID.set {
		return args, errNoProcessID
	}
	pid, ok := intIn(in.ProcessID, 1, math.MaxInt32)
	if !ok {
		return args, fmt.Errorf("invalid processId %s: expected a positive integer PID", in.ProcessID.quote())
	}
	args.ProcessID = int(pid)
	if in.RefreshInterval.set {
		ms, ok := intIn(in.RefreshInterval, 0, int64(24*time.Hour/time.Millisecond))
		if !ok {
			return args, fmt.Errorf("invalid refreshInterval %s: expected milliseconds, 0 or more (0: no refresh)", in.RefreshInterval.quote())
		}
		args.RefreshInterval = time.Duration(ms) * time.Millisecond
		if args.RefreshInterval > 0 && args.RefreshInterval < minRefreshInterval {
			args.RefreshInterval = minRefreshInterval
		}
	}
	if in.Retries.set {
		n, ok := intIn(in.Retries, 0, 1000)
		if !ok {
			return args, fmt.Errorf("invalid retries %s: expected an integer from 0 to 1000", in.Retries.quote())
		}
		args.Retries = int(n)
	}
	if in.MaxThreads.set {
		n, ok := intIn(in.MaxThreads, 0, math.MaxInt32)
		if !ok {
			return args, fmt.Errorf("invalid maxThreads %s: expected an integer, 0 or more (0: no limit)", in.MaxThreads.quote())
		}
		args.MaxThreads = int(n)
	}
	if in.MainThreadOnly.set {
		if in.MainThreadOnly.err != nil {
			return args, fmt.Errorf("invalid mainThreadOnly %s: expected true or false", in.MainThreadOnly.quote())
		}
		args.MainThreadOnly = in.MainThreadOnly.value
	}
	day := int64(24 * time.Hour / time.Millisecond)
	if in.StuckThreshold.set {
		ms, ok := intIn(in.StuckThreshold, 1, day)
		if !ok {
			return args, fmt.Errorf("invalid stuckThreshold %s: expected milliseconds, more than 0", in.StuckThreshold.quote())
		}
		args.StuckThreshold = time.Duration(ms) * time.Millisecond
	}
	if in.Blocked.set {
		ms, ok := intIn(in.Blocked, 1, day)
		if !ok {
			return args, fmt.Errorf("invalid blockedThreshold %s: expected milliseconds, more than 0", in.Blocked.quote())
		}
		args.BlockedThreshold = max(time.Duration(ms)*time.Millisecond, minBlockedThreshold)
	}
	return args, nil
}

// jsonArg is one argument as it came: absent or null (not set), or its JSON text and its value,
// or why its value is not a T.
type jsonArg[T any] struct {
	set   bool
	text  string
	value T
	err   error
}

func (a *jsonArg[T]) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*a = jsonArg[T]{} // null counts as absent, also after a first value for the same name
		return nil
	}
	*a = jsonArg[T]{set: true, text: string(b)}
	a.err = json.Unmarshal(b, &a.value)
	return nil // the error is reported with the argument's name
}

// quote is the argument's JSON text for an error message.
func (a *jsonArg[T]) quote() string { return baseproto.Truncate(a.text, 60) }

// intIn returns the value of an integer argument when it is one from lo to hi.
func intIn(a jsonArg[integer], lo, hi int64) (int64, bool) {
	n := int64(a.value)
	return n, a.err == nil && n >= lo && n <= hi
}

// integer is a JSON number that is an integer: 1234 or 1234.0, not "1234" or 12.5.
type integer int64

func (i *integer) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil || len(b) == 0 || b[0] == '"' {
		return errors.New("not a number")
	}
	if v, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
		*i = integer(v)
		return nil
	}
	f, err := n.Float64()
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return errors.New("not an integer")
	}
	*i = integer(f)
	return nil
}
