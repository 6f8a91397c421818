package main

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func TestRun(t *testing.T) {
	want := sha256.Sum256([]byte("s3://media/x.mp4"))
	out, err := run("sha256", false, []byte(`{"text": "s3://media/x.mp4"}`))
	if err != nil {
		t.Fatal(err)
	}
	if out["sha256"] != hex.EncodeToString(want[:]) || out["length"] != 16 {
		t.Errorf("run = %v", out)
	}
	if _, err := run("sha256", false, []byte(`{"txt": 1}`)); err == nil {
		t.Error("a payload without text was accepted")
	}
	if _, err := run("md4", false, []byte(`{"text": ""}`)); err == nil {
		t.Error("an unknown algorithm was accepted")
	}
}
