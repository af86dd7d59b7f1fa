"""The InfoGAN training step in PyTorch, timed like bench/bench_infogan.cpp.

    python3 bench/torch_reference.py [--batches 64,128,256,512] [--reps 50] [--tf32]
    /usr/bin/python3 bench/torch_reference.py --device cpu --threads 2 --batches 64 --reps 5

The networks are the lab spec's (imported from scripts/torch_load_infogan.py),
the step is apps/common/infogan.cpp's InfoGan::train_step: D update with BCE on
a real batch (target 1) and a detached fake batch (target 0); then G + Q update
with the non-saturating BCE(D(G(z, c)), 1) plus 0.25 * CE(Q logits, c); Adam
betas (0.5, 0.999), lr 2e-4 for the D trunk and head, 1e-3 for G and the Q head.
The latent codes (noise ~ N(0, 1), a uniform categorical code) are drawn on the
GPU inside the step; the images are uniform random in [0, 1].

Two ways of running it, for each batch size:
  torch eager  the step as Python issues it (foreach Adam, grads set to None);
  torch graph  the whole step captured once in a CUDA graph (capturable Adam,
               static input and outputs) and replayed (not with --device cpu).
Each timed run is one step plus the host read of its five logged values (as
our training loop does); the table gives the median of --reps runs after a
warm-up, the rate at 16.0 GFLOP per step at batch 64 (proportional in the
batch) and one epoch of floor(60000 / batch) steps. TF32 is off unless --tf32
is given: our kernels compute in full float32, so that is the fair comparison.
PyTorch is a reference here, never a dependency of the project.
"""
import argparse
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from torch_load_infogan import Discriminator, Generator  # noqa: E402

NOISE, CODES, LAMBDA_INFO = 54, 10, 0.25


class Step:
    """The models, their optimizers and one training step on `real`."""

    def __init__(self, batch, capturable, device):
        self.device = device
        self.G = Generator(NOISE + CODES).to(device)
        self.D = Discriminator(CODES).to(device)
        d_params = list(self.D.main.parameters()) + list(self.D.D.parameters())
        gq_params = list(self.G.parameters()) + list(self.D.Q.parameters())
        self.opt_d = torch.optim.Adam(d_params, lr=2e-4, betas=(0.5, 0.999), capturable=capturable)
        self.opt_gq = torch.optim.Adam(gq_params, lr=1e-3, betas=(0.5, 0.999), capturable=capturable)
        # A graph replays fixed addresses: gradients must stay allocated.
        self.set_to_none = not capturable
        self.ones = torch.ones(batch, device=device)
        self.zeros = torch.zeros(batch, device=device)

    def heads(self, images):
        trunk = self.D.main(images)
        return self.D.D(trunk).flatten(), self.D.Q(trunk).flatten(1)

    def __call__(self, real):
        n = real.shape[0]
        code = torch.randint(0, CODES, (n,), device=self.device)
        # One-hot as a comparison with arange: nothing here reads the GPU, so it can be captured.
        one_hot = (code[:, None] == torch.arange(CODES, device=self.device)).float()
        z = torch.cat([torch.randn(n, NOISE, device=self.device), one_hot], 1).view(n, -1, 1, 1)
        fake = self.G(z)

        self.opt_d.zero_grad(set_to_none=self.set_to_none)
        d_real = self.heads(real)[0]
        d_fake = self.heads(fake.detach())[0]
        loss_d = F.binary_cross_entropy(d_real, self.ones) + F.binary_cross_entropy(d_fake, self.zeros)
        loss_d.backward()
        self.opt_d.step()

        self.opt_gq.zero_grad(set_to_none=self.set_to_none)
        real_head, logits = self.heads(fake)
        loss_g = F.binary_cross_entropy(real_head, self.ones)
        loss_info = LAMBDA_INFO * F.cross_entropy(logits, code)
        (loss_g + loss_info).backward()
        self.opt_gq.step()
        return torch.stack([loss_d, loss_g, loss_info, d_real.mean(), d_fake.mean()]).detach()


def median_ms(run, reps):
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        run().tolist()  # the one host read per iteration; waits for the GPU
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def eager(batch, images, reps):
    step = Step(batch, capturable=False, device=images.device)
    for _ in range(5):
        step(images)
    if images.is_cuda:
        torch.cuda.synchronize()
    return median_ms(lambda: step(images), reps)


def graph(batch, images, reps):
    step = Step(batch, capturable=True, device=images.device)
    static_real = images.clone()
    # Warm-up on a side stream (the optimizers create their state, autograd
    # its buffers), as torch.cuda.graphs' whole-network example does.
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            step(static_real)
    torch.cuda.current_stream().wait_stream(side)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        static_values = step(static_real)

    def replay():
        static_real.copy_(images)  # a new batch goes into the captured input
        g.replay()
        return static_values

    for _ in range(3):
        replay()
    torch.cuda.synchronize()
    return median_ms(replay, reps)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", default="64,128,256,512")
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--tf32", action="store_true", help="allow TF32 in convolutions and matmuls")
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: PyTorch's default)")
    args = parser.parse_args()
    torch.backends.cudnn.allow_tf32 = args.tf32
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    if args.device == "cuda":
        where, timers = torch.cuda.get_device_name(), (("torch eager", eager), ("torch graph", graph))
    else:
        where, timers = "the CPU, %d threads" % torch.get_num_threads(), (("torch eager", eager),)
    print("torch %s on %s, TF32 %s" % (torch.__version__, where, "on" if args.tf32 else "off"))
    print("%-14s %-8s %6s %10s %10s %11s" % ("impl", "device", "batch", "ms/iter", "GFLOP/s", "epoch (s)"))
    for batch in (int(b) for b in args.batches.split(",")):
        images = torch.rand(batch, 1, 28, 28, device=args.device)
        for name, timer in timers:
            ms = timer(batch, images, args.reps)
            gflop = 16.0 * batch / 64.0
            label = "cuda:0" if args.device == "cuda" else "cpu"
            print("%-14s %-8s %6d %10.3f %10.1f %11.1f"
                  % (name, label, batch, ms, gflop / (ms / 1e3), ms / 1e3 * (60000 // batch)), flush=True)


if __name__ == "__main__":
    main()
