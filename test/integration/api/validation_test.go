package api_test

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/test/builders"
)

// expectRejected creates obj and asserts the API server refuses it as invalid with every
// given fragment in its message.
func expectRejected(obj client.Object, fragments ...string) {
	err := env.Client.Create(ctx, obj)
	Expect(err).To(HaveOccurred(), "the API server accepted an invalid object")
	Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want 422 Invalid, got: %v", err)
	for _, f := range fragments {
		Expect(err.Error()).To(ContainSubstring(f))
	}
}

func validAgenda(ns string) *builders.AgendaWrapper {
	return builders.MakeAgenda("ag", ns).Op("probe", "echo", map[string]any{"x": 1}).Op("publish", "echo", "@<probe.out>")
}

var _ = Describe("Agenda validation", func() {
	var ns string
	BeforeEach(func() {
		var err error
		ns, err = env.CreateNamespace(ctx, "agenda", nil)
		Expect(err).NotTo(HaveOccurred())
	})

	It("accepts a valid Agenda and applies defaults", func() {
		ag := validAgenda(ns).Rerun("r1", "").Obj()
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		var got popv1.Agenda
		Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ag), &got)).To(Succeed())
		Expect(got.Spec.Priority).To(BeZero())
		Expect(got.Spec.Rerun.Mode).To(Equal(popv1.RerunFromFailure))
		Expect(string(got.Spec.Operations[1].Payload.Raw)).To(MatchJSON(`"@<probe.out>"`))
	})

	It("keeps any JSON in payloads and params", func() {
		ag := validAgenda(ns).Params(map[string]any{"nested": map[string]any{"list": []any{1, "two", nil, true}}}).Obj()
		ag.Spec.Operations[0].Payload = builders.JSON([]any{1.5, map[string]any{"deep": []any{}}})
		Expect(env.Client.Create(ctx, ag)).To(Succeed())
		var got popv1.Agenda
		Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ag), &got)).To(Succeed())
		Expect(string(got.Spec.Params.Raw)).To(MatchJSON(`{"nested":{"list":[1,"two",null,true]}}`))
		Expect(string(got.Spec.Operations[0].Payload.Raw)).To(MatchJSON(`[1.5,{"deep":[]}]`))
	})

	DescribeTable("rejects",
		func(mutate func(*popv1.Agenda), fragments ...string) {
			ag := validAgenda(ns).Obj()
			mutate(ag)
			expectRejected(ag, fragments...)
		},
		Entry("duplicate operation names", func(a *popv1.Agenda) {
			a.Spec.Operations[1].Name = "probe"
		}, `spec.operations[1]: Duplicate value: {"name":"probe"}`),
		Entry("an empty operation type", func(a *popv1.Agenda) {
			a.Spec.Operations[0].Type = ""
		}, "spec.operations[0].type", "at least 1 chars long"),
		Entry("an operation name with illegal characters", func(a *popv1.Agenda) {
			a.Spec.Operations[0].Name = "bad name!"
		}, "spec.operations[0].name", "should match"),
		Entry("no operations", func(a *popv1.Agenda) {
			a.Spec.Operations = nil
		}, "spec.operations: Required value: give operations or a template"),
		Entry("more than 10000 operations", func(a *popv1.Agenda) {
			a.Spec.Operations = nil
			for i := 0; i <= popv1.MaxOperations; i++ {
				a.Spec.Operations = append(a.Spec.Operations, popv1.Operation{Name: fmt.Sprintf("op%d", i), Type: "echo"})
			}
		}, "spec.operations: Too many: 10001: must have at most 10000 items"),
		Entry("params that are not an object", func(a *popv1.Agenda) {
			a.Spec.Params = builders.JSON("just a string")
		}, "spec.params: Invalid value", "must be of type object"),
		Entry("a rerun of mode Operations naming none", func(a *popv1.Agenda) {
			a.Spec.Rerun = &popv1.RerunSpec{ID: "r1", Mode: popv1.RerunOperations}
		}, "spec.rerun.operations", "mode Operations needs at least one operation"),
		Entry("an unknown rerun mode", func(a *popv1.Agenda) {
			a.Spec.Rerun = &popv1.RerunSpec{ID: "r1", Mode: "Sometimes"}
		}, `spec.rerun.mode: Unsupported value: "Sometimes"`),
		Entry("a negative retry count", func(a *popv1.Agenda) {
			n := int32(-1)
			a.Spec.Operations[0].Retries = &n
		}, "spec.operations[0].retries", "greater than or equal to 0"),
		Entry("a parallelism of 0", func(a *popv1.Agenda) {
			n := int32(0)
			a.Spec.Parallelism = &n
		}, "spec.parallelism", "greater than or equal to 1"),
		Entry("a parallelism over MaxParallelism", func(a *popv1.Agenda) {
			n := int32(popv1.MaxParallelism + 1)
			a.Spec.Parallelism = &n
		}, "spec.parallelism", "less than or equal to 1000"),
		Entry("a negative ttlSecondsAfterFinished", func(a *popv1.Agenda) {
			n := int32(-5)
			a.Spec.TTLSecondsAfterFinished = &n
		}, "spec.ttlSecondsAfterFinished", "greater than or equal to 0"),
		Entry("a priority out of range", func(a *popv1.Agenda) {
			a.Spec.Priority = 2_000_000
		}, "spec.priority", "less than or equal to 1000000"),
	)
})

var _ = Describe("Insight validation", func() {
	var ns string
	BeforeEach(func() {
		var err error
		ns, err = env.CreateNamespace(ctx, "insight", nil)
		Expect(err).NotTo(HaveOccurred())
	})

	It("applies defaults: FIFO, capacity 1, not paused", func() {
		ins := &popv1.Insight{ObjectMeta: metav1.ObjectMeta{Name: "bare", Namespace: ns}}
		Expect(env.Client.Create(ctx, ins)).To(Succeed())
		var got popv1.Insight
		Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ins), &got)).To(Succeed())
		Expect(got.Spec.Algorithm).To(Equal(popv1.FIFO))
		Expect(got.Spec.Capacity).To(HaveValue(Equal(int32(1))))
		Expect(got.Spec.Paused).To(BeFalse())
	})

	It("accepts capacity 0 while paused", func() {
		Expect(env.Client.Create(ctx, builders.MakeInsight("drained", ns).Capacity(0).Paused(true).Obj())).To(Succeed())
	})

	DescribeTable("rejects",
		func(mutate func(*popv1.Insight), fragments ...string) {
			ins := builders.MakeInsight("q", ns).Obj()
			mutate(ins)
			expectRejected(ins, fragments...)
		},
		Entry("a negative capacity", func(i *popv1.Insight) { i.Spec.Capacity = ptr.To[int32](-1) },
			"spec.capacity: Invalid value: -1", "greater than or equal to 0"),
		Entry("capacity 0 while not paused", func(i *popv1.Insight) { i.Spec.Capacity = ptr.To[int32](0) },
			"spec.capacity: Invalid value", "capacity must be at least 1 unless the Insight is paused"),
		Entry("an unknown algorithm", func(i *popv1.Insight) { i.Spec.Algorithm = "LIFO" },
			`spec.algorithm: Unsupported value: "LIFO": supported values: "FIFO", "Fairness", "Priority"`),
		Entry("a param matcher without =", func(i *popv1.Insight) { i.Spec.Params = []string{"tier"} },
			"spec.params[0]", "should match"),
		Entry("a zero customer weight", func(i *popv1.Insight) {
			i.Spec.Algorithm = popv1.Fairness
			i.Spec.CustomerWeights = []popv1.CustomerWeight{{Customer: "acme", Weight: 0}}
		}, "spec.customerWeights[0].weight", "greater than or equal to 1"),
		Entry("duplicate customer weights", func(i *popv1.Insight) {
			i.Spec.Algorithm = popv1.Fairness
			i.Spec.CustomerWeights = []popv1.CustomerWeight{{Customer: "acme", Weight: 1}, {Customer: "acme", Weight: 2}}
		}, "spec.customerWeights[1]: Duplicate value"),
		Entry("customer weights outside Fairness", func(i *popv1.Insight) {
			i.Spec.CustomerWeights = []popv1.CustomerWeight{{Customer: "acme", Weight: 2}}
		}, "spec.customerWeights", "customerWeights apply to the Fairness algorithm only"),
		Entry("aging outside Priority", func(i *popv1.Insight) {
			i.Spec.Aging = &popv1.PriorityAging{Interval: metav1.Duration{Duration: 60e9}, Step: 1}
		}, "spec.aging", "aging applies to the Priority algorithm only"),
		Entry("too many operation-type matchers", func(i *popv1.Insight) {
			for n := 0; n < 65; n++ {
				i.Spec.OperationTypes = append(i.Spec.OperationTypes, fmt.Sprintf("t%d", n))
			}
		}, "spec.operationTypes: Too many: 65: must have at most 64 items"),
	)
})

var _ = Describe("HandlerType validation", func() {
	var ns string
	BeforeEach(func() {
		var err error
		ns, err = env.CreateNamespace(ctx, "handlertype", nil)
		Expect(err).NotTo(HaveOccurred())
	})

	It("defaults the output mode and bound, and the retry backoff", func() {
		ht := builders.MakeHandlerType("h", ns, "img:1").Obj()
		ht.Spec.Outputs = &popv1.OutputSpec{}
		ht.Spec.Retries = &popv1.RetrySpec{Limit: 2, Backoff: &popv1.BackoffSpec{}}
		Expect(env.Client.Create(ctx, ht)).To(Succeed())
		var got popv1.HandlerType
		Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ht), &got)).To(Succeed())
		Expect(got.Spec.Outputs.Mode).To(Equal(popv1.OutputTerminationMessage))
		Expect(got.Spec.Outputs.MaxBytes).To(Equal(int32(1024)))
		Expect(got.Spec.Retries.Backoff.Initial.Duration.String()).To(Equal("10s"))
		Expect(got.Spec.Retries.Backoff.Factor).To(Equal(int32(2)))
		Expect(got.Spec.Retries.Backoff.Max.Duration.String()).To(Equal("5m0s"))
	})

	DescribeTable("rejects",
		func(mutate func(*popv1.HandlerType), fragments ...string) {
			ht := builders.MakeHandlerType("h", ns, "img:1").Obj()
			mutate(ht)
			expectRejected(ht, fragments...)
		},
		Entry("a missing image", func(h *popv1.HandlerType) { h.Spec.Image = "" },
			"spec.image", "at least 1 chars long"),
		Entry("an unknown output mode", func(h *popv1.HandlerType) {
			h.Spec.Outputs = &popv1.OutputSpec{Mode: "Stdout"}
		}, `spec.outputs.mode: Unsupported value: "Stdout"`),
		Entry("an output bound above the termination-message limit", func(h *popv1.HandlerType) {
			h.Spec.Outputs = &popv1.OutputSpec{MaxBytes: 5000}
		}, "spec.outputs.maxBytes", "less than or equal to 4096"),
		Entry("annotation outputs without a service account", func(h *popv1.HandlerType) {
			h.Spec.Outputs = &popv1.OutputSpec{Mode: popv1.OutputAnnotation}
		}, "spec.outputs.mode", "outputs.mode Annotation needs serviceAccountName"),
		Entry("a retry limit above 100", func(h *popv1.HandlerType) {
			h.Spec.Retries = &popv1.RetrySpec{Limit: 101}
		}, "spec.retries.limit", "less than or equal to 100"),
	)
})
