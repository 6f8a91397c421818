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

var (
	// OperationsStarted counts handler Pods started, per HandlerType.
	OperationsStarted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "operations_started_total",
		Help: "Operation attempts started (one handler Pod each).",
	}, []string{"handler_type"})

	// OperationsFinished counts operations that reached a final state, per HandlerType and
	// result (succeeded, failed).
	OperationsFinished = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "operations_finished_total",
		Help: "Operations that succeeded or failed (after their last attempt).",
	}, []string{"handler_type", "result"})

	// OperationDuration is the time from an operation's last attempt start to its end.
	OperationDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "operation_duration_seconds",
		Help:    "Duration of the final attempt of finished operations.",
		Buckets: prometheus.ExponentialBuckets(0.5, 2, 14),
	}, []string{"handler_type", "result"})

	// AgendasFinished counts Agendas that ended, per Insight (namespace/name; empty for one
	// cancelled before any Insight took it) and result (succeeded, failed, cancelled).
	AgendasFinished = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "agendas_finished_total",
		Help: "Agendas that reached a final phase.",
	}, []string{"insight", "result"})
)

var (
	// BridgeMessages counts SQS messages the bridge finished with, per result (created,
	// duplicate, rejected) and reason (the rejection reason; empty otherwise).
	BridgeMessages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "bridge_messages_total",
		Help: "SQS messages handled by the bridge and deleted from their queue.",
	}, []string{"result", "reason"})

	// BridgeRetries counts messages left in their queue for redelivery after a passing error.
	BridgeRetries = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "bridge_message_retries_total",
		Help: "SQS messages left for redelivery because the cluster or DynamoDB could not be written.",
	})

	// BridgePaused is 1 while flow control holds the intake.
	BridgePaused = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "bridge_intake_paused",
		Help: "1 while the intake stops receiving because too many bridged Agendas are pending.",
	})

	// MirrorWrites counts DynamoDB mirror writes, per result (written, stale, deleted, error).
	MirrorWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "bridge_mirror_writes_total",
		Help: "DynamoDB status-mirror writes; stale ones were refused for an older version.",
	}, []string{"result"})
)

// All lists every POP metric, for registration and for the dashboard test.
var All = []prometheus.Collector{
	InsightPending, InsightAdmitted, InsightCapacity, Admissions, AdmissionWait,
	OperationsStarted, OperationsFinished, OperationDuration, AgendasFinished,
	BridgeMessages, BridgeRetries, BridgePaused, MirrorWrites,
}

func init() {
	metrics.Registry.MustRegister(All...)
}
