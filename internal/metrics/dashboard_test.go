package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// controllerRuntime are metrics controller-runtime exports that the dashboard may use.
var controllerRuntime = map[string]bool{"controller_runtime_reconcile_errors_total": true}

// TestDashboardUsesExistingMetrics checks that every metric a dashboard query names is one
// POP exports (histograms with their _bucket/_sum/_count series) or controller-runtime's.
func TestDashboardUsesExistingMetrics(t *testing.T) {
	known := map[string]bool{}
	for _, c := range All {
		ch := make(chan *prometheus.Desc, 8)
		c.Describe(ch)
		close(ch)
		for d := range ch {
			name := regexp.MustCompile(`fqName: "([^"]+)"`).FindStringSubmatch(d.String())[1]
			for _, suffix := range []string{"", "_bucket", "_sum", "_count"} {
				known[name+suffix] = true
			}
		}
	}
	raw, err := os.ReadFile("../../config/grafana/pop-dashboard.json")
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
	metricName := regexp.MustCompile(`\b(pop_[a-z_]+|controller_runtime_[a-z_]+)\b`)
	used := 0
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			for _, name := range metricName.FindAllString(target.Expr, -1) {
				used++
				if !known[name] && !controllerRuntime[name] {
					t.Errorf("panel %q queries %s, which POP does not export", p.Title, name)
				}
			}
		}
	}
	if used == 0 || !strings.Contains(string(raw), "pop_insight_pending_agendas") {
		t.Fatal("the dashboard queries no POP metric")
	}
}
