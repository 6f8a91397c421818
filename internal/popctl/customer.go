package popctl

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// CustomerOptions are what `popctl customer add` creates besides the namespace.
type CustomerOptions struct {
	Namespace string
	// Editors and Viewers are users bound to pop-customer-edit / pop-customer-view;
	// EditorGroups likewise for groups.
	Editors, EditorGroups, Viewers []string
	// Pods, CPU and Memory bound the namespace's ResourceQuota.
	Pods int
	// Agendas bounds how many Agendas the namespace holds (finished ones included, until
	// deleted); 0 sets no bound.
	Agendas       int
	CPU, Memory   string
	DefaultCPU    string
	DefaultMemory string
}

func customerCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "customer", Short: "Manage customers (one namespace each)"}
	o := CustomerOptions{}
	add := &cobra.Command{
		Use:   "add ID",
		Short: "Create a customer's namespace: customer label, restricted Pod Security, quota, limits and role bindings",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			objs, err := CustomerObjects(args[0], o)
			if err != nil {
				return err
			}
			for _, obj := range objs {
				if gvk, err := apiutil.GVKForObject(obj, Scheme()); err == nil {
					obj.GetObjectKind().SetGroupVersionKind(gvk)
				}
			}
			if done, err := printObject(g.out, g.output, objs); done {
				return err
			}
			c, _, err := g.newClient(g)
			if err != nil {
				return err
			}
			for _, obj := range objs {
				if err := createOrUpdate(cmd.Context(), c, obj); err != nil {
					return fmt.Errorf("%T %s: %w", obj, obj.GetName(), err)
				}
			}
			_, err = fmt.Fprintf(g.out, "namespace/%s ready for customer %s\n", objs[0].GetName(), args[0])
			return err
		},
	}
	f := add.Flags()
	f.StringVar(&o.Namespace, "namespace-name", "", "namespace name (default: the customer id)")
	f.StringSliceVar(&o.Editors, "editor", nil, "users bound to pop-customer-edit")
	f.StringSliceVar(&o.EditorGroups, "editor-group", nil, "groups bound to pop-customer-edit")
	f.StringSliceVar(&o.Viewers, "viewer", nil, "users bound to pop-customer-view")
	f.IntVar(&o.Pods, "quota-pods", 100, "most Pods at once in the namespace")
	f.IntVar(&o.Agendas, "quota-agendas", DefaultAgendaQuota,
		"most Agendas the namespace holds, finished ones included until deleted (see ttlSecondsAfterFinished); 0 for no bound")
	f.StringVar(&o.CPU, "quota-cpu", "16", "most CPU requested at once")
	f.StringVar(&o.Memory, "quota-memory", "32Gi", "most memory requested at once")
	f.StringVar(&o.DefaultCPU, "default-cpu", "100m", "CPU request of containers that set none")
	f.StringVar(&o.DefaultMemory, "default-memory", "128Mi", "memory request and limit of containers that set none")
	cmd.AddCommand(add)
	return cmd
}

// createOrUpdate creates obj, or replaces the existing object's spec-like content.
func createOrUpdate(ctx context.Context, c client.Client, obj client.Object) error {
	err := c.Create(ctx, obj)
	if err == nil || !isAlreadyExists(err) {
		return err
	}
	existing := obj.DeepCopyObject().(client.Object)
	if err := c.Get(ctx, client.ObjectKeyFromObject(obj), existing); err != nil {
		return err
	}
	obj.SetResourceVersion(existing.GetResourceVersion())
	return c.Update(ctx, obj)
}

// CustomerObjects are the namespace of a customer and what comes with it. The customer
// label on the namespace is what the operator trusts; customers get no rights on
// namespaces, so they cannot forge it.
func CustomerObjects(id string, o CustomerOptions) ([]client.Object, error) {
	if errs := validation.IsValidLabelValue(id); len(errs) > 0 || id == "" {
		return nil, fmt.Errorf("customer id %q is not a valid label value: %v", id, errs)
	}
	name := o.Namespace
	if name == "" {
		name = id
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return nil, fmt.Errorf("namespace name %q: %v", name, errs)
	}
	quota, limits, err := customerLimits(name, o)
	if err != nil {
		return nil, err
	}
	objs := []client.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		popv1.CustomerLabel:                  id,
		"pod-security.kubernetes.io/enforce": "restricted",
		"pod-security.kubernetes.io/warn":    "restricted",
	}}}, quota, limits}
	if b := binding(name, "pop-customer-edit", o.Editors, o.EditorGroups); b != nil {
		objs = append(objs, b)
	}
	if b := binding(name, "pop-customer-view", o.Viewers, nil); b != nil {
		objs = append(objs, b)
	}
	return objs, nil
}

func customerLimits(ns string, o CustomerOptions) (*corev1.ResourceQuota, *corev1.LimitRange, error) {
	parse := func(flag, v string) (resource.Quantity, error) {
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return q, fmt.Errorf("--%s %q: %w", flag, v, err)
		}
		return q, nil
	}
	cpu, err := parse("quota-cpu", o.CPU)
	if err != nil {
		return nil, nil, err
	}
	mem, err := parse("quota-memory", o.Memory)
	if err != nil {
		return nil, nil, err
	}
	dcpu, err := parse("default-cpu", o.DefaultCPU)
	if err != nil {
		return nil, nil, err
	}
	dmem, err := parse("default-memory", o.DefaultMemory)
	if err != nil {
		return nil, nil, err
	}
	if o.Agendas < 0 {
		return nil, nil, fmt.Errorf("--quota-agendas must be 0 (no bound) or more, got %d", o.Agendas)
	}
	quota := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "pop-customer", Namespace: ns},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
			corev1.ResourcePods:        *resource.NewQuantity(int64(o.Pods), resource.DecimalSI),
			corev1.ResourceRequestsCPU: cpu, corev1.ResourceRequestsMemory: mem,
		}}}
	if o.Agendas > 0 {
		// Every Agenda is stored in etcd until deleted, each up to the API's object limit:
		// without a count, one customer could fill the store all customers share.
		quota.Spec.Hard[AgendaCountResource] = *resource.NewQuantity(int64(o.Agendas), resource.DecimalSI)
	}
	limits := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "pop-customer", Namespace: ns},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type:           corev1.LimitTypeContainer,
			DefaultRequest: corev1.ResourceList{corev1.ResourceCPU: dcpu, corev1.ResourceMemory: dmem},
			Default:        corev1.ResourceList{corev1.ResourceMemory: dmem},
		}}}}
	return quota, limits, nil
}

func binding(ns, role string, users, groups []string) *rbacv1.RoleBinding {
	var subjects []rbacv1.Subject
	for _, u := range users {
		subjects = append(subjects, rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: "User", Name: u})
	}
	for _, gr := range groups {
		subjects = append(subjects, rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: "Group", Name: gr})
	}
	if len(subjects) == 0 {
		return nil
	}
	return &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role, Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   subjects,
	}
}

// DefaultAgendaQuota is --quota-agendas' default: ten times the default Pod quota, so that
// Agendas waiting in queues and finished ones not yet deleted fit beside those running.
const DefaultAgendaQuota = 1000

// AgendaCountResource is the ResourceQuota name of the number of Agendas in a namespace:
// the API server counts custom resources as count/<plural>.<group>.
const AgendaCountResource corev1.ResourceName = "count/agendas.pop.dev"
