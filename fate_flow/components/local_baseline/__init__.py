"""LocalBaseline: scikit-learn's LogisticRegression on one party's own data (FATE 1.4's ``LocalBaseline``)."""
