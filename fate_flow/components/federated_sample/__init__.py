"""FederatedSample: random or stratified down/up-sampling of the rows (FATE 1.4's ``FederatedSample``)."""
