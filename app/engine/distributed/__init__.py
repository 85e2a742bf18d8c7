"""Training one model with several processes (PyTorch DDP under torchrun); Qt-free.

ranks     which process this is (RankInfo), read from the running process group
group     joining torchrun's process group and leaving it (gloo on CPU, NCCL on CUDA)
sampler   each rank's slice of the global batch, so N×b reproduces 1×(N·b)
replicas  the training step's modules wrapped for DDP, torch.compile and autocast
writers   only rank 0 writes checkpoints, metrics and the progress bar
launch    ``genplay train --nproc N``: torchrun started for one machine
"""

from app.engine.distributed.ranks import SINGLE, RankInfo, current_rank

__all__ = ["SINGLE", "RankInfo", "current_rank"]
