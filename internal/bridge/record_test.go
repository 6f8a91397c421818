package bridge

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	popv1 "github.com/pop-operator/pop/api/v1alpha1"
)

// dynamoItemLimit is DynamoDB's maximum item size (400 KB, names and values together).
const dynamoItemLimit = 400 * 1024

// itemSize is an upper bound of an item's size as DynamoDB counts it
// (docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
// attribute names plus values; strings by their UTF-8 bytes; numbers at most 21 bytes (one
// byte per digit here, more than DynamoDB counts); 3 bytes per list or map plus 1 per element.
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for k, v := range item {
		n += len(k) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return min(len(v.Value)+1, 21)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += 1 + len(k) + valueSize(e)
		}
		return n
	}
	panic(fmt.Sprintf("unexpected attribute value %T", v))
}

// worstCaseAgenda is the largest Agenda status the API server accepts for n operations:
// every name, message and reason at its schema's maximum length, every operation failed.
func worstCaseAgenda(n int) *popv1.Agenda {
	long := strings.Repeat("m", 1024)
	ag := &popv1.Agenda{ObjectMeta: metav1.ObjectMeta{
		Name: strings.Repeat("a", 51), Namespace: strings.Repeat("n", 63), ResourceVersion: "18446744073709551615",
		Labels:      map[string]string{SourceLabel: SourceSQS},
		Annotations: map[string]string{KeyAnnotation: strings.Repeat("k", maxKeyLength)},
	}}
	done := metav1.Now()
	ag.CreationTimestamp, ag.Status.AdmissionTime, ag.Status.StartTime, ag.Status.CompletionTime = done, &done, &done, &done
	ag.Status.Phase, ag.Status.Insight, ag.Status.PercentComplete = popv1.PhaseFailed, strings.Repeat("i", 253), 100
	ag.Status.Conditions = []metav1.Condition{{Type: popv1.AgendaFailed, Status: metav1.ConditionTrue,
		Reason: strings.Repeat("R", 1024), Message: strings.Repeat("x", 32768)}}
	for i := range n {
		name := fmt.Sprintf("%s%08d", strings.Repeat("o", 55), i)
		ag.Status.Operations = append(ag.Status.Operations, popv1.OperationStatus{
			Name: name, State: popv1.OperationCancelled, Attempts: 2147483647, Progress: 100, Message: long})
	}
	return ag
}

// An Agenda of any size gives a record under DynamoDB's item limit: the record lists a
// bounded number of operations and counts all of them by state (issue 11, item 15).
func TestRecordOfStaysUnderTheItemLimitWhateverTheAgendaSize(t *testing.T) {
	for _, n := range []int{10, popv1.MaxOperations, 10000} {
		r := RecordOf(worstCaseAgenda(n), strings.Repeat("c", 63), time.Now(), time.Hour)
		r.DeletedAt = time.Now().UTC().Format(time.RFC3339)
		r.MessageID = strings.Repeat("i", 100)
		item, err := attributevalue.MarshalMap(r)
		if err != nil {
			t.Fatal(err)
		}
		size := itemSize(item)
		t.Logf("%d operations: record of %d bytes, %d operations listed", n, size, len(r.Operations))
		if size > maxRecordBytes || maxRecordBytes > dynamoItemLimit {
			t.Errorf("%d operations: the record is %d bytes; the bound is %d and DynamoDB's limit %d", n, size, maxRecordBytes, dynamoItemLimit)
		}
		total := 0
		for _, c := range r.OperationCounts {
			total += c
		}
		if r.OperationsTotal != n || total != n || r.OperationsListed != len(r.Operations) {
			t.Errorf("%d operations: total %d, counts sum %d, listed %d of %d", n, r.OperationsTotal, total, r.OperationsListed, len(r.Operations))
		}
	}
}

// When not every operation fits, the record lists those a client most needs — failed and
// running before waiting, succeeded last — in the Agenda's order.
func TestRecordListsTheOperationsThatMatterFirst(t *testing.T) {
	ag := &popv1.Agenda{}
	for i := range maxRecordOperations + 50 {
		ag.Status.Operations = append(ag.Status.Operations, popv1.OperationStatus{Name: fmt.Sprintf("s%03d", i), State: popv1.OperationSucceeded})
	}
	ag.Status.Operations[7].State = popv1.OperationFailed
	ag.Status.Operations[3].State = popv1.OperationExecuting
	ag.Status.Operations[maxRecordOperations+40].State = popv1.OperationWaiting
	r := RecordOf(ag, "c", time.Now(), 0)
	if len(r.Operations) != maxRecordOperations || r.OperationsTotal != maxRecordOperations+50 {
		t.Fatalf("listed %d of %d", len(r.Operations), r.OperationsTotal)
	}
	if r.Operations[0].Name != "s000" || r.Operations[3].State != "Executing" || r.Operations[7].State != "Failed" ||
		r.Operations[len(r.Operations)-1].Name != fmt.Sprintf("s%03d", maxRecordOperations+40) {
		t.Errorf("got %v … %v", r.Operations[:8], r.Operations[len(r.Operations)-1])
	}
	if r.OperationCounts["Succeeded"] != maxRecordOperations+47 || r.OperationCounts["Failed"] != 1 {
		t.Errorf("counts %v", r.OperationCounts)
	}
}
