package bench

import (
	"fmt"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// latencyKinds are the latencies plotted, each as CDFs idle vs loaded (and at scale).
var latencyKinds = []struct{ key, title string }{
	{"createToAdmitted", "create → Admitted"},
	{"freedToAdmitted", "capacity freed → next Admitted"},
	{"dependencyToPod", "dependency Pod done → dependent Pod created"},
	{"lastPodToSucceeded", "last Pod done → Agenda Succeeded"},
}

// Plots writes latency CDFs and throughput-over-time PNGs into dir and returns their names.
func Plots(res *Result, dir string) ([]string, error) {
	names, err := latencyPlots(res, dir)
	if err != nil {
		return nil, err
	}
	rates, err := ratePlots(res, dir)
	return append(names, rates...), err
}

// latencyPlots draws one CDF per latency kind, a line per phase that measured it.
func latencyPlots(res *Result, dir string) ([]string, error) {
	var names []string
	for _, k := range latencyKinds {
		var series []any
		for _, ph := range res.Phases {
			l, ok := ph.Latencies[k.key]
			if !ok || l.N == 0 || (ph.Name != "idle" && ph.Name != "load" && ph.Name != "pend") {
				continue
			}
			series = append(series, fmt.Sprintf("%s (n=%d)", ph.Name, l.N), cdf(l.Samples))
		}
		if len(series) == 0 {
			continue
		}
		name := "latency-" + k.key + ".png"
		if err := save(filepath.Join(dir, name), k.title+" (CDF)", "milliseconds (log scale)", "fraction of samples", true, series); err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, nil
}

// ratePlots draws throughput and admission rates over time.
func ratePlots(res *Result, dir string) ([]string, error) {
	var names []string
	for _, g := range []struct {
		name, title, y string
		phases         func(string) bool
	}{
		{"throughput.png", "Agendas reaching Succeeded per second", "Agendas/s", func(n string) bool { return n == "tp1" || n == "tp10" }},
		{"admissions.png", "Admissions per second after unpausing a backlog", "admissions/s", isDrain},
	} {
		var series []any
		for _, ph := range res.Phases {
			if g.phases(ph.Name) && len(ph.Series) > 0 {
				series = append(series, ph.Name, perSecondXY(ph.Series))
			}
		}
		if len(series) == 0 {
			continue
		}
		if err := save(filepath.Join(dir, g.name), g.title, "seconds since start", g.y, false, series); err != nil {
			return nil, err
		}
		names = append(names, g.name)
	}
	return names, nil
}

func cdf(sorted []float64) plotter.XYs {
	xy := make(plotter.XYs, len(sorted))
	for i, v := range sorted {
		xy[i].X = max(v, 0.1) // log scale
		xy[i].Y = float64(i+1) / float64(len(sorted))
	}
	return xy
}

func perSecondXY(counts []float64) plotter.XYs {
	xy := make(plotter.XYs, len(counts))
	for i, c := range counts {
		xy[i].X, xy[i].Y = float64(i)+0.5, c
	}
	return xy
}

func save(path, title, x, y string, logX bool, series []any) error {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, x, y
	if logX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	p.Legend.Top = true
	p.Legend.Left = logX
	if err := plotutil.AddLines(p, series...); err != nil {
		return err
	}
	p.Add(plotter.NewGrid())
	return p.Save(7*vg.Inch, 4*vg.Inch, path)
}
