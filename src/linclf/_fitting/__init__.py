"""Around a solver (private): fit plan, data preparation, class weights, fitted-model record."""
