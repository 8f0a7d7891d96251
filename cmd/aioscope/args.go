package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/tracking"
	"github.com/aioscope/aioscope/tracking/live"
)

// onePID parses the one positional argument, a PID; msg says what is wrong with it.
func onePID(fs *flag.FlagSet) (pid int, msg string) {
	if fs.NArg() != 1 {
		return 0, "expected one PID"
	}
	pid, err := strconv.Atoi(fs.Arg(0))
	if err != nil || pid <= 0 {
		return 0, fmt.Sprintf("invalid PID %q: expected a positive integer", fs.Arg(0))
	}
	return pid, ""
}

// parsePID parses args into fs and its one operand, a PID. When it returns ok false, the command
// is over with the exit status code: help was printed, or a usage error.
func (c commandLine) parsePID(fs *flag.FlagSet, args []string) (pid, code int, ok bool) {
	if code, ok := c.parse(fs, args); !ok {
		return 0, code, false
	}
	pid, msg := onePID(fs)
	if msg != "" {
		return 0, c.usageError("%s", msg), false
	}
	return pid, 0, true
}

// reorderFlagsOf moves flags before positional arguments, so that both `aioscope check --for 5s
// PID` and `aioscope check PID --for 5s` work; fs says which flags take a value.
func reorderFlagsOf(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && len(a) > 1:
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if strings.Contains(name, "=") {
				continue
			}
			f := fs.Lookup(name)
			if f == nil {
				continue
			}
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
				continue
			}
			if i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		default:
			pos = append(pos, a)
		}
	}
	return slices.Concat(flags, pos)
}

// monitorFlags are the flags of the commands that watch a process over time: watch and check.
type monitorFlags struct {
	interval, sampleEvery, stuck, blocked, watchFor time.Duration
	retries                                         int
	asJSON                                          bool
}

// add registers the flags; forDefault is --for's default.
func (m *monitorFlags) add(fs *flag.FlagSet, forDefault time.Duration) {
	fs.DurationVar(&m.interval, "interval", live.DefaultInterval, "")
	fs.DurationVar(&m.sampleEvery, "sample-interval", live.DefaultSampleInterval, "")
	fs.DurationVar(&m.stuck, "stuck", live.DefaultStuck, "")
	fs.DurationVar(&m.blocked, "blocked", tracking.DefaultBlockThreshold, "")
	fs.DurationVar(&m.watchFor, "for", forDefault, "")
	fs.IntVar(&m.retries, "retries", inspector.DefaultRetries, "")
	fs.BoolVar(&m.asJSON, "json", false, "")
}

// check reports a duration that is not positive (example shows what one looks like).
func (m *monitorFlags) check(example string) error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"interval", m.interval}, {"sample-interval", m.sampleEvery}, {"stuck", m.stuck}, {"blocked", m.blocked}} {
		if d.v <= 0 {
			return fmt.Errorf("--%s must be a positive duration such as %s", d.name, example)
		}
	}
	return nil
}

// config is the live monitor's configuration the flags give.
func (m *monitorFlags) config() live.Config {
	return live.Config{Interval: m.interval, SampleInterval: m.sampleEvery, Stuck: m.stuck, Blocked: m.blocked, Retries: m.retries}
}

// commandLine reads a command's flags and reports its usage errors and help, one way for every
// command.
type commandLine struct {
	name, usage, help string // help is printed for -h; usage ends every usage error
	stdout, stderr    io.Writer
}

// usageError prints "aioscope NAME: MESSAGE (USAGE)" and returns the usage error's exit status.
func (c commandLine) usageError(format string, a ...any) int {
	fmt.Fprintf(c.stderr, "aioscope %s: %s (%s)\n", c.name, fmt.Sprintf(format, a...), c.usage)
	return exitUsage
}

// parse parses args into fs, flags and operands in any order. When it returns ok false, the
// command is over with the exit status code: help was printed, or a usage error.
func (c commandLine) parse(fs *flag.FlagSet, args []string) (code int, ok bool) {
	fs.SetOutput(io.Discard)
	err := fs.Parse(reorderFlagsOf(fs, args))
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(c.stdout, c.help)
		return exitOK, false
	case err != nil:
		return c.usageError("%v", err), false
	}
	return 0, true
}
