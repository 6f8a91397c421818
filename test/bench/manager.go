package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pop-operator/pop/test/framework"
)

// Manager is the manager binary running as a child process with its default flags; only its
// listen addresses are chosen (free loopback ports) and its kubeconfig given.
type Manager struct {
	*framework.Process
	MetricsAddr string
	ProbeAddr   string
	PprofAddr   string

	mu      sync.Mutex
	peakRSS int64 // bytes, since the last ResetPeak
	stop    chan struct{}
}

// BuildManager builds ./cmd/manager into dir, with testdata/manager_pprof.go overlaid into
// package main so that the bench can take CPU and heap profiles of the very process it
// measures. Nothing else of the binary differs from `make build`.
func BuildManager(ctx context.Context, dir string) (string, error) {
	root := framework.RepoRoot()
	return framework.BuildManager(ctx, dir, map[string]string{
		filepath.Join(root, "cmd", "manager", "zz_bench_pprof.go"): filepath.Join(root, "test", "bench", "testdata", "manager_pprof.go"),
	})
}

// StartManager runs bin against the kubeconfig and waits until it is ready.
func StartManager(ctx context.Context, bin, kubeconfig, dir string) (*Manager, error) {
	m := &Manager{MetricsAddr: framework.FreeAddr(), ProbeAddr: framework.FreeAddr(), PprofAddr: framework.FreeAddr(), stop: make(chan struct{})}
	var err error
	m.Process, err = framework.StartProcess(bin, []string{"--metrics-bind-address=" + m.MetricsAddr, "--health-probe-bind-address=" + m.ProbeAddr},
		[]string{"KUBECONFIG=" + kubeconfig, "POD_NAMESPACE=" + OperatorNamespace, "POP_BENCH_PPROF=" + m.PprofAddr},
		filepath.Join(dir, fmt.Sprintf("manager-%d.log", time.Now().Unix())))
	if err != nil {
		return nil, err
	}
	go m.sample()
	if err := m.WaitHTTP(ctx, "http://"+m.ProbeAddr+"/readyz", 60*time.Second); err != nil {
		m.Stop()
		return nil, fmt.Errorf("the manager was not ready: %w", err)
	}
	return m, nil
}

// Stop ends the manager (SIGTERM, then SIGKILL after 10 s).
func (m *Manager) Stop() {
	close(m.stop)
	m.Process.Stop(10 * time.Second)
}

// CPUSeconds is the manager's user+system CPU time so far, from /proc.
func (m *Manager) CPUSeconds() float64 { return cpuSeconds(m.Pid()) }

func cpuSeconds(pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start at state, field 3.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // USER_HZ is 100 on Linux
}

// RSS returns the manager's resident set now and its lifetime peak (VmHWM), in bytes.
func (m *Manager) RSS() (now, peak int64) { return procStatus(m.Pid()) }

func procStatus(pid int) (rss, hwm int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			hwm = kb << 10
		}
	}
	return rss, hwm
}

func (m *Manager) sample() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			rss, _ := m.RSS()
			m.mu.Lock()
			m.peakRSS = max(m.peakRSS, rss)
			m.mu.Unlock()
		}
	}
}

// PeakSinceReset is the highest RSS sampled (every 100 ms) since the last ResetPeak.
func (m *Manager) PeakSinceReset() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.peakRSS
}

// ResetPeak starts a new peak RSS window at the current RSS.
func (m *Manager) ResetPeak() {
	rss, _ := m.RSS()
	m.mu.Lock()
	m.peakRSS = rss
	m.mu.Unlock()
}

// RequestsByMethod scrapes rest_client_requests_total from the manager's /metrics, summed
// over codes and hosts: its client's requests by HTTP method.
func (m *Manager) RequestsByMethod() (map[string]float64, error) {
	resp, err := http.Get("http://" + m.MetricsAddr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "rest_client_requests_total{") {
			continue
		}
		i := strings.Index(line, `method="`)
		j := strings.LastIndexByte(line, ' ')
		if i < 0 || j < 0 {
			continue
		}
		method := line[i+8:]
		method = method[:strings.IndexByte(method, '"')]
		v, _ := strconv.ParseFloat(line[j+1:], 64)
		out[method] += v
	}
	return out, sc.Err()
}

// StartCPUProfile starts a CPU profile of the manager.
func (m *Manager) StartCPUProfile() error {
	resp, err := http.Get("http://" + m.PprofAddr + "/cpu/start")
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("starting the CPU profile: %s", resp.Status)
	}
	return nil
}

// StopCPUProfile ends the CPU profile and writes it to path.
func (m *Manager) StopCPUProfile(path string) error { return m.fetch("/cpu/stop", path) }

// HeapProfile writes a heap profile (after a GC) to path.
func (m *Manager) HeapProfile(path string) error { return m.fetch("/heap", path) }

func (m *Manager) fetch(endpoint, path string) error {
	resp, err := http.Get("http://" + m.PprofAddr + endpoint)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", endpoint, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	_, err = io.Copy(f, resp.Body)
	return err
}
