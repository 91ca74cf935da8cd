"""Local feature transforms: FeatureScale and OneHotEncoder (no federation)."""
