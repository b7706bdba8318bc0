"""The batched CPU engine (private): BLAS thread policy, row blocks of out-of-core data,
the fused loss-and-gradient step and batch iteration. Nothing here validates its input."""
