// Package serve runs the sessions of aioscope's protocol servers — the debug adapter and the
// language server — over the connections a listener accepts.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
)

// MaxConcurrent bounds the sessions Listener serves at the same time; further connections wait
// in the listen queue until one ends.
const MaxConcurrent = 16

// Listener accepts connections on ln and runs session for each, each on its own, so that a client
// that connects and then says nothing does not keep others out. A connection is closed when its
// session returns. Listener returns when ctx is done (then it closes ln, ends the sessions through
// their context and waits for them, and returns nil) or when accepting fails.
func Listener(ctx context.Context, ln net.Listener, log *slog.Logger, session func(context.Context, net.Conn) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, MaxConcurrent)
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("accepting a connection on %s: %w", ln.Addr(), err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			remote := conn.RemoteAddr().String()
			log.Info("client connected", "remote", remote)
			err := session(ctx, conn)
			_ = conn.Close()
			if err != nil && ctx.Err() == nil {
				log.Warn("session ended with an error", "remote", remote, "err", err)
			} else {
				log.Info("session ended", "remote", remote)
			}
		}()
	}
}
