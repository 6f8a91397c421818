package controllers_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/internal/metrics"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
	"github.com/pop-operator/pop/test/podsim"
)

// series returns the value of the series of vec whose labels are exactly labels, and
// whether it exists, without creating it (WithLabelValues would).
func series(vec prometheus.Collector, labels map[string]string) (float64, bool) {
	ch := make(chan prometheus.Metric, 1024)
	go func() { vec.Collect(ch); close(ch) }()
	var value float64
	found := false
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil || !sameLabels(pb.GetLabel(), labels) {
			continue
		}
		found = true
		switch {
		case pb.Gauge != nil:
			value = pb.GetGauge().GetValue()
		case pb.Counter != nil:
			value = pb.GetCounter().GetValue()
		case pb.Histogram != nil:
			value = float64(pb.GetHistogram().GetSampleCount())
		}
	}
	return value, found
}

func sameLabels(got []*dto.LabelPair, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, l := range got {
		if want[l.GetName()] != l.GetValue() {
			return false
		}
	}
	return true
}

var _ = Describe("Metrics, read by value", func() {
	var ns string
	BeforeEach(func() {
		ns = newNamespace("metrics")
		sim.SetScript(podsim.Echo)
	})

	It("counts each attempt, each end and each finished Agenda once, per HandlerType", func() {
		// A HandlerType of this test only, so that the counters start at zero.
		handlerType := "counted-" + ns
		ht := builders.MakeHandlerType(handlerType, ns, "img:1").Obj()
		ht.Spec.Retries = &popv1.RetrySpec{Limit: 1, Backoff: &popv1.BackoffSpec{Initial: duration(time.Second)}}
		Expect(env.Client.Create(ctx, ht)).To(Succeed())
		sim.SetScript(func(pod *corev1.Pod) podsim.Behaviour {
			if pod.Labels[popv1.OperationLabel] == "flaky" && pod.Labels[popv1.AttemptLabel] == "1" {
				return podsim.Behaviour{ExitCode: 1, Message: "first try fails"}
			}
			if pod.Labels[popv1.OperationLabel] == "broken" {
				return podsim.Behaviour{ExitCode: 2, Message: "always fails"}
			}
			return podsim.Echo(pod)
		})
		good := builders.MakeAgenda("good", ns).Op("flaky", handlerType, 1).Op("steady", handlerType, 2).Obj()
		bad := builders.MakeAgenda("bad", ns).Op("broken", handlerType, 1).Obj()
		bad.Spec.Operations[0].Retries = ptr.To[int32](0)
		// An Insight of this test only too: the finished counts are per Insight.
		ins := localInsight("counting", ns).Capacity(2).Obj()
		Expect(env.Client.Create(ctx, ins)).To(Succeed())
		insight := ns + "/counting"
		Expect(env.Client.Create(ctx, good)).To(Succeed())
		Expect(env.Client.Create(ctx, bad)).To(Succeed())
		waitForPhase(good, popv1.PhaseSucceeded)
		waitForPhase(bad, popv1.PhaseFailed)

		Eventually(func(g Gomega) {
			g.Expect(testutil.ToFloat64(metrics.OperationsStarted.WithLabelValues(handlerType))).To(Equal(4.0), "flaky twice, steady and broken once")
			g.Expect(testutil.ToFloat64(metrics.OperationsFinished.WithLabelValues(handlerType, "succeeded"))).To(Equal(2.0))
			g.Expect(testutil.ToFloat64(metrics.OperationsFinished.WithLabelValues(handlerType, "failed"))).To(Equal(1.0))
			n, _ := series(metrics.OperationDuration, map[string]string{"handler_type": handlerType, "result": "succeeded"})
			g.Expect(n).To(Equal(2.0), "duration observations of succeeded operations")
			g.Expect(testutil.ToFloat64(metrics.AgendasFinished.WithLabelValues(insight, "succeeded"))).To(Equal(1.0))
			g.Expect(testutil.ToFloat64(metrics.AgendasFinished.WithLabelValues(insight, "failed"))).To(Equal(1.0))
		}, framework.Timeout, framework.Interval).Should(Succeed())
	})

	It("counts an Agenda cancelled before admission as finished", func() {
		Expect(env.Client.Create(ctx, localInsight("closed", ns).Paused(true).Obj())).To(Succeed())
		ag := oneOp("early", ns).Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		waitForPhase(ag, popv1.PhaseQueued)
		cancelAgenda(ag)
		Eventually(func() float64 {
			return testutil.ToFloat64(metrics.AgendasFinished.WithLabelValues(ns+"/closed", "cancelled"))
		}, framework.Timeout, framework.Interval).Should(Equal(1.0))
	})

	It("drops an Insight's gauges once it is deleted, and does not bring them back", func() {
		sim.SetScript(holdFirst)
		DeferCleanup(func() { sim.SetScript(podsim.Echo) })
		ins := localInsight("gauged", ns).Obj()
		Expect(env.Client.Create(ctx, ins)).To(Succeed())
		long, next := oneOp("long", ns).Obj(), oneOp("next", ns).Obj()
		Expect(env.Client.Create(ctx, long)).To(Succeed())
		waitForPhase(long, popv1.PhaseRunning)
		Expect(env.Client.Create(ctx, next)).To(Succeed())
		waitForPhase(next, popv1.PhaseQueued)
		key := map[string]string{"insight": ns + "/gauged"}
		Eventually(func(g Gomega) {
			for vec, want := range map[*prometheus.GaugeVec]float64{metrics.InsightPending: 1, metrics.InsightAdmitted: 1, metrics.InsightCapacity: 1} {
				v, ok := series(vec, key)
				g.Expect(ok).To(BeTrue())
				g.Expect(v).To(Equal(want))
			}
		}, framework.Timeout, framework.Interval).Should(Succeed())

		Expect(env.Client.Delete(ctx, ins)).To(Succeed())
		Eventually(func(g Gomega) {
			for _, vec := range []*prometheus.GaugeVec{metrics.InsightPending, metrics.InsightAdmitted, metrics.InsightCapacity} {
				_, ok := series(vec, key)
				g.Expect(ok).To(BeFalse(), "a gauge of the deleted Insight is still exported")
			}
		}, framework.Timeout, framework.Interval).Should(Succeed())

		By("the Agenda it admitted ends: its gauges stay gone")
		cancelAgenda(long)
		Consistently(func(g Gomega) {
			_, ok := series(metrics.InsightAdmitted, key)
			g.Expect(ok).To(BeFalse())
		}, 2*time.Second, framework.Interval).Should(Succeed())
		Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(next), &popv1.Agenda{})).To(Succeed())
	})
})
