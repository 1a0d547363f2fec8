package quirks

// HostBehavior is how a request is answered as to redirects and other hosts.
type HostBehavior struct{}
