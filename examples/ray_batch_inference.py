"""Batch inference over a data set with Ray Data and litert (``pip install litert[ray]``).

    python examples/ray_batch_inference.py --model mobilenetv2.ms --images 2000 --actors 2
    python examples/ray_batch_inference.py --model mobilenetv2.ms --read s3://bucket/images/ --address auto

Without ``--read`` it makes ``--images`` seeded random images (an in-memory
data set); with ``--read`` it reads image files (``ray.data.read_images``,
resized to the model's input).  ``--address`` joins a running cluster
(``auto``: the one ``ray start`` made on this node); without it, a local Ray
instance with ``--actors`` CPUs is started.  On a real cluster, set
``--address``, point ``--read`` at storage every node reaches (S3, GCS,
NFS), and raise ``--actors`` to the number of CPUs to use (one actor per
CPU, each loading the model once); with ``--threads-per-actor N`` each actor
serves N batches at once on threads that share its one copy of the model
(then use one actor per node).  It prints the rows/s of the inference pass.
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def synthetic_images(count: int, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """``count`` images of ``shape`` (H, W, C), float32 in [0, 1)."""
    return np.random.default_rng(seed).random((count, *shape), dtype=np.float32)


def infer(dataset, model: str, actors: int, batch_size: int = 64, threads_per_actor: int = 1, keep_columns=()):
    """The inference pass: ``dataset`` (an ``image`` column) -> a dataset of the model's outputs."""
    from litert.ray import Predictor

    extra = {"max_concurrency": threads_per_actor} if threads_per_actor > 1 else {}
    return dataset.map_batches(Predictor, fn_constructor_kwargs={"model": model, "keep_columns": list(keep_columns)},
                               batch_size=batch_size, concurrency=actors, num_cpus=threads_per_actor, **extra)


def run_in_memory(model: str, images: np.ndarray, actors: int, batch_size: int = 64) -> tuple[dict, float]:
    """Outputs of every image, in image order, and the rows/s of the pass (actor start-up included)."""
    import ray

    ray.data.DataContext.get_current().execution_options.preserve_order = True  # outputs in input order
    blocks = max(4 * actors, len(images) // (4 * batch_size))
    dataset = ray.data.from_numpy(images).rename_columns({"data": "image"}).repartition(blocks).materialize()
    started = time.perf_counter()
    batches = list(infer(dataset, model, actors, batch_size, keep_columns=()).iter_batches(batch_size=None))
    seconds = time.perf_counter() - started
    names = list(batches[0])
    outputs = {name: np.concatenate([b[name] for b in batches]) for name in names}
    return outputs, len(outputs[names[0]]) / seconds


def main() -> int:
    import ray

    import litert

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--images", type=int, default=2000, help="synthetic images (without --read)")
    parser.add_argument("--read", help="image files to read (a directory, glob or URL ray.data.read_images takes)")
    parser.add_argument("--actors", type=int, default=2)
    parser.add_argument("--threads-per-actor", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--address", help="a running Ray cluster (auto: this node's); default: start a local one")
    args = parser.parse_args()

    ray.init(address=args.address) if args.address else ray.init(num_cpus=args.actors * args.threads_per_actor)
    shape = litert.load(args.model).inputs[0].shape  # (1, H, W, C) for an NHWC .ms
    if args.read:
        dataset = ray.data.read_images(args.read, size=(shape[1], shape[2]), mode="RGB")
        dataset = dataset.map_batches(lambda b: {"image": b["image"].astype(np.float32) / 255.0})
        started = time.perf_counter()
        count = infer(dataset, args.model, args.actors, args.batch_size, args.threads_per_actor).count()
        rate = count / (time.perf_counter() - started)
    else:
        outputs, rate = run_in_memory(args.model, synthetic_images(args.images, tuple(shape[1:])), args.actors,
                                      args.batch_size)
        count = args.images
    print(f"{count} images, {args.actors} actor(s): {rate:.1f} rows/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
