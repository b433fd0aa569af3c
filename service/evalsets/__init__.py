"""Every evaluation set and their union, asked as `make eval` does, and cross-validation by
document: folds hashed on file names, one held-out fold read only as totals."""

from service.evalsets.folds import FOLDS, HELD_OUT, CrossValidation, cross_validate, fold_of
from service.evalsets.registry import UNION, EvaluationSet, all_sets
from service.evalsets.suite import evaluate_all

__all__ = ["FOLDS", "HELD_OUT", "UNION", "CrossValidation", "EvaluationSet", "all_sets",
           "cross_validate", "evaluate_all", "fold_of"]
