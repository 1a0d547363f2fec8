package quirks

// FaultBehavior is how a request is answered as to rate limits and transient failures.
type FaultBehavior struct{}
