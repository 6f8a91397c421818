package bridge_test

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/pop-operator/pop/internal/popctl"
)

var _ = Describe("popctl bridge init", func() {
	It("creates the queues and the table, twice without harm, and prints the manager's flags", func() {
		name := fmt.Sprintf("init-%d", time.Now().UnixNano())
		args := []string{"bridge", "init", "--intake-queue", name, "--dead-letter-queue", name + "-dlq", "--table", name,
			"--sqs-endpoint", os.Getenv("POP_SQS_ENDPOINT"), "--dynamodb-endpoint", os.Getenv("POP_DYNAMODB_ENDPOINT")}
		var out bytes.Buffer
		for range 2 {
			out.Reset()
			root := popctl.NewRoot(&out, GinkgoWriter)
			root.SetArgs(args)
			Expect(root.ExecuteContext(ctx)).To(Succeed())
		}
		Expect(out.String()).To(ContainSubstring("--bridge-table=" + name + "\n"))
		var intakeURL string
		for _, line := range strings.Split(out.String(), "\n") {
			if v, ok := strings.CutPrefix(line, "--bridge-intake-queues="); ok {
				intakeURL = v
			}
		}
		Expect(intakeURL).To(HaveSuffix("/" + name))

		attrs, err := aws.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: awssdk.String(intakeURL),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameRedrivePolicy}})
		Expect(err).NotTo(HaveOccurred())
		Expect(attrs.Attributes["RedrivePolicy"]).To(ContainSubstring(name + "-dlq"))
		table, err := aws.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: awssdk.String(name)})
		Expect(err).NotTo(HaveOccurred())
		Expect(table.Table.KeySchema).To(HaveLen(2))
		ttl, err := aws.DynamoDB.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: awssdk.String(name)})
		Expect(err).NotTo(HaveOccurred())
		Expect(awssdk.ToString(ttl.TimeToLiveDescription.AttributeName)).To(Equal("expiresAt"))

		By("binding a queue to one customer")
		customerID := fmt.Sprintf("c%d", time.Now().UnixNano())
		out.Reset()
		root := popctl.NewRoot(&out, GinkgoWriter)
		root.SetArgs([]string{"bridge", "init", "--customer", customerID, "--dead-letter-queue", name + "-dlq", "--table", name,
			"--sqs-endpoint", os.Getenv("POP_SQS_ENDPOINT"), "--dynamodb-endpoint", os.Getenv("POP_DYNAMODB_ENDPOINT")})
		Expect(root.ExecuteContext(ctx)).To(Succeed())
		Expect(out.String()).To(MatchRegexp(`(?m)^--bridge-customer-queues=%s=\S+/pop-intake-%s$`, customerID, customerID))
		Expect(out.String()).NotTo(ContainSubstring("--bridge-intake-queues"))
	})
})
