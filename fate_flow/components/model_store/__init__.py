"""ModelStore and ModelRestore: the local jobs that move a model between the cache and the model store."""
