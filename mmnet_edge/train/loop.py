"""The training loop (AdamW + ExponentialLR, cross-entropy) and batched prediction.

Frames are resized to the model config's ``input_size`` and normalised with ``mean``/
``std`` (default: the metadata defaults, ImageNet's, which every checkpoint records).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from mmnet_edge.data import Sample
from mmnet_edge.errors import MMNetEdgeError
from mmnet_edge.metadata import IMAGENET_MEAN, IMAGENET_STD
from mmnet_edge.model.mmnet import MMNet
from mmnet_edge.train.augment import AugmentConfig
from mmnet_edge.train.config import Recipe
from mmnet_edge.train.dataset import PairDataset, eval_dataset, make_loader
from mmnet_edge.train.device import autocast


@torch.no_grad()
def predict_samples(
    model: MMNet,
    samples: Sequence[Sample] | PairDataset,
    device: torch.device,
    batch_size: int = 32,
    amp: bool = False,
    *,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> np.ndarray:
    """Logits (N×C, float32) for samples, in order, without augmentation."""
    if isinstance(samples, PairDataset):
        ds = samples
    else:
        ds = eval_dataset(samples, model.config.input_size, mean, std)
    model.eval()
    out = []
    for onset, apex, _ in make_loader(ds, batch_size, False, 0, 0):
        with autocast(device, amp):
            logits = model(onset.to(device), apex.to(device))
        out.append(logits.float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.config.num_classes), np.float32)


def fit(
    model: MMNet,
    train_samples: Sequence[Sample],
    recipe: Recipe,
    device: torch.device,
    *,
    seed: int = 0,
    augment: AugmentConfig | None = None,
    amp: bool = False,
    num_workers: int = 0,
    eval_samples: Sequence[Sample] | None = None,
    progress: bool = True,
    desc: str = "train",
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> list[list[int]]:
    """Train ``model`` in place for ``recipe.epochs`` epochs (AdamW + ExponentialLR).

    With ``eval_samples``, returns the predictions on them after every epoch (used only for
    the explicitly-labelled, test-set-selected best-epoch figure).
    """
    size = model.config.input_size
    train_ds = PairDataset(train_samples, size, mean, std, augment, seed=seed)
    eval_ds = eval_dataset(eval_samples, size, mean, std) if eval_samples else None
    loader = make_loader(train_ds, recipe.batch_size, True, seed, num_workers)
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=recipe.gamma)
    use_amp = amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    loss_fn = torch.nn.CrossEntropyLoss()
    epoch_preds: list[list[int]] = []
    bar = tqdm(range(recipe.epochs), desc=desc, leave=False, disable=not progress, unit="ep")
    for epoch in bar:
        model.train()
        train_ds.set_epoch(epoch)
        total, correct, loss_sum = 0, 0, 0.0
        for onset, apex, label in loader:
            onset, apex, label = onset.to(device), apex.to(device), label.to(device)
            opt.zero_grad(set_to_none=True)
            with autocast(device, use_amp):
                logits = model(onset, apex)
                loss = loss_fn(logits.float(), label)
            if not torch.isfinite(loss):
                raise MMNetEdgeError(
                    f"{desc}: loss became {loss.item()} at epoch {epoch + 1}; lower --lr "
                    "or disable --amp"
                )
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            n = label.numel()
            total += n
            loss_sum += float(loss.detach()) * n
            correct += int((logits.argmax(1) == label).sum())
        if epoch < recipe.decay_epochs:
            sched.step()
        postfix = {
            "loss": f"{loss_sum / max(total, 1):.3f}",
            "acc": f"{correct / max(total, 1):.2f}",
        }
        if eval_ds is not None:
            preds = predict_samples(model, eval_ds, device, recipe.batch_size, use_amp).argmax(1)
            epoch_preds.append(preds.tolist())
        bar.set_postfix(postfix)
    model.eval()
    return epoch_preds


__all__ = ["fit", "predict_samples"]
