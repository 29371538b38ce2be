"""A course test that fails on purpose: molecule checks that test-environments.yml reports it."""
import scikit_learn_does_not_exist  # noqa: F401
