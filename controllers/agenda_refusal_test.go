package controllers

import (
	"errors"
	"fmt"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The messages are those the API server's admission plugins answer for a Pod create.
func TestPermanentRefusal(t *testing.T) {
	pods := schema.GroupResource{Resource: "pods"}
	forbidden := func(msg string) error { return apierrors.NewForbidden(pods, "a-op-1", errors.New(msg)) }
	cases := []struct {
		name      string
		err       error
		permanent bool
	}{
		{"invalid: a deadline of 0", apierrors.NewInvalid(schema.GroupKind{Kind: "Pod"}, "a-op-1",
			field.ErrorList{field.Invalid(field.NewPath("spec", "activeDeadlineSeconds"), 0, "must be greater than 0")}), true},
		{"too large", apierrors.NewRequestEntityTooLargeError("limit is 3145728"), true},
		{"malformed", apierrors.NewBadRequest("bad"), true},
		{"a LimitRange", forbidden("maximum cpu usage per Container is 1, but limit is 2"), true},
		{"Pod Security", forbidden(`violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false`), true},
		{"a missing PriorityClass", forbidden("no PriorityClass with name gold was found"), true},
		{"a terminating namespace", forbidden("unable to create new content in namespace acme because it is being terminated"), true},
		{"the Pod name held by someone else", errNameTaken{name: "a-op-1"}, true},
		{"an exceeded quota", forbidden("exceeded quota: pop-customer, requested: pods=1, used: pods=10, limited: pods=10"), false},
		{"a ServiceAccount not created yet", forbidden(`error looking up service account acme/default: serviceaccount "default" not found`), false},
		{"a timeout", apierrors.NewTimeoutError("request timed out", 1), false},
		{"too many requests", apierrors.NewTooManyRequests("slow down", 1), false},
		{"an internal error", apierrors.NewInternalError(errors.New("etcd")), false},
		{"a connection refused", fmt.Errorf("dial tcp 127.0.0.1:6443: connect: connection refused"), false},
	}
	for _, c := range cases {
		if got := permanentRefusal(c.err); got != c.permanent {
			t.Errorf("%s: permanentRefusal(%v) = %v, want %v", c.name, c.err, got, c.permanent)
		}
	}
}
