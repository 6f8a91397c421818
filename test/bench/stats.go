package bench

import (
	"math"
	"sort"
	"time"
)

// Latency summarises samples in milliseconds.
type Latency struct {
	N       int       `json:"n"`
	P50     float64   `json:"p50Ms"`
	P90     float64   `json:"p90Ms"`
	P99     float64   `json:"p99Ms"`
	Max     float64   `json:"maxMs"`
	Samples []float64 `json:"samplesMs,omitempty"`
}

// Summarise sorts the samples and takes nearest-rank percentiles.
func Summarise(ds []time.Duration) Latency {
	ms := make([]float64, 0, len(ds))
	for _, d := range ds {
		ms = append(ms, float64(d.Microseconds())/1000)
	}
	sort.Float64s(ms)
	l := Latency{N: len(ms), Samples: ms}
	if len(ms) == 0 {
		return l
	}
	l.P50, l.P90, l.P99, l.Max = rank(ms, 0.50), rank(ms, 0.90), rank(ms, 0.99), ms[len(ms)-1]
	return l
}

func rank(sorted []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// PerSecond buckets moments into counts per second since start.
func PerSecond(start time.Time, at []time.Time) []float64 {
	var out []float64
	for _, t := range at {
		i := int(t.Sub(start).Seconds())
		if i < 0 {
			continue
		}
		for len(out) <= i {
			out = append(out, 0)
		}
		out[i]++
	}
	return out
}

// Median of a few values (repeated runs).
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
