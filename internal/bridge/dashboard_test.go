package bridge

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// describe returns a collector's metric names with their variable labels.
func describe(c prometheus.Collector) map[string]string {
	ch := make(chan *prometheus.Desc, 8)
	c.Describe(ch)
	close(ch)
	out := map[string]string{}
	for d := range ch {
		s := d.String()
		name := regexp.MustCompile(`fqName: "([^"]+)"`).FindStringSubmatch(s)[1]
		out[name] = regexp.MustCompile(`variableLabels: \{([^}]*)\}`).FindStringSubmatch(s)[1]
	}
	return out
}

// TestCentersDashboard checks config/grafana/pop-centers-dashboard.json: every query names
// a metric per center the bridge exports, groups by center and follows the dashboard's
// center variable, and every metric per center is charted.
func TestCentersDashboard(t *testing.T) {
	known := map[string]bool{}
	for _, c := range CenterMetrics {
		for name, labels := range describe(c) {
			if !strings.Contains(","+labels+",", ",center,") {
				t.Errorf("%s has no center label: %s", name, labels)
			}
			known[name] = true
		}
	}
	raw, err := os.ReadFile("../../config/grafana/pop-centers-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	metricName := regexp.MustCompile(`\bpop_[a-z_]+\b`)
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			names := metricName.FindAllString(target.Expr, -1)
			if len(names) == 0 {
				t.Errorf("panel %q: a query of no POP metric: %s", p.Title, target.Expr)
			}
			for _, name := range names {
				if !known[name] {
					t.Errorf("panel %q queries %s, which is not a metric per center", p.Title, name)
				}
				used[name] = true
			}
			if !strings.Contains(target.Expr, "by (center") || !strings.Contains(target.Expr, `center=~"$center"`) {
				t.Errorf("panel %q: not per center, or not following the center variable: %s", p.Title, target.Expr)
			}
		}
	}
	for name := range known {
		if !used[name] {
			t.Errorf("no panel charts %s", name)
		}
	}
}
