"""Solvers (private): what turns validated data and an objective into fitted parameters.

The estimators hand a :class:`~linclf._validation.TrainingData` record and an objective to
an object following :class:`~linclf._solvers.base.Solver`; minibatch SGD through the
:class:`~linclf.Trainer` is one such solver.
"""
