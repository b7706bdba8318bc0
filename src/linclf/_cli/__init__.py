"""Parts of the ``linclf`` command line (:mod:`linclf.cli`): the evaluation report, missing
values, the hold-out split and the reading progress."""
