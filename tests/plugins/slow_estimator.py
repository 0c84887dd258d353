"""RAIL estimators that take a while per chunk, so that a test can signal a run, or watch it, in the middle."""

import time

from mpi4py import MPI
from rail.estimation.algos.train_z import TrainZEstimator, TrainZInformer


class SlowInformer(TrainZInformer):
    name = "SlowInformer"


class SlowEstimator(TrainZEstimator):
    """A quarter of a second a chunk, on every rank."""

    name = "SlowEstimator"

    def seconds_per_chunk(self) -> float:
        return 0.25

    def _process_chunk(self, start, end, data, first):
        time.sleep(self.seconds_per_chunk())
        super()._process_chunk(start, end, data, first)


class OneSlowRankInformer(TrainZInformer):
    name = "OneSlowRankInformer"


class OneSlowRankEstimator(SlowEstimator):
    """The last MPI rank takes 30 times longer per chunk than the others: a rank ``pzmpi status`` must flag."""

    name = "OneSlowRankEstimator"

    def seconds_per_chunk(self) -> float:
        world = MPI.COMM_WORLD
        return 0.6 if world.Get_rank() == world.Get_size() - 1 else 0.02
