package handlers

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

func TestValidateSpec(t *testing.T) {
	cases := map[string]struct {
		spec    popv1.HandlerTypeSpec
		wantErr []string
	}{
		"minimal spec is valid": {
			spec: popv1.HandlerTypeSpec{Image: "img"},
		},
		"own env and requests under limits are valid": {
			spec: popv1.HandlerTypeSpec{
				Image: "img",
				Env:   []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "debug"}},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
				},
			},
		},
		"reserved env names are refused with their index": {
			spec: popv1.HandlerTypeSpec{
				Image: "img",
				Env:   []corev1.EnvVar{{Name: "OK"}, {Name: "POP_PAYLOAD"}, {Name: "CID"}},
			},
			wantErr: []string{`spec.env[1].name: Invalid value: "POP_PAYLOAD"`, `spec.env[2].name: Invalid value: "CID"`},
		},
		"requests above limits are refused": {
			spec: popv1.HandlerTypeSpec{
				Image: "img",
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("2Gi")},
					Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
				},
			},
			wantErr: []string{`spec.resources.requests[memory]: Invalid value: "2Gi": must not exceed the limit 1Gi`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := ValidateSpec(&tc.spec)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want errors %q, got none", tc.wantErr)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err.Error(), want)
				}
			}
		})
	}
}
