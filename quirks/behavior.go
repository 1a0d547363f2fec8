package quirks

// Setting is one behaviour a quirk can change, with the quirk that set it.
// An unset Setting (By empty) means the spec's behaviour.
type Setting[T any] struct {
	Value T
	// By names the quirk that set Value (Quirk.String), for the request log.
	By string
}

// On reports whether a quirk set s.
func (s Setting[T]) On() bool { return s.By != "" }

func (s *Setting[T]) set(v T, by string) { s.Value, s.By = v, by }

// Behavior is how one request is answered under the active quirks: the
// spec's behaviour except where a Setting is on. Each catalog group has its
// own part.
type Behavior struct {
	List      ListBehavior
	Headers   HeaderBehavior
	Manifests ManifestBehavior
	Uploads   UploadBehavior
	Download  DownloadBehavior
	Hosts     HostBehavior
	Referrers ReferrersBehavior
	Faults    FaultBehavior
	Lag       LagBehavior
	Auth      AuthBehavior
}

// ErrorResponse is an error answer a quirk prescribes: status, the OCI
// error code and message of the JSON body, or a raw Body (and its
// ContentType) for registries and proxies that answer in HTML, XML or
// plain text.
type ErrorResponse struct {
	Status      int
	Code        string
	Message     string
	Body        string
	ContentType string
}
