package popctl

import "testing"

// The UI acts with the user's own credentials, so by default it must listen on loopback only.
func TestUICmdListensOnLoopbackByDefault(t *testing.T) {
	f := uiCmd(&globals{}).Flag("listen")
	if f == nil || f.DefValue != "127.0.0.1:8080" {
		t.Fatalf("--listen default = %v, want 127.0.0.1:8080", f)
	}
}
