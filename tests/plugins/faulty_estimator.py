"""A RAIL estimator that fails on the last MPI rank: the engine must abort the whole job."""

from mpi4py import MPI
from rail.estimation.algos.train_z import TrainZEstimator, TrainZInformer


class LastRankFailsInformer(TrainZInformer):
    name = "LastRankFailsInformer"


class LastRankFailsEstimator(TrainZEstimator):
    name = "LastRankFailsEstimator"

    def _process_chunk(self, start, end, data, first):
        world = MPI.COMM_WORLD
        if world.Get_rank() == world.Get_size() - 1:
            raise RuntimeError("injected failure on the last rank")
        super()._process_chunk(start, end, data, first)
