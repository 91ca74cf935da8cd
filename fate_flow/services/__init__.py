"""Use-cases behind the routes: data access, the model center, permissions, the connection test."""
