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


class OneSlowRankInformer(TrainZInformer):
    name = "OneSlowRankInformer"


class OneSlowRankEstimator(TrainZEstimator):
    """The last MPI rank takes 30 times longer per chunk than the others: a rank ``pzmpi status`` must flag."""

    name = "OneSlowRankEstimator"

    def _process_chunk(self, start, end, data, first):
        from mpi4py import MPI

        world = MPI.COMM_WORLD
        time.sleep(0.6 if world.Get_rank() == world.Get_size() - 1 else 0.02)
        super()._process_chunk(start, end, data, first)
