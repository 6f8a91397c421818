package chaos

import (
	"bufio"
	"fmt"
	"net"
	"testing"
	"time"
)

func echoServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = c.Close() }()
				line, _ := bufio.NewReader(c).ReadString('\n')
				_, _ = c.Write([]byte("echo " + line))
			}()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(port int) (string, error) {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err != nil {
		return "", err
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("hi\n")); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

// The proxy forwards to the first backend that answers, refuses connections while down, and
// forwards again on the same port once up.
func TestProxyDownAndUp(t *testing.T) {
	p, err := NewProxy()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.SetBackends("127.0.0.1:1", echoServer(t)) // the first is dead, as a killed replica
	if got, err := roundTrip(p.Port()); err != nil || got != "echo hi\n" {
		t.Fatalf("through the proxy: %q, %v", got, err)
	}
	p.Down()
	if _, err := roundTrip(p.Port()); err == nil {
		t.Fatal("the proxy answered while down")
	}
	if err := p.Up(); err != nil {
		t.Fatal(err)
	}
	if got, err := roundTrip(p.Port()); err != nil || got != "echo hi\n" {
		t.Fatalf("after Up: %q, %v", got, err)
	}
}
