package controllers_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
	"github.com/pop-operator/pop/test/framework"
	"github.com/pop-operator/pop/test/podsim"
)

// The original POP's handler contract, as its handler-base library and executor implement
// it: a handler exits 0 whatever happens and reports in its own Pod's annotations —
// pop.report.progress an OperationProgress (processingState COMPLETE with
// processingStateMessage "succeeded" or "failed"), pop.report.payload the result.
const (
	popFailed    = `{"processingState":"COMPLETE","processingStateMessage":"failed","percentComplete":40,"params":{"resumeAt":"part-2"},"diagnosticEvents":[{"message":"transcode failed: bad codec"}]}`
	popSucceeded = `{"processingState":"COMPLETE","processingStateMessage":"succeeded","percentComplete":100}`
)

var _ = Describe("Handlers written for the original POP", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace("legacy") })

	It("fail an attempt they report failed though they exit 0, and get OPERATION_ID, PROGRESS_ID, LAST_PROGRESS", func() {
		Expect(env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "reporter", Namespace: ns}})).To(Succeed())
		ht := builders.MakeHandlerType("legacy", ns, "img:1").ServiceAccount("reporter").Outputs(popv1.OutputAnnotation, 1024).Obj()
		ht.Spec.Retries = &popv1.RetrySpec{Limit: 1, Backoff: &popv1.BackoffSpec{Initial: duration(time.Second)}}
		Expect(env.Client.Create(ctx, ht)).To(Succeed())
		seen := make(chan map[string]string, 4)
		sim.SetScript(func(pod *corev1.Pod) podsim.Behaviour {
			if pod.Namespace != ns {
				return podsim.Echo(pod)
			}
			vars := map[string]string{"attempt": pod.Labels[popv1.AttemptLabel]}
			for _, name := range []string{"OPERATION_ID", "PROGRESS_ID", "LAST_PROGRESS", "CID"} {
				vars[name] = podsim.Env(pod, name)
			}
			seen <- vars
			if pod.Labels[popv1.AttemptLabel] == "1" {
				return podsim.Behaviour{Annotations: map[string]string{popv1.ReportProgressAnnotation: popFailed}}
			}
			return podsim.Behaviour{Annotations: map[string]string{
				popv1.ReportProgressAnnotation: popSucceeded, popv1.ReportPayloadAnnotation: `{"frames": 240}`}}
		})
		DeferCleanup(func() { sim.SetScript(podsim.Echo) })
		ag := builders.MakeAgenda("legacy", ns).Op("work", "legacy", map[string]any{"asset": "a.mp4"}).Obj()
		createAndAdmit(ag)

		By("the first attempt, which exited 0 reporting failure, counts as failed")
		Eventually(func(g Gomega) {
			o := opStatus(getAgenda(g, ag), "work")
			g.Expect(o.Failures).To(Equal(int32(1)))
			g.Expect(o.Message).To(ContainSubstring("the handler reported failure in pop.report.progress"))
			g.Expect(o.Message).To(ContainSubstring("transcode failed: bad codec"))
		}, framework.Timeout, framework.Interval).Should(Succeed())

		done := waitForPhase(ag, popv1.PhaseSucceeded)
		Expect(opStatus(done, "work").Attempts).To(Equal(int32(2)))
		Expect(opStatus(done, "work").Output).To(MatchJSON(`{"frames": 240}`))

		uid := string(done.UID)
		var first, second map[string]string
		Eventually(seen).Should(Receive(&first))
		Eventually(seen).Should(Receive(&second))
		Expect(first).To(Equal(map[string]string{"attempt": "1", "OPERATION_ID": uid + "/work", "PROGRESS_ID": uid, "CID": uid, "LAST_PROGRESS": ""}))
		Expect(second).To(Equal(map[string]string{"attempt": "2", "OPERATION_ID": uid + "/work", "PROGRESS_ID": uid, "CID": uid, "LAST_PROGRESS": popFailed}))
	})
})
