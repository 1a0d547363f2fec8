package ocitest

// Kind is the distribution-spec endpoint a request was addressed to.
type Kind int

// The endpoint kinds, after the spec's endpoint table (end-1 … end-14).
const (
	AnyKind          Kind = iota // in a Match: any kind; no request has it
	Unknown                      // not an endpoint of the spec
	Ping                         // end-1  GET /v2/
	BlobGet                      // end-2  GET /v2/<name>/blobs/<digest>
	BlobHead                     // end-2  HEAD /v2/<name>/blobs/<digest>
	BlobDelete                   // end-10 DELETE /v2/<name>/blobs/<digest>
	UploadStart                  // end-4a/4c POST /v2/<name>/blobs/uploads/
	UploadMonolithic             // end-4b POST /v2/<name>/blobs/uploads/?digest=<digest>
	UploadChunk                  // end-5  PATCH <blob-push-location>
	UploadComplete               // end-6  PUT <blob-push-location>?digest=<digest>
	UploadStatus                 // end-13 GET <blob-push-location>
	UploadCancel                 // end-14 DELETE <blob-push-location>
	BlobMount                    // end-11 POST /v2/<name>/blobs/uploads/?mount=<digest>[&from=<other>]
	ManifestGet                  // end-3  GET /v2/<name>/manifests/<reference>
	ManifestHead                 // end-3  HEAD /v2/<name>/manifests/<reference>
	ManifestPut                  // end-7  PUT /v2/<name>/manifests/<reference>
	ManifestDelete               // end-9  DELETE /v2/<name>/manifests/<reference>
	TagsList                     // end-8  GET /v2/<name>/tags/list
	ReferrersList                // end-12 GET /v2/<name>/referrers/<digest>
	Catalog                      // GET /v2/_catalog (not in the OCI spec; Docker's API)
	Token                        // the token endpoint of the auth flow
)

var kindNames = [...]string{
	AnyKind:          "AnyKind",
	Unknown:          "Unknown",
	Ping:             "Ping",
	BlobGet:          "BlobGet",
	BlobHead:         "BlobHead",
	BlobDelete:       "BlobDelete",
	UploadStart:      "UploadStart",
	UploadMonolithic: "UploadMonolithic",
	UploadChunk:      "UploadChunk",
	UploadComplete:   "UploadComplete",
	UploadStatus:     "UploadStatus",
	UploadCancel:     "UploadCancel",
	BlobMount:        "BlobMount",
	ManifestGet:      "ManifestGet",
	ManifestHead:     "ManifestHead",
	ManifestPut:      "ManifestPut",
	ManifestDelete:   "ManifestDelete",
	TagsList:         "TagsList",
	ReferrersList:    "ReferrersList",
	Catalog:          "Catalog",
	Token:            "Token",
}

// String returns the kind's name, e.g. "ManifestGet".
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + itoa(int(k)) + ")"
}
