package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestRunWritesOutputAsTerminationMessage(t *testing.T) {
	tl := filepath.Join(t.TempDir(), "termination-log")
	var seen json.RawMessage
	code := Run(context.Background(), func(c *Context, p json.RawMessage) (any, error) {
		seen = p
		return map[string]any{"agenda": c.Agenda, "ok": true}, nil
	}, env(map[string]string{"PAYLOAD": `{"legacy": 1}`, "POP_AGENDA": "ag"}), tl, &bytes.Buffer{})
	if code != 0 || string(seen) != `{"legacy": 1}` {
		t.Fatalf("code %d, payload %s", code, seen)
	}
	got, _ := os.ReadFile(tl)
	if string(got) != `{"agenda":"ag","ok":true}` {
		t.Errorf("termination message = %s", got)
	}
}

func TestRunReportsFailure(t *testing.T) {
	tl := filepath.Join(t.TempDir(), "termination-log")
	code := Run(context.Background(), func(*Context, json.RawMessage) (any, error) {
		return nil, errors.New("disk full")
	}, env(map[string]string{"POP_PAYLOAD": `{}`}), tl, &bytes.Buffer{})
	got, _ := os.ReadFile(tl)
	if code != 1 || string(got) != "disk full" {
		t.Errorf("code %d, message %q", code, got)
	}
}
