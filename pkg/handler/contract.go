package handler

// The handler contract's environment (docs/handlers.md): what POP sets in every handler
// container. This file is its one home: internal/podspec builds the Pod's environment from
// these names, internal/handlers refuses a HandlerType that sets one of them itself, and Run
// reads them; internal/podspec's TestThePodCarriesTheHandlerContract ties the three together.
const (
	// EnvPayload is the operation's payload, every reference resolved (JSON).
	EnvPayload = "POP_PAYLOAD"
	// EnvAgenda is the Agenda's name.
	EnvAgenda = "POP_AGENDA"
	// EnvOperation is the operation's name.
	EnvOperation = "POP_OPERATION"
	// EnvNamespace is the Agenda's (and the Pod's) namespace.
	EnvNamespace = "POP_NAMESPACE"
	// EnvCustomer is the customer id of the namespace.
	EnvCustomer = "POP_CUSTOMER"
	// EnvAttempt is the attempt number, from 1.
	EnvAttempt = "POP_ATTEMPT"
	// EnvOutputMode is where the output goes: TerminationMessage or Annotation.
	EnvOutputMode = "POP_OUTPUT_MODE"
	// EnvPodName is the Pod's own name, for the annotation reporter.
	EnvPodName = "POP_POD_NAME"
)

// The original POP's variables, set too so that its handlers run unchanged.
const (
	EnvPOPPayload       = "PAYLOAD"
	EnvPOPAgendaID      = "AGENDA_ID"
	EnvPOPOperationName = "OPERATION_NAME"
	EnvPOPCustomerID    = "CUSTOMER_ID"
	// EnvPOPCID is the Agenda's UID.
	EnvPOPCID = "CID"
	// EnvPOPOperationID is <Agenda UID>/<operation name>.
	EnvPOPOperationID = "OPERATION_ID"
	// EnvPOPProgressID is the Agenda's UID: the Agenda is its own progress record.
	EnvPOPProgressID = "PROGRESS_ID"
	// EnvPOPLastProgress is the previous attempt's POP progress object; set only when there
	// is one, as the original did.
	EnvPOPLastProgress = "LAST_PROGRESS"
)

// OutputAnnotation is the EnvOutputMode value that asks for the output in the Pod's
// pop.report.payload annotation instead of the termination message.
const OutputAnnotation = "Annotation"

// ReservedEnv lists every variable of the contract, in the order the Pod carries them.
func ReservedEnv() []string {
	return []string{
		EnvPayload, EnvAgenda, EnvOperation, EnvNamespace, EnvCustomer, EnvAttempt, EnvOutputMode, EnvPodName,
		EnvPOPPayload, EnvPOPAgendaID, EnvPOPOperationName, EnvPOPCustomerID, EnvPOPCID, EnvPOPOperationID,
		EnvPOPProgressID, EnvPOPLastProgress,
	}
}

// IsReserved reports whether POP sets the variable name itself.
func IsReserved(name string) bool {
	for _, r := range ReservedEnv() {
		if r == name {
			return true
		}
	}
	return false
}
