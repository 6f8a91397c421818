// Package bridge_test runs the AWS bridge against real emulators (fauxqs for SQS, DynamoDB
// Local) and a real kube-apiserver (envtest), with POP's controllers and the simulated
// kubelet (test/podsim) running the Agendas it creates. The centers specs run each center's
// manager as the manager binary, a process of its own (centers_test.go). hack/aws-emulators.sh starts the
// emulators; `make test-integration` does so and exports their endpoints.
package bridge_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/pop-operator/pop/controllers"
	"github.com/pop-operator/pop/internal/bridge"
	"github.com/pop-operator/pop/test/framework"
	"github.com/pop-operator/pop/test/podsim"
)

var (
	env    *framework.Env
	ctx    context.Context
	cancel context.CancelFunc
	sim    *podsim.Simulator
	aws    *bridge.Clients
	store  *bridge.Store
	queues *bridge.Provisioned
	// boundQueues are the intake queues bound to one customer each, by customer id.
	boundQueues map[string]string
	baseConfig  bridge.Config
	stopManager context.CancelFunc
)

func TestBridge(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "AWS bridge suite")
}

var _ = BeforeSuite(func() {
	ctrl.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.Background())
	sqsEndpoint, ddbEndpoint := os.Getenv("POP_SQS_ENDPOINT"), os.Getenv("POP_DYNAMODB_ENDPOINT")
	Expect(sqsEndpoint).NotTo(BeEmpty(), "POP_SQS_ENDPOINT is not set: run `eval $(hack/aws-emulators.sh env)` after `hack/aws-emulators.sh start`, or `make test-integration`")
	Expect(ddbEndpoint).NotTo(BeEmpty(), "POP_DYNAMODB_ENDPOINT is not set")
	// Emulators accept any credentials; the default chain reads these.
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1"} {
		Expect(os.Setenv(k, v)).To(Succeed())
	}

	var err error
	env, err = framework.Start()
	Expect(err).NotTo(HaveOccurred())
	sim = podsim.New(env.Client)
	go sim.Run(ctx)

	run := fmt.Sprintf("pop-it-%d", time.Now().UnixNano())
	baseConfig = bridge.DefaultConfig()
	baseConfig.SQSEndpoint, baseConfig.DynamoDBEndpoint = sqsEndpoint, ddbEndpoint
	baseConfig.Table = run
	baseConfig.Mirror = bridge.MirrorAll
	baseConfig.MaxPending = 5
	baseConfig.MaxPendingPerCustomer = 3
	baseConfig.DeferDelay = time.Second
	baseConfig.MaxMessageBytes = 32 << 10
	baseConfig.WaitTime = time.Second
	baseConfig.VisibilityTimeout = 3 * time.Second
	aws, err = bridge.NewClients(ctx, baseConfig)
	Expect(err).NotTo(HaveOccurred())
	queues, err = bridge.Provision(ctx, aws, bridge.Resources{IntakeQueue: run + "-intake", DeadLetterQueue: run + "-dlq", Table: run})
	Expect(err).NotTo(HaveOccurred())
	baseConfig.IntakeQueues = []string{queues.IntakeQueueURL}
	baseConfig.DeadLetterQueue = queues.DeadLetterQueueURL
	boundQueues = map[string]string{}
	for _, c := range []string{"bound-a", "bound-b"} {
		p, err := bridge.Provision(ctx, aws, bridge.Resources{IntakeQueue: run + "-" + c, DeadLetterQueue: run + "-dlq", Table: run})
		Expect(err).NotTo(HaveOccurred())
		boundQueues[c] = p.IntakeQueueURL
		baseConfig.CustomerQueues = append(baseConfig.CustomerQueues, bridge.QueueBinding{Customer: c, URL: p.IntakeQueueURL})
	}
	store = &bridge.Store{DB: aws.DynamoDB, Table: run}
	stopManager = startManager(baseConfig)
})

// startManager runs POP's controllers and the bridge in a fresh manager and returns its
// stop function, which waits until the manager has stopped.
func startManager(cfg bridge.Config) context.CancelFunc {
	GinkgoHelper()
	mgr, err := ctrl.NewManager(env.Config, framework.ManagerOptions())
	Expect(err).NotTo(HaveOccurred())
	parts, err := controllers.Setup(mgr, controllers.Options{MaxConcurrentReconciles: 8, OperatorNamespace: "pop-system"})
	Expect(err).NotTo(HaveOccurred())
	Expect(bridge.Setup(ctx, mgr, cfg, 8)).To(Succeed())
	stop, err := framework.RunManager(ctx, mgr, parts.Scheduler.Ready(), func(err error) { Fail(err.Error()) })
	Expect(err).NotTo(HaveOccurred())
	return stop
}

var _ = AfterSuite(func() {
	if stopManager != nil {
		stopManager()
	}
	if cancel != nil {
		cancel()
	}
	if env != nil {
		Expect(env.Stop()).To(Succeed())
	}
	Expect(framework.RemoveManagerBinary()).To(Succeed()) // the centers' manager binary
})
