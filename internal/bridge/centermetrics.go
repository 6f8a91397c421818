package bridge

import (
	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/pop-operator/pop/internal/metrics"
)

// Metrics per center (docs/centers.md#metrics), labelled with the center's --center, so
// that one Prometheus over several centers (federated, or a remote-write target) shows
// the work of each: config/grafana/pop-centers-dashboard.json charts them. They are the
// bridge's own: internal/metrics's pop_bridge_* series stay as they were.
var (
	// CenterMessages counts the messages this center finished with, as
	// pop_bridge_messages_total does, by center.
	CenterMessages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "pop", Name: "bridge_center_messages_total",
		Help: "SQS messages this center handled and deleted, per result and reason.",
	}, []string{"center", "result", "reason"})

	// CenterTakeovers counts claims this center took over from a center whose lease lapsed.
	CenterTakeovers = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "pop", Name: "bridge_center_takeovers_total",
		Help: "Claims this center took over from another center whose lease had lapsed.",
	}, []string{"center", "from"})

	// CenterPending is the center's bridged Agendas waiting for admission (or being
	// created), as its flow control counts them.
	CenterPending = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "pop", Name: "bridge_center_pending_agendas",
		Help: "Bridged Agendas of this center waiting for admission, as flow control counts them.",
	}, []string{"center"})

	// CenterBound is how many pending bridged Agendas flow control allows now: the
	// --bridge-max-pending, or less with capacity-aware pulling.
	CenterBound = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "pop", Name: "bridge_center_pending_bound",
		Help: "Pending bridged Agendas this center's flow control allows now.",
	}, []string{"center"})

	// CenterCapacity and CenterAdmitted sum the center's unpaused Insights' capacity and
	// admitted Agendas (with capacity-aware pulling; 0 without).
	CenterCapacity = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "pop", Name: "bridge_center_insight_capacity",
		Help: "Sum of the capacity of this center's unpaused Insights (capacity-aware pulling only).",
	}, []string{"center"})
	CenterAdmitted = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "pop", Name: "bridge_center_admitted_agendas",
		Help: "Admitted, unfinished Agendas of this center's unpaused Insights (capacity-aware pulling only).",
	}, []string{"center"})
)

// CenterMetrics lists the metrics per center, for registration and the dashboard's test.
var CenterMetrics = []prometheus.Collector{CenterMessages, CenterTakeovers, CenterPending, CenterBound, CenterCapacity, CenterAdmitted, CenterFenced}

func init() {
	ctrlmetrics.Registry.MustRegister(CenterMetrics...)
}

// counted counts a handled message in pop_bridge_messages_total and by center.
func (i *Intake) counted(result, reason string) {
	metrics.BridgeMessages.WithLabelValues(result, reason).Inc()
	CenterMessages.WithLabelValues(i.Config.Center, result, reason).Inc()
}
