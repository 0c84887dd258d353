"""A RAIL estimator that fails on the last MPI rank: the engine must abort the whole job."""

import os

from rail.estimation.algos.train_z import TrainZEstimator, TrainZInformer


class LastRankFailsInformer(TrainZInformer):
    name = "LastRankFailsInformer"


class LastRankFailsEstimator(TrainZEstimator):
    name = "LastRankFailsEstimator"

    def _process_chunk(self, start, end, data, first):
        if os.environ.get("PMI_RANK") == str(int(os.environ.get("PMI_SIZE", "1")) - 1):
            raise RuntimeError("injected failure on the last rank")
        super()._process_chunk(start, end, data, first)
