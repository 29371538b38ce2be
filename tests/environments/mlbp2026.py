"""mlbp2026's environment test: what the first exercise needs works (playbooks/test-environments.yml)."""
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

X, y = make_classification(n_samples=200, n_features=5, random_state=0)
score = LogisticRegression().fit(X, y).score(X, y)
assert score > 0.8, score
print("mlbp2026 environment ok: accuracy %.2f" % score)
