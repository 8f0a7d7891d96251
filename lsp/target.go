package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"sync"
	"time"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/internal/srcpath"
	"github.com/aioscope/aioscope/tracking/live"
)

// Attaching to the target, taking snapshots of it (on a timer and on request), and publishing
// what they show: diagnostics, and to clients that support it, a nudge to ask for lenses again.

// attachment is one attached target and what is kept about it from one snapshot to the next.
type attachment struct {
	target  Target
	paths   *srcpath.Resolver
	watch   *watch
	stop    context.CancelFunc // ends the refresh loop
	done    chan struct{}      // closed when the refresh loop has ended
	lastErr string             // the last failure of a refresh shown to the user
}

// attach reads process pid from now on, instead of any process read before.
func (s *session) attach(pid int) (any, error) {
	s.attachMu.Lock()
	defer s.attachMu.Unlock()
	s.mu.Lock()
	opts, ended := s.opts, s.phase != running
	s.mu.Unlock()
	if ended {
		return nil, &jsonrpc2.Error{Code: jsonrpc2.CodeInvalidRequest, Message: "aioscope: the server is shutting down"}
	}
	if s.stopAttachment() {
		s.clearPublished()
	}
	target, err := s.srv.attach(pid, opts.inspect)
	if err != nil {
		return nil, &jsonrpc2.Error{Code: codeRequestFailed, Message: "aioscope: " + inspector.Explain(err)}
	}
	ctx, stop := context.WithCancel(s.ctx)
	// The event loops are sampled only while snapshots are taken on a timer: a session that reads
	// only on request reads nothing in between.
	var sampler live.ThreadSampler
	if ts, ok := target.(threadSampler); ok && opts.refresh > 0 && opts.blocked > 0 {
		if sampler, err = ts.newSampler(); err != nil {
			s.log.Info("the event loops will not be sampled", "err", err)
			sampler = nil
		}
	}
	att := &attachment{
		target: target,
		paths:  srcpath.New(pid, opts.mappings...),
		watch:  newWatch(opts.stuck, opts.blocked, sampler != nil),
		stop:   stop,
		done:   make(chan struct{}),
	}
	s.mu.Lock()
	s.att = att
	s.mu.Unlock()
	s.log.Info("attached", "pid", pid, "python", target.PythonVersion())
	res := attachResult{PID: pid, PythonVersion: target.PythonVersion()}
	v, err := s.refresh(att)
	switch {
	case err != nil && isGone(err):
		close(att.done)
		s.lost(att)
		return nil, &jsonrpc2.Error{Code: codeRequestFailed, Message: "aioscope: " + inspector.Explain(err)}
	case err != nil:
		// Still attached: a target that has not imported asyncio yet, or that changed too fast
		// this time, may well be readable at the next refresh.
		att.lastErr = inspector.Explain(err)
		s.showMessage(messageWarning, "aioscope: "+att.lastErr)
	default:
		n := len(v.snap.Tasks)
		res.Tasks, res.CapturedAt = &n, v.snap.CapturedAt.UTC().Format(time.RFC3339Nano)
		s.logMessage(fmt.Sprintf("aioscope: attached to process %d (Python %s): %d %s", pid, target.PythonVersion(), n, plural(n, "task", "tasks")))
	}
	if opts.refresh > 0 {
		var sampling sync.WaitGroup
		if sampler != nil {
			sampling.Add(1)
			go func() {
				defer sampling.Done()
				s.guard("sampling the event loops", func() { s.sampleLoops(ctx, att.watch, sampler) })
			}()
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer close(att.done)
			s.refreshLoop(ctx, att, opts.refresh)
			stop() // the target is gone: sampling ends too
			sampling.Wait()
		}()
	} else {
		close(att.done)
	}
	return res, nil
}

// detach lets go of the target; false when there was none.
func (s *session) detach() bool {
	s.attachMu.Lock()
	defer s.attachMu.Unlock()
	if !s.stopAttachment() {
		return false
	}
	s.clearPublished()
	return true
}

// stopAttachment forgets the target and waits for its refresh loop to end; false when there was
// none. Callers hold attachMu.
func (s *session) stopAttachment() bool {
	s.mu.Lock()
	att := s.att
	s.att, s.view = nil, nil
	s.mu.Unlock()
	if att == nil {
		return false
	}
	att.stop()
	<-att.done
	s.log.Info("detached", "pid", att.target.PID())
	return true
}

// clearPublished takes back everything published about the last target.
func (s *session) clearPublished() {
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	s.publish(nil)
}

// current returns the attachment requests are answered about.
func (s *session) current() *attachment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.att
}

// errDetached reports a snapshot whose attachment ended while it was taken.
var errDetached = errors.New("aioscope: detached from the process while reading it")

// refresh takes a snapshot of att's target and, if att is still the attachment, makes it the
// view and publishes it.
func (s *session) refresh(att *attachment) (*view, error) {
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	if s.current() != att {
		return nil, errDetached
	}
	snap, err := att.target.Snapshot()
	if err != nil {
		return nil, err
	}
	timers, _ := att.target.(live.FrameReader)
	v := buildView(snap, att.paths, att.watch.observe(snap, timers))
	s.mu.Lock()
	if s.att != att {
		s.mu.Unlock()
		return nil, errDetached
	}
	s.view = v
	s.mu.Unlock()
	s.publish(v)
	return v, nil
}

// refreshNow takes a snapshot for a request; a target that has gone is let go of.
func (s *session) refreshNow() (*view, error) {
	att := s.current()
	if att == nil {
		return nil, errNotAttached
	}
	v, err := s.refresh(att)
	if err != nil {
		if isGone(err) {
			s.lost(att)
		}
		if errors.Is(err, errDetached) {
			return nil, errNotAttached
		}
		return nil, &jsonrpc2.Error{Code: codeRequestFailed, Message: "aioscope: " + inspector.Explain(err)}
	}
	return v, nil
}

// refreshLoop takes a snapshot every interval until ctx is done or the target is gone.
func (s *session) refreshLoop(ctx context.Context, att *attachment, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		gone := false
		s.guard("refreshing", func() {
			_, err := s.refresh(att)
			switch {
			case err == nil:
				att.lastErr = ""
			case errors.Is(err, errDetached) || ctx.Err() != nil:
			case isGone(err):
				gone = true
				s.lost(att)
			default:
				// A target that changes too fast now and then is not worth a message per tick.
				if msg := inspector.Explain(err); msg != att.lastErr {
					att.lastErr = msg
					s.showMessage(messageWarning, "aioscope: "+msg)
				}
			}
		})
		if gone {
			return
		}
	}
}

// lost lets go of att, whose target has exited, and tells the user once. It does not wait for
// the refresh loop, which may be the caller.
func (s *session) lost(att *attachment) {
	s.mu.Lock()
	if s.att != att {
		s.mu.Unlock()
		return
	}
	s.att, s.view = nil, nil
	s.mu.Unlock()
	att.stop()
	pid := att.target.PID()
	s.log.Info("target exited", "pid", pid)
	s.showMessage(messageInfo, fmt.Sprintf("aioscope: process %d has exited", pid))
	s.clearPublished()
}

// isGone reports whether a snapshot failed because the target no longer exists.
func isGone(err error) bool {
	var gone *inspector.ProcessGoneError
	var notFound *inspector.ProcessNotFoundError
	return errors.As(err, &gone) || errors.As(err, &notFound)
}

// publish sends what changed since the last publication: the diagnostics of v (nil: none), and,
// when the lenses of the open documents changed, a request to fetch them again. Callers hold
// snapMu.
func (s *session) publish(v *view) {
	s.mu.Lock()
	r, caps := s.rend, s.caps
	docs := make(map[string]string, len(s.docs))
	for uri, p := range s.docs {
		docs[uri] = p
	}
	old := s.shown
	lastLens := s.lens
	s.mu.Unlock()

	next := map[string]string{}
	for path, ds := range r.diagnostics(v, caps.related) {
		uri := uriOf(v, path, docs)
		enc, err := json.Marshal(ds)
		if err != nil {
			continue
		}
		next[uri] = string(enc)
		if old[uri] != string(enc) {
			s.notify("textDocument/publishDiagnostics", publishDiagnosticsParams{URI: uri, Diagnostics: ds})
		}
	}
	for uri := range old {
		if _, ok := next[uri]; !ok {
			s.notify("textDocument/publishDiagnostics", publishDiagnosticsParams{URI: uri, Diagnostics: []Diagnostic{}})
		}
	}
	lens := lensHash(v, docs)
	s.mu.Lock()
	s.shown, s.lens = next, lens
	s.mu.Unlock()
	if lens != lastLens {
		if caps.lensRefresh {
			s.callClient("workspace/codeLens/refresh")
		}
		if caps.hints && caps.hintRefresh {
			s.callClient("workspace/inlayHint/refresh")
		}
	}
}

// uriOf returns the URI diagnostics of the file at path are published under: that of the open
// document which is this file, as the client named it, or else the path's file: URI.
func uriOf(v *view, path string, docs map[string]string) string {
	for uri, p := range docs {
		if p == path {
			return uri
		}
	}
	for uri, p := range docs {
		if p != "" && v.pathOf(p) == path {
			return uri
		}
	}
	return fileURI(path)
}

// lensHash sums up the lenses of the open documents, to tell whether they changed.
func lensHash(v *view, docs map[string]string) uint64 {
	h := fnv.New64a()
	if v == nil {
		return h.Sum64()
	}
	uris := make([]string, 0, len(docs))
	for uri := range docs {
		uris = append(uris, uri)
	}
	sort.Strings(uris)
	for _, uri := range uris {
		sites := v.sitesOf(docs[uri])
		if len(sites) == 0 {
			continue
		}
		fmt.Fprintf(h, "%s\x00", uri)
		for _, st := range sites {
			fmt.Fprintf(h, "%d\x00%s\x00", st.line, lensTitle(v, st))
		}
	}
	return h.Sum64()
}
