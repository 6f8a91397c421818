package popctl

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func customerOptions() CustomerOptions {
	return CustomerOptions{Pods: 10, CPU: "4", Memory: "8Gi", DefaultCPU: "50m", DefaultMemory: "64Mi", Agendas: 300}
}

// TestCustomerQuotaCountsAgendas: a customer's ResourceQuota bounds its number of Agendas
// (object count), as it bounds its Pods: otherwise one customer could fill etcd.
func TestCustomerQuotaCountsAgendas(t *testing.T) {
	objs, err := CustomerObjects("acme", customerOptions())
	if err != nil {
		t.Fatal(err)
	}
	quota := objs[1].(*corev1.ResourceQuota)
	got, ok := quota.Spec.Hard[AgendaCountResource]
	if !ok || got.Value() != 300 {
		t.Errorf("quota %v: %s = %v (set: %v), want 300", quota.Spec.Hard, AgendaCountResource, got.String(), ok)
	}
	if AgendaCountResource != "count/agendas.pop.dev" {
		t.Errorf("AgendaCountResource = %q, the API server counts custom resources as count/<plural>.<group>", AgendaCountResource)
	}

	none := customerOptions()
	none.Agendas = 0
	objs, err = CustomerObjects("acme", none)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := objs[1].(*corev1.ResourceQuota).Spec.Hard[AgendaCountResource]; ok {
		t.Error("--quota-agendas=0 still set an Agenda count")
	}

	bad := customerOptions()
	bad.Agendas = -1
	if _, err := CustomerObjects("acme", bad); err == nil || !strings.Contains(err.Error(), "--quota-agendas") {
		t.Errorf("a negative Agenda quota: %v, want an error naming --quota-agendas", err)
	}
}
