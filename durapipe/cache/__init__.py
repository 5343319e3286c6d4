"""What durapipe's five caches share, so each keeps only its own domain logic.

The caches: code closures (`fingerprint.closure_cache`, sqlite), installed distributions
(`cache.distributions`, JSON: it belongs to no one room, both fingerprints and the host read it), loaded definitions (`load.definition_cache`, JSON), plan memos
(`engine.plan_memo`, JSON) and file hashes (`store.hashing`, sqlite). Here: where their files live
(`folders`), JSON entries read and written whole under their key (`entries`), and sqlite opened
safely across processes (`sqlite`). Whether a file's signature vouches for its content is
`core.file_signature`. Every one of them treats a cache it cannot read as a miss, never a hit.
"""
