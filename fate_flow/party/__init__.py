"""Party-to-party plumbing: calls to other parties' servers, the http federation mailbox, request nonces."""
