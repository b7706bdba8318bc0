"""Full-batch solver prototypes for issue 11, kept here until they are integrated.

Measured by ``benchmarks/bench_solvers.py`` and tested by ``test_prototypes.py`` in this
folder (``.ci/run`` runs it after the main suite). They follow the solver seam of
``linclf._solvers.base`` and take ``linclf._validation.TrainingData`` records, so moving a
chosen one into ``src/linclf/_solvers/`` is a move plus relative imports. Results and the
choice between them: docs/benchmarks.md ("Solvers") and the issue 11 note.

* ``lbfgs.LBFGSSolver``: softmax, L-BFGS-B on the exact objective.
* ``smoothed_hinge.SmoothedHingeSolver``: Weston-Watkins hinge with an intercept,
  L-BFGS on a Huber-smoothed hinge driven to zero, with a duality gap.
* ``dual_cd.DualCDSolver``: the hinge without an intercept, block dual coordinate ascent
  with the exact per-row subproblem (Wang & Scott, ICML 2021).
* ``path``: the held-out regularization path.
"""
