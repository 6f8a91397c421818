package ui

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestStaticFiles checks the embedded page is served with its security headers, dagre with
// it, and no directory listing.
func TestStaticFiles(t *testing.T) {
	srv := httptest.NewServer(NewServer(LocalClients{}))
	defer srv.Close()
	for path, want := range map[string]int{"/": 200, "/app.js": 200, "/vendor/dagre.min.js": 200, "/vendor/": 404, "/healthz": 200, "/nope.js": 404} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q", path, csp)
		}
	}
}
