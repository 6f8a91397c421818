// Package handler is the library for POP handler authors: it reads the resolved payload,
// reports progress and writes the output the way the HandlerType asks (termination message
// by default, the original POP's pop.report.payload annotation for compatibility).
// docs/handlers.md is the contract it implements.
package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// TerminationLog is where the kubelet reads a container's termination message.
const TerminationLog = "/dev/termination-log"

// Context is what a handler function gets besides its payload.
type Context struct {
	context.Context
	// Agenda, Operation, Namespace, Customer and Attempt identify the run.
	Agenda, Operation, Namespace, Customer string
	Attempt                                string
	// Log is where the handler's log lines go (stderr: kubectl logs shows them).
	Log      io.Writer
	reporter reporter
}

// Progress reports percent complete (0–100). It needs the annotation reporter (a
// service-account token allowed to patch the Pod); otherwise it only logs.
func (c *Context) Progress(percent int) {
	fmt.Fprintf(c.Log, "progress %d%%\n", percent)
	if c.reporter != nil {
		if err := c.reporter.annotate(c, map[string]string{"pop.report.progress": fmt.Sprint(percent)}); err != nil {
			fmt.Fprintf(c.Log, "reporting progress failed: %v\n", err)
		}
	}
}

// Func is a handler: it gets the payload as raw JSON and returns the output (any value
// encoding/json can encode) or an error, which fails the attempt.
type Func func(c *Context, payload json.RawMessage) (any, error)

// Main runs fn with the payload from the environment and exits: 0 with the output written,
// 1 with the error written as the termination message.
func Main(fn Func) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	os.Exit(Run(ctx, fn, os.Getenv, TerminationLog, os.Stderr))
}

// Run is Main without the exit, for tests: getenv supplies the environment and
// terminationLog is the file the output goes to.
func Run(ctx context.Context, fn Func, getenv func(string) string, terminationLog string, log io.Writer) int {
	c := &Context{
		Context: ctx, Agenda: getenv(EnvAgenda), Operation: getenv(EnvOperation),
		Namespace: getenv(EnvNamespace), Customer: getenv(EnvCustomer), Attempt: getenv(EnvAttempt),
		Log: log,
	}
	if getenv(EnvOutputMode) == OutputAnnotation {
		c.reporter = newAnnotationReporter(getenv)
	}
	out, err := fn(c, payload(getenv))
	if err != nil {
		fmt.Fprintf(log, "failed: %v\n", err)
		_ = os.WriteFile(terminationLog, []byte(truncate(err.Error(), 4000)), 0o644)
		return 1
	}
	raw, err := json.Marshal(out)
	if err != nil {
		fmt.Fprintf(log, "encoding output: %v\n", err)
		return 1
	}
	if err := writeOutput(c, raw, terminationLog); err != nil {
		fmt.Fprintf(log, "writing output: %v\n", err)
		return 1
	}
	return 0
}

func writeOutput(c *Context, raw []byte, terminationLog string) error {
	if c.reporter != nil {
		return c.reporter.annotate(c, map[string]string{"pop.report.payload": string(raw), "pop.report.progress": "100"})
	}
	if len(raw) > 4096 {
		return errors.New("output exceeds the 4096-byte termination message limit")
	}
	return os.WriteFile(terminationLog, raw, 0o644)
}

// payload prefers POP_PAYLOAD and falls back to the original POP's PAYLOAD.
func payload(getenv func(string) string) json.RawMessage {
	p := getenv(EnvPayload)
	if p == "" {
		p = getenv(EnvPOPPayload)
	}
	if p == "" {
		p = "null"
	}
	return json.RawMessage(p)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
