"""Schema revisions of the transaction store, oldest first."""
