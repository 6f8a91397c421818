package controllers_test

import (
	"strconv"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
	"github.com/pop-operator/pop/test/podsim"
)

// attemptTimes records, from watch events (which arrive with the same small delay, unlike
// polls), when each attempt's Pod appeared and when each failure was recorded in status.
type attemptTimes struct {
	mu              sync.Mutex
	started, failed map[int32]time.Time
}

func watchAttempts(ag *popv1.Agenda, op string) *attemptTimes {
	GinkgoHelper()
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: framework.Scheme()})
	Expect(err).NotTo(HaveOccurred())
	pods, err := wc.Watch(ctx, &corev1.PodList{}, client.InNamespace(ag.Namespace), client.MatchingLabels{popv1.OperationLabel: op})
	Expect(err).NotTo(HaveOccurred())
	agendas, err := wc.Watch(ctx, &popv1.AgendaList{}, client.InNamespace(ag.Namespace))
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(pods.Stop)
	DeferCleanup(agendas.Stop)
	a := &attemptTimes{started: map[int32]time.Time{}, failed: map[int32]time.Time{}}
	go func() {
		for ev := range pods.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok {
				n, _ := strconv.Atoi(p.Labels[popv1.AttemptLabel])
				a.first(a.started, int32(n), time.Now())
			}
		}
	}()
	go func() {
		for ev := range agendas.ResultChan() {
			if cur, ok := ev.Object.(*popv1.Agenda); ok && cur.Name == ag.Name {
				a.first(a.failed, opStatus(cur, op).Failures, time.Now())
			}
		}
	}()
	return a
}

func (a *attemptTimes) first(m map[int32]time.Time, n int32, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, seen := m[n]; !seen && n > 0 {
		m[n] = at
	}
}

// gap is the time between the failure of attempt n-1 and the start of attempt n.
func (a *attemptTimes) gap(n int32) (time.Duration, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok1 := a.started[n]
	f, ok2 := a.failed[n-1]
	return s.Sub(f), ok1 && ok2
}

var _ = Describe("Retry backoff", func() {
	It("waits initial × factor^(n-1), capped at max, between a failure and the next attempt", func() {
		ns := newNamespace("backoff")
		sim.SetScript(func(pod *corev1.Pod) podsim.Behaviour { return podsim.Behaviour{ExitCode: 1, Message: "always fails"} })
		DeferCleanup(func() { sim.SetScript(podsim.Echo) })
		ht := builders.MakeHandlerType("flaky", ns, "img:1").Obj()
		ht.Spec.Retries = &popv1.RetrySpec{Limit: 3, Backoff: &popv1.BackoffSpec{
			Initial: duration(time.Second), Factor: 2, Max: duration(3 * time.Second)}}
		Expect(env.Client.Create(ctx, ht)).To(Succeed())
		ag := builders.MakeAgenda("retried", ns).Op("work", "flaky", 1).Obj()
		ag.Spec.PodCleanup = popv1.KeepAll
		seen := watchAttempts(ag, "work")
		createAndAdmit(ag)

		done := waitForPhase(ag, popv1.PhaseFailed)
		want := map[int32]time.Duration{2: time.Second, 3: 2 * time.Second, 4: 3 * time.Second} // 4 s is capped to 3 s
		var gaps []time.Duration
		for n := int32(2); n <= 4; n++ {
			gap, ok := seen.gap(n)
			Expect(ok).To(BeTrue(), "attempt %d or the failure before it was not seen", n)
			// Never before the backoff, less the skew between the two watches' deliveries (up
			// to 145 ms seen on 2 loaded cores); not much after it. 250 ms still tells 1 s, 2 s
			// and 3 s apart, and a missing backoff (a gap near 0).
			Expect(gap).To(BeNumerically(">=", want[n]-250*time.Millisecond), "attempt %d after %s", n, gap)
			Expect(gap).To(BeNumerically("<", want[n]+time.Second), "attempt %d after %s", n, gap)
			gaps = append(gaps, gap)
		}
		AddReportEntry("gaps between a failure and the next attempt (backoff 1s, 2s, 3s)", gaps)
		GinkgoWriter.Printf("gaps between a failure and the next attempt: %v\n", gaps)
		Expect(opStatus(done, "work").Attempts).To(Equal(int32(4)))
		Expect(opStatus(done, "work").Failures).To(Equal(int32(4)))
	})
})
