// Package ocitest runs an OCI distribution registry inside a Go test.
//
// New starts one on a free loopback port and closes it when the test ends:
//
//	reg := ocitest.New(t)
//	ref := reg.Ref("team/app:v1") // "127.0.0.1:PORT/team/app:v1"
//	// ... point the client under test at reg.Host() ...
//
// The registry implements every endpoint of the OCI distribution spec
// (pull, push in all its forms, mounts, tags, referrers, deletes, upload
// status and cancel) over a [memstore.Store], and passes the official
// conformance suite with every optional API and data set enabled. Errors
// are the spec's JSON error bodies with the spec's codes; nothing a client
// sends makes it answer 500 or panic.
//
// Content can be seeded and inspected directly through Store, and the whole
// handler is available from Handler to serve elsewhere. Start is the variant
// for TestMain, Example functions and programs (see cmd/ocifixture).
//
// # Endpoints
//
//	end-1   GET         /v2/                                       Ping
//	end-2   GET, HEAD   /v2/<name>/blobs/<digest>                  BlobGet, BlobHead (Range: single, suffix, multi)
//	end-3   GET, HEAD   /v2/<name>/manifests/<reference>           ManifestGet, ManifestHead
//	end-4a  POST        /v2/<name>/blobs/uploads/                  UploadStart
//	end-4b  POST        /v2/<name>/blobs/uploads/?digest=<d>       UploadMonolithic
//	end-4c  POST        /v2/<name>/blobs/uploads/?digest-algorithm=sha512
//	end-5   PATCH       <location>                                 UploadChunk (streamed or Content-Range)
//	end-6   PUT         <location>?digest=<d>                      UploadComplete
//	end-7   PUT         /v2/<name>/manifests/<reference>[?tag=..]  ManifestPut
//	end-8   GET         /v2/<name>/tags/list[?n=&last=]            TagsList
//	end-9   DELETE      /v2/<name>/manifests/<reference>           ManifestDelete
//	end-10  DELETE      /v2/<name>/blobs/<digest>                  BlobDelete
//	end-11  POST        /v2/<name>/blobs/uploads/?mount=<d>[&from=<repo>]  BlobMount
//	end-12  GET         /v2/<name>/referrers/<digest>[?artifactType=]      ReferrersList
//	end-13  GET         <location>                                 UploadStatus
//	end-14  DELETE      <location>                                 UploadCancel
//	        GET         /v2/_catalog[?n=&last=]                    Catalog
package ocitest
