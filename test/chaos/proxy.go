package chaos

import (
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Proxy is a TCP proxy (TLS passes through) from the address the API server calls for the
// webhook to the managers' webhook servers. Down closes the listener and every open
// connection, so that the webhook is unreachable: the API server's call fails to connect.
type Proxy struct {
	port int

	mu       sync.Mutex
	ln       net.Listener
	backends []string
	conns    map[net.Conn]struct{}
	closed   bool
}

// NewProxy listens on a free loopback port.
func NewProxy() (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{port: ln.Addr().(*net.TCPAddr).Port, conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	return p, nil
}

// Port is the port the API server calls.
func (p *Proxy) Port() int { return p.port }

// SetBackends sets the webhook servers to forward to, tried in order.
func (p *Proxy) SetBackends(addrs ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backends = append([]string(nil), addrs...)
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	}()
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil || p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
}

func (p *Proxy) forward(in net.Conn) {
	defer func() { _ = in.Close() }()
	p.mu.Lock()
	backends := append([]string(nil), p.backends...)
	p.mu.Unlock()
	var out net.Conn
	for _, b := range backends {
		var err error
		if out, err = net.DialTimeout("tcp", b, time.Second); err == nil {
			break
		}
	}
	if out == nil {
		return
	}
	defer func() { _ = out.Close() }()
	if !p.track(in) || !p.track(out) {
		return
	}
	defer p.untrack(in)
	defer p.untrack(out)
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(out, in); done <- struct{}{} }()
	go func() { _, _ = io.Copy(in, out); done <- struct{}{} }()
	<-done
}

// Down makes the webhook unreachable: no listener, open connections cut.
func (p *Proxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
}

// Up listens again on the same port.
func (p *Proxy) Up() error {
	var ln net.Listener
	var err error
	for try := 0; try < 50; try++ {
		if ln, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p.port)); err == nil {
			p.serve(ln)
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the webhook proxy could not listen again: %w", err)
}

// Close stops the proxy for good.
func (p *Proxy) Close() {
	p.Down()
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
}
