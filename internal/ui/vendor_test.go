package ui

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// dagreSHA256 is the digest of @dagrejs/dagre 1.1.4's dist/dagre.min.js (vendor-dagre.sh).
const dagreSHA256 = "2cde82baf0b9232c00aa13932945ff92a17fb08c6885a635592330a4c2c567c5"

// TestVendoredDagre checks that the embedded layout library is the npm release's file, byte
// for byte, so that vendor-dagre.sh reproduces it.
func TestVendoredDagre(t *testing.T) {
	b, err := static.ReadFile("static/vendor/dagre.min.js")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != dagreSHA256 {
		t.Errorf("static/vendor/dagre.min.js has sha256 %s, want %s (run internal/ui/vendor-dagre.sh)", got, dagreSHA256)
	}
}
