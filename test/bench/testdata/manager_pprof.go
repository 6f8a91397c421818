package main

// This file is added to cmd/manager only by the benchmark's build (go build -overlay, see
// test/bench/manager.go); the shipped manager never contains it. With POP_BENCH_PPROF set to
// host:port it serves /cpu/start, /cpu/stop (answers the CPU profile) and /heap.

import (
	"bytes"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
)

func init() {
	addr := os.Getenv("POP_BENCH_PPROF")
	if addr == "" {
		return
	}
	var mu sync.Mutex
	var buf *bytes.Buffer
	mux := http.NewServeMux()
	mux.HandleFunc("/cpu/start", func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if buf != nil {
			pprof.StopCPUProfile()
		}
		buf = &bytes.Buffer{}
		if err := pprof.StartCPUProfile(buf); err != nil {
			buf = nil
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("/cpu/stop", func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if buf == nil {
			http.Error(w, "no CPU profile running", http.StatusConflict)
			return
		}
		pprof.StopCPUProfile()
		_, _ = w.Write(buf.Bytes())
		buf = nil
	})
	mux.HandleFunc("/heap", func(w http.ResponseWriter, _ *http.Request) {
		runtime.GC()
		_ = pprof.Lookup("heap").WriteTo(w, 0)
	})
	go func() { _ = http.ListenAndServe(addr, mux) }()
}
