"""A RAIL estimator that takes a while per chunk, so that a test can signal a run in the middle of it."""

import time

from rail.estimation.algos.train_z import TrainZEstimator, TrainZInformer

SECONDS_PER_CHUNK = 0.25


class SlowInformer(TrainZInformer):
    name = "SlowInformer"


class SlowEstimator(TrainZEstimator):
    name = "SlowEstimator"

    def _process_chunk(self, start, end, data, first):
        time.sleep(SECONDS_PER_CHUNK)
        super()._process_chunk(start, end, data, first)
