// Package v1alpha1 holds the pop.dev/v1alpha1 API: Agenda, Insight and HandlerType.
// +kubebuilder:object:generate=true
// +groupName=pop.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "pop.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the kinds of this package with a runtime.Scheme. It keeps the
	// package free of controller-runtime so that clients import only apimachinery.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the kinds of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&Agenda{}, &AgendaList{},
		&Insight{}, &InsightList{},
		&HandlerType{}, &HandlerTypeList{},
		&AgendaTemplate{}, &AgendaTemplateList{},
		&OperationShard{}, &OperationShardList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
