"""Small shared helpers: ids, the response envelope, logging."""
