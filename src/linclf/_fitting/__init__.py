"""What the estimators do around a solver (private): the fit plan, the data preparation,
the class weights and the fitted-model record."""
