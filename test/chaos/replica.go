package chaos

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pop-operator/pop/test/framework"
)

// BuildManager builds ./cmd/manager into dir exactly as `make build` does.
func BuildManager(ctx context.Context, dir string) (string, error) {
	return framework.BuildManager(ctx, dir, nil)
}

// Life is one process of a replica: when it started, became ready and ended.
type Life struct {
	Pid            int
	Started, Ready time.Time
	Ended          time.Time
	Killed         bool   // by the run (SIGKILL)
	Exit           string // how it ended when not killed
}

// Replica is one manager replica, supervised like a Pod with restartPolicy Always: when its
// process ends, killed or not, it is started again at once.
type Replica struct {
	Name        string
	WebhookAddr string
	MetricsAddr string
	ProbeAddr   string

	bin, dir string
	args     []string
	env      []string

	mu      sync.Mutex
	proc    *framework.Process
	lives   []*Life
	killing bool
	stopped bool
	exited  chan struct{}
	backoff time.Duration
}

// ManagerArgs are the flags the run adds to the binary's defaults: listen addresses (free
// loopback ports, as two replicas share a host), the webhook served with envtest's certificate,
// and for leader election the Lease's namespace (out of a cluster there is no service-account
// namespace to default to).
func ManagerArgs(r *Replica, certDir string, leaderElect bool) []string {
	_, port, _ := net.SplitHostPort(r.WebhookAddr)
	args := []string{
		"--metrics-bind-address=" + r.MetricsAddr,
		"--health-probe-bind-address=" + r.ProbeAddr,
		"--enable-webhooks", "--webhook-cert-mode=external", "--webhook-cert-dir=" + certDir, "--webhook-port=" + port,
	}
	if leaderElect {
		args = append(args, "--leader-elect", "--leader-election-namespace="+OperatorNamespace)
	}
	return args
}

// NewReplica prepares a replica; Start runs it.
func NewReplica(name, bin, dir, kubeconfig string) *Replica {
	return &Replica{Name: name, bin: bin, dir: dir, WebhookAddr: framework.FreeAddr(), MetricsAddr: framework.FreeAddr(),
		ProbeAddr: framework.FreeAddr(), env: []string{"KUBECONFIG=" + kubeconfig, "POD_NAMESPACE=" + OperatorNamespace}}
}

// Start runs the replica with args and supervises it until Stop.
func (r *Replica) Start(args []string) error {
	r.args = args
	r.exited = make(chan struct{})
	if err := r.spawn(); err != nil {
		return err
	}
	go r.supervise()
	return nil
}

func (r *Replica) spawn() error {
	// Should the run itself die, its managers die with it (the process's Pdeathsig).
	p, err := framework.StartProcess(r.bin, r.args, r.env, filepath.Join(r.dir, r.Name+".log"))
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.proc = p
	l := &Life{Pid: p.Pid(), Started: time.Now()}
	r.lives = append(r.lives, l)
	r.mu.Unlock()
	go r.watchReady(l)
	return nil
}

func (r *Replica) supervise() {
	defer close(r.exited)
	for {
		r.mu.Lock()
		proc, l := r.proc, r.lives[len(r.lives)-1]
		r.mu.Unlock()
		err := proc.Wait()
		r.mu.Lock()
		l.Ended, l.Killed = time.Now(), r.killing
		if !r.killing {
			l.Exit = fmt.Sprint(err)
		}
		killed := r.killing
		r.killing = false
		r.mu.Unlock()
		if r.wait(killed, l) {
			return
		}
		for r.spawn() != nil {
			time.Sleep(time.Second)
		}
	}
}

// wait is the pause before a restart, as a kubelet's: none after a kill, else a back-off that
// doubles from 1 s to 10 s while processes end within 10 s of their start. It returns true
// when the replica was stopped meanwhile.
func (r *Replica) wait(killed bool, l *Life) bool {
	if killed || l.Ended.Sub(l.Started) > 10*time.Second {
		r.backoff = 0
	} else {
		r.backoff = min(max(2*r.backoff, time.Second), 10*time.Second)
	}
	deadline := time.Now().Add(r.backoff)
	for {
		r.mu.Lock()
		stopped := r.stopped
		r.mu.Unlock()
		if stopped || !time.Now().Before(deadline) {
			return stopped
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *Replica) watchReady(l *Life) {
	for time.Since(l.Started) < 2*time.Minute {
		r.mu.Lock()
		ended := !l.Ended.IsZero()
		r.mu.Unlock()
		if ended {
			return
		}
		if resp, err := http.Get("http://" + r.ProbeAddr + "/readyz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				r.mu.Lock()
				l.Ready = time.Now()
				r.mu.Unlock()
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill SIGKILLs the current process (the supervisor starts the next) and returns the time
// of the kill.
func (r *Replica) Kill() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.killing = true
	_ = r.proc.Cmd.Process.Signal(syscall.SIGKILL) // not proc.Kill: the supervisor waits for it
	return time.Now()
}

// WaitReady waits until the replica's current process is ready.
func (r *Replica) WaitReady(ctx context.Context, within time.Duration) error {
	return r.WaitReadyAfter(ctx, time.Time{}, within)
}

// WaitReadyAfter waits until a process of the replica started after t is ready.
func (r *Replica) WaitReadyAfter(ctx context.Context, t time.Time, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if l := r.Current(); l != nil && l.Started.After(t) && !l.Ready.IsZero() && l.Ended.IsZero() {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("replica %s not ready within %s; see %s", r.Name, within, filepath.Join(r.dir, r.Name+".log"))
}

// Current is the replica's latest process.
func (r *Replica) Current() *Life {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.lives) == 0 {
		return nil
	}
	c := *r.lives[len(r.lives)-1]
	return &c
}

// Lives are the replica's processes so far.
func (r *Replica) Lives() []Life {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Life, len(r.lives))
	for i, l := range r.lives {
		out[i] = *l
	}
	return out
}

// Stop ends the replica for good (SIGTERM, SIGKILL after 15 s) and waits for its process.
func (r *Replica) Stop() {
	r.mu.Lock()
	if r.proc == nil || r.stopped {
		r.mu.Unlock()
		return
	}
	r.stopped = true
	r.killing = false
	p := r.proc
	r.mu.Unlock()
	p.Stop(15 * time.Second)
	<-r.exited
}

// Pids are the process ids of every process the replica started.
func (r *Replica) Pids() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]int, 0, len(r.lives))
	for _, l := range r.lives {
		out = append(out, l.Pid)
	}
	return out
}

// IsLeader reads the replica's leader_election_master_status metric.
func (r *Replica) IsLeader() bool {
	resp, err := http.Get("http://" + r.MetricsAddr + "/metrics")
	if err != nil {
		return false
	}
	defer func() { _ = resp.Body.Close() }()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "leader_election_master_status{") {
			v, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			return v == 1
		}
	}
	return false
}

// Alive reports whether pid still runs (a zombie counts as gone).
func Alive(pid int) bool {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
