"""HeteroSVDpp: HeteroSVD with implicit feedback (FATE 1.4.1's FederatedRec ``HeteroSVDpp``)."""
