// Package metrics defines every Prometheus metric POP exports, in one subsystem, labelled
// by Insight or HandlerType — never by Agenda, whose numbers are unbounded.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

const namespace = "pop"

var (
	// InsightPending is the number of Agendas waiting in each Insight's queue.
	InsightPending = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "insight_pending_agendas",
		Help: "Agendas waiting in the Insight's queue.",
	}, []string{"insight"})

	// InsightAdmitted is the number of admitted, unfinished Agendas of each Insight.
	InsightAdmitted = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "insight_admitted_agendas",
		Help: "Admitted, unfinished Agendas holding the Insight's capacity.",
	}, []string{"insight"})

	// InsightCapacity is each Insight's capacity.
	InsightCapacity = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "insight_capacity",
		Help: "The Insight's spec.capacity.",
	}, []string{"insight"})

	// Admissions counts admissions per Insight.
	Admissions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "insight_admissions_total",
		Help: "Agendas admitted by the Insight.",
	}, []string{"insight"})

	// AdmissionWait is how long Agendas waited in the queue before admission.
	AdmissionWait = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "insight_admission_wait_seconds",
		Help:    "Time from joining the queue to admission.",
		Buckets: prometheus.ExponentialBuckets(0.01, 4, 12),
	}, []string{"insight"})
)

func init() {
	metrics.Registry.MustRegister(InsightPending, InsightAdmitted, InsightCapacity, Admissions, AdmissionWait)
}
