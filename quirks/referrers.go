package quirks

// ReferrersBehavior is how a request is answered as to the referrers API and the OCI-Subject header.
type ReferrersBehavior struct{}
