package chaos

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pop-operator/pop/test/framework"
)

// Emulators are the run's own SQS (fauxqs) and DynamoDB Local: child processes of the run
// on free loopback ports, DynamoDB's data in the run's scratch folder, so that nothing else
// on the machine (the integration suites' emulators on the default ports, CI) is touched.
// hack/aws-emulators.sh installs them (cached) and names the install folders; the run
// starts, restarts and stops them itself, by PID.
type Emulators struct {
	SQSAddr, DynamoDBAddr string
	dir                   string
	fauxqs, dynamodb      string // install folders

	mu   sync.Mutex
	sqs  *exec.Cmd
	ddb  *exec.Cmd
	pids []int
}

// StartEmulators installs the emulators if needed and starts both.
func StartEmulators(ctx context.Context, dir string) (*Emulators, error) {
	script := filepath.Join(framework.RepoRoot(), "hack", "aws-emulators.sh")
	if out, err := exec.CommandContext(ctx, script, "install").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("installing the AWS emulators: %w\n%s", err, out)
	}
	out, err := exec.CommandContext(ctx, script, "env").Output()
	if err != nil {
		return nil, fmt.Errorf("hack/aws-emulators.sh env: %w", err)
	}
	vars := exports(out)
	e := &Emulators{SQSAddr: framework.FreeAddr(), DynamoDBAddr: framework.FreeAddr(), dir: filepath.Join(dir, "aws"),
		fauxqs: vars["POP_FAUXQS_DIR"], dynamodb: vars["POP_DYNAMODB_DIR"]}
	if e.fauxqs == "" || e.dynamodb == "" {
		return nil, fmt.Errorf("hack/aws-emulators.sh env names no POP_FAUXQS_DIR / POP_DYNAMODB_DIR")
	}
	if err := os.MkdirAll(filepath.Join(e.dir, "dynamodb-data"), 0o755); err != nil {
		return nil, err
	}
	if err := e.StartSQS(); err != nil {
		return nil, err
	}
	if err := e.StartDynamoDB(); err != nil {
		e.Stop()
		return nil, err
	}
	return e, nil
}

func exports(out []byte) map[string]string {
	vars := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "="); ok {
			vars[k] = v
		}
	}
	return vars
}

// SQSEndpoint and DynamoDBEndpoint are the emulators' URLs.
func (e *Emulators) SQSEndpoint() string      { return "http://" + e.SQSAddr }
func (e *Emulators) DynamoDBEndpoint() string { return "http://" + e.DynamoDBAddr }

// StartSQS starts fauxqs (state in memory only: it keeps nothing across a restart).
func (e *Emulators) StartSQS() error {
	host, port, _ := net.SplitHostPort(e.SQSAddr)
	cmd := exec.Command("node", "node_modules/fauxqs/dist/cli.js")
	cmd.Dir = e.fauxqs
	cmd.Env = append(os.Environ(), "FAUXQS_PORT="+port, "FAUXQS_HOST="+host, "FAUXQS_LOGGER=false")
	c, err := e.spawn("sqs", cmd, e.SQSAddr)
	e.mu.Lock()
	e.sqs = c
	e.mu.Unlock()
	return err
}

// StartDynamoDB starts DynamoDB Local with its data on disk (-dbPath, not -inMemory): the
// table and its items survive a restart.
func (e *Emulators) StartDynamoDB() error {
	_, port, _ := net.SplitHostPort(e.DynamoDBAddr)
	cmd := exec.Command("java", "-Djava.library.path=./DynamoDBLocal_lib", "-jar", "DynamoDBLocal.jar",
		"-dbPath", filepath.Join(e.dir, "dynamodb-data"), "-sharedDb", "-disableTelemetry", "-port", port)
	cmd.Dir = e.dynamodb
	cmd.Env = append(os.Environ(), "DDB_LOCAL_TELEMETRY=0")
	c, err := e.spawn("dynamodb", cmd, e.DynamoDBAddr)
	e.mu.Lock()
	e.ddb = c
	e.mu.Unlock()
	return err
}

func (e *Emulators) spawn(name string, cmd *exec.Cmd, addr string) (*exec.Cmd, error) {
	logf, err := os.OpenFile(filepath.Join(e.dir, name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	defer func() { _ = logf.Close() }()
	cmd.Stdout, cmd.Stderr = logf, logf
	// Should the run die, its emulators die with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	e.mu.Lock()
	e.pids = append(e.pids, cmd.Process.Pid)
	e.mu.Unlock()
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		select {
		case <-done:
			return nil, fmt.Errorf("%s exited at start; see %s", name, logf.Name())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			_ = c.Close()
			return cmd, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	return nil, fmt.Errorf("%s did not open %s within 60 s; see %s", name, addr, logf.Name())
}

// KillSQS and KillDynamoDB stop one emulator (SIGTERM, SIGKILL after 10 s) and wait until
// its process is gone.
func (e *Emulators) KillSQS()      { e.kill(&e.sqs) }
func (e *Emulators) KillDynamoDB() { e.kill(&e.ddb) }

func (e *Emulators) kill(c **exec.Cmd) {
	e.mu.Lock()
	cmd := *c
	*c = nil
	e.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	for i := 0; i < 200 && Alive(cmd.Process.Pid); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if Alive(cmd.Process.Pid) {
		_ = cmd.Process.Kill()
		for i := 0; i < 100 && Alive(cmd.Process.Pid); i++ {
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// Stop ends both emulators.
func (e *Emulators) Stop() {
	e.KillSQS()
	e.KillDynamoDB()
}

// Pids are the process ids of every emulator process the run started.
func (e *Emulators) Pids() []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]int(nil), e.pids...)
}
