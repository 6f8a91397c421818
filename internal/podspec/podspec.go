// Package podspec builds the Pod that runs one attempt of one operation: deterministic
// name, owner reference, labels, the handler contract's environment, the HandlerType's
// container settings with the operation's overrides, and the restricted security context.
package podspec

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
	"github.com/pop-operator/pop/pkg/handler"
)

// ContainerName is the handler container's name in every handler Pod.
const ContainerName = "handler"

// NonRootUID runs handler containers by default: the restricted Pod Security Standard
// needs a non-root user, and images built FROM scratch have none of their own.
const NonRootUID = 65532

// AgendaAnnotation holds the Agenda's full name when its label had to be shortened.
const AgendaAnnotation = "pop.dev/agenda-name"

// Input is everything one handler Pod is built from.
type Input struct {
	Agenda    *popv1.Agenda
	Operation *popv1.Operation
	Handler   *popv1.HandlerTypeSpec
	Attempt   int32
	// Payload is the operation's payload with every reference resolved.
	Payload []byte
	// Customer is the customer id of the Agenda's namespace.
	Customer string
	// PriorityClassName comes from the Insight that admitted the Agenda.
	PriorityClassName string
	// LastProgress is the previous attempt's POP progress object, if any (LAST_PROGRESS).
	LastProgress string
}

// Name is the deterministic Pod name of one attempt of an operation of this Agenda:
// <agenda>-<operation>-<hash>-<attempt>, lowercased, the readable part shortened to fit 63
// characters. The hash (8 hex digits of the Agenda's UID and the operation's name) keeps the
// names of different Agendas apart — "render-job"/"encode" and "render"/"job-encode" would
// otherwise both be render-job-encode-1 — and those of an Agenda re-created under the same
// name while its predecessor's Pods remain.
func Name(ag *popv1.Agenda, op string, attempt int32) string {
	suffix := "-" + shortHash(string(ag.UID)+"/"+op) + "-" + strconv.Itoa(int(attempt))
	readable := sanitize(ag.Name + "-" + op)
	if keep := 63 - len(suffix); len(readable) > keep {
		readable = strings.TrimRight(readable[:keep], "-.")
	}
	return readable + suffix
}

// LabelValue fits a name into a label value (63 characters), hashing when too long.
func LabelValue(name string) string {
	if len(name) <= 63 {
		return name
	}
	hash := shortHash(name)
	return strings.TrimRight(name[:63-len(hash)-1], "-._") + "-" + hash
}

// OperationLabelValue is an operation's name as its Pods' operation label holds it: a
// generated operation's encode[3] becomes encode.3 (a label value cannot hold brackets, and
// no spec operation's name holds a dot), fitted by LabelValue.
func OperationLabelValue(name string) string {
	return LabelValue(strings.NewReplacer("[", ".", "]", "").Replace(name))
}

// sanitize lowercases and replaces what a DNS-1123 name cannot hold.
func sanitize(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			b[i] = '-'
		}
	}
	return strings.Trim(string(b), "-")
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:8]
}

// Labels identify a handler Pod's Agenda (by name and by UID), operation, attempt and
// customer.
func Labels(in Input) map[string]string {
	return map[string]string{
		popv1.AgendaLabel:    LabelValue(in.Agenda.Name),
		popv1.AgendaUIDLabel: string(in.Agenda.UID),
		popv1.OperationLabel: OperationLabelValue(in.Operation.Name),
		popv1.AttemptLabel:   strconv.Itoa(int(in.Attempt)),
		popv1.CustomerLabel:  LabelValue(in.Customer),
	}
}

// Build returns the Pod for one attempt.
func Build(in Input) *corev1.Pod {
	ag, h := in.Agenda, in.Handler
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:            Name(ag, in.Operation.Name, in.Attempt),
			Namespace:       ag.Namespace,
			Labels:          Labels(in),
			Annotations:     map[string]string{AgendaAnnotation: ag.Name},
			OwnerReferences: []metav1.OwnerReference{ownerRef(ag)},
		},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			ServiceAccountName:            h.ServiceAccountName,
			AutomountServiceAccountToken:  ptr.To(h.ServiceAccountName != ""),
			NodeSelector:                  h.NodeSelector,
			Tolerations:                   h.Tolerations,
			Affinity:                      h.Affinity,
			PriorityClassName:             in.PriorityClassName,
			EnableServiceLinks:            ptr.To(false),
			TerminationGracePeriodSeconds: ptr.To[int64](10),
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   ptr.To(true),
				RunAsUser:      ptr.To[int64](NonRootUID),
				RunAsGroup:     ptr.To[int64](NonRootUID),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{container(in)},
		},
	}
	if t := Timeout(in.Operation, h); t != nil {
		// The kubelet enforces the deadline; the controller checks it too (see the
		// Agenda controller), so a node that ignores it cannot hang an Agenda.
		pod.Spec.ActiveDeadlineSeconds = ptr.To(int64(t.Seconds()))
	}
	return pod
}

func container(in Input) corev1.Container {
	h := in.Handler
	resources := h.Resources
	if in.Operation.Resources != nil {
		resources = *in.Operation.Resources
	}
	return corev1.Container{
		Name:                     ContainerName,
		Image:                    h.Image,
		ImagePullPolicy:          h.ImagePullPolicy,
		Command:                  h.Command,
		Args:                     h.Args,
		Env:                      append(Env(in), h.Env...),
		Resources:                resources,
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
			RunAsNonRoot:             ptr.To(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
}

// Env is the handler contract's environment (pkg/handler's contract.go, docs/handlers.md):
// POP for Kubernetes' own variables and the original POP's, so existing handlers run
// unchanged.
func Env(in Input) []corev1.EnvVar {
	payload := string(in.Payload)
	attempt := strconv.Itoa(int(in.Attempt))
	env := []corev1.EnvVar{
		{Name: handler.EnvPayload, Value: payload},
		{Name: handler.EnvAgenda, Value: in.Agenda.Name},
		{Name: handler.EnvOperation, Value: in.Operation.Name},
		{Name: handler.EnvNamespace, Value: in.Agenda.Namespace},
		{Name: handler.EnvCustomer, Value: in.Customer},
		{Name: handler.EnvAttempt, Value: attempt},
		{Name: handler.EnvOutputMode, Value: string(outputMode(in.Handler))},
		{Name: handler.EnvPodName, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: handler.EnvPOPPayload, Value: payload},
		{Name: handler.EnvPOPAgendaID, Value: in.Agenda.Name},
		{Name: handler.EnvPOPOperationName, Value: in.Operation.Name},
		{Name: handler.EnvPOPCustomerID, Value: in.Customer},
		{Name: handler.EnvPOPCID, Value: string(in.Agenda.UID)},
		// The original POP's operation id and progress record id. Here the Agenda is its own
		// progress record, so its UID; an operation is identified by it and its name.
		{Name: handler.EnvPOPOperationID, Value: string(in.Agenda.UID) + "/" + in.Operation.Name},
		{Name: handler.EnvPOPProgressID, Value: string(in.Agenda.UID)},
	}
	if last := in.LastProgress; last != "" && len(last) <= maxEnvValue(handler.EnvPOPLastProgress) {
		// Set only when there is one, as the original did.
		env = append(env, corev1.EnvVar{Name: handler.EnvPOPLastProgress, Value: last})
	}
	return env
}

// maxArgStrLen is Linux's limit on one environment string, NAME=value and its final NUL
// included (MAX_ARG_STRLEN, 32 pages): a longer one stops the handler from starting at all.
const maxArgStrLen = 128 << 10

// maxEnvValue is the longest value a variable of this name can carry.
func maxEnvValue(name string) int { return maxArgStrLen - len(name) - len("=") - 1 }

func outputMode(h *popv1.HandlerTypeSpec) popv1.OutputMode {
	if h.Outputs != nil && h.Outputs.Mode != "" {
		return h.Outputs.Mode
	}
	return popv1.OutputTerminationMessage
}

// Timeout is the limit on one attempt: the operation's, else the HandlerType's.
func Timeout(op *popv1.Operation, h *popv1.HandlerTypeSpec) *metav1.Duration {
	if op.Timeout != nil {
		return op.Timeout
	}
	return h.Timeout
}

func ownerRef(ag *popv1.Agenda) metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion:         popv1.GroupVersion.String(),
		Kind:               "Agenda",
		Name:               ag.Name,
		UID:                ag.UID,
		Controller:         ptr.To(true),
		BlockOwnerDeletion: ptr.To(true),
	}
}
