"""Fingerprints: what a step's result depends on (code, parameters, inputs, environment), as pure functions."""
