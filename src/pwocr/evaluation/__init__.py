"""Accuracy metrics and the evaluation of a checkpoint on a labelled set."""
