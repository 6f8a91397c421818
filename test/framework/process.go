package framework

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// BuildManager builds ./cmd/manager into dir/manager as `make build` does. overlay, when not
// empty, is go build's -overlay replacement map (file in the package → file it is read from),
// for a run that adds a file to package main (the bench's profiling endpoints).
func BuildManager(ctx context.Context, dir string, overlay map[string]string) (string, error) {
	args := []string{"build"}
	if len(overlay) > 0 {
		raw, err := json.Marshal(map[string]map[string]string{"Replace": overlay})
		if err != nil {
			return "", err
		}
		ov := filepath.Join(dir, "overlay.json")
		if err := os.WriteFile(ov, raw, 0o644); err != nil {
			return "", err
		}
		args = append(args, "-overlay", ov)
	}
	bin := filepath.Join(dir, "manager")
	cmd := exec.CommandContext(ctx, "go", append(args, "-o", bin, "./cmd/manager")...)
	cmd.Dir = RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the manager: %w\n%s", err, out)
	}
	return bin, nil
}

var managerBinary struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// ManagerBinary builds ./cmd/manager once per test process, into a temporary folder, and
// returns its path. RemoveManagerBinary (in an AfterSuite) deletes it.
func ManagerBinary(ctx context.Context) (string, error) {
	b := &managerBinary
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "pop-manager-bin-"); b.err == nil {
			b.bin, b.err = BuildManager(ctx, b.dir, nil)
		}
	})
	return b.bin, b.err
}

// RemoveManagerBinary deletes the folder ManagerBinary built into, if it did.
func RemoveManagerBinary() error {
	if managerBinary.dir == "" {
		return nil
	}
	return os.RemoveAll(managerBinary.dir)
}

// FreeAddr is a loopback address with a port free now, for a child process to listen on.
func FreeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

// Process is a child process (the manager binary, usually) whose output goes to a log file.
// It dies with the test process (Pdeathsig), so a failed run leaves no manager behind.
type Process struct {
	Cmd *exec.Cmd
	Log string // the file its stdout and stderr are appended to

	done chan struct{}
	err  error // how it ended; read after done is closed
}

// StartProcess runs bin with args and env (added to the test process's environment),
// appending its output to logPath.
func StartProcess(bin string, args, env []string, logPath string) (*Process, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	defer func() { _ = logf.Close() }() // the child holds its own copy
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{Cmd: cmd, Log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process's id.
func (p *Process) Pid() int { return p.Cmd.Process.Pid }

// Done is closed once the process has ended and been waited for.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait waits until the process has ended and returns how (an *exec.ExitError for a signal or
// a non-zero exit).
func (p *Process) Wait() error {
	<-p.done
	return p.err
}

// Exited says whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Kill SIGKILLs the process — a crash: nothing of it runs after this, no deferred cleanup, no
// lease released — and waits until it is gone.
func (p *Process) Kill() {
	_ = p.Cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop asks the process to end (SIGTERM, as the kubelet does) and SIGKILLs it if it has not
// within grace; it waits until it is gone.
func (p *Process) Stop(grace time.Duration) {
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.Kill()
	}
}

// WaitHTTP polls url until it answers 200 or the process ends, ctx ends or within passes.
func (p *Process) WaitHTTP(ctx context.Context, url string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("the process ended (%v) before %s answered; see %s", p.err, url, p.Log)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not answer within %s; see %s", url, within, p.Log)
}

// Scrape reads a Prometheus text endpoint and returns the value of every sample whose line
// starts with prefix (a metric name, or a name and the start of its labels), by its whole
// series (name and labels as written).
func Scrape(url, prefix string) (map[string]float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %w", url, line, err)
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}
