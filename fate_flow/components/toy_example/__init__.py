"""SecureAddExample: the toy federated job, a secret-shared sum of two parties' ones."""
