"""Stage II, pre-processing: training the estimators' models (RAIL's informers) on known redshifts."""
