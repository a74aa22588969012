"""One training step: the step's batch (a function of (seed, step)), then one G step and, for
adversarial models, one D step: eqs. (10)-(12) of the paper, in either order, or URDGN's gated
step. TrainStep is a part of Trainer (sgenlib.train.trainer), which sets what it uses: cfg, spec,
images, degrade, the models as built (G, D) and as run (G_run, D_run, D_in_g), the optimizers,
content_fn, adv_weight, lambda_on, rank, world and the step's reused tensors (_gen, _zero)."""
from __future__ import annotations

import hashlib

import torch
import torch.distributed as dist

from .. import losses
from ..archs import forward_padded
from ..degrade import degrade_batch
from ..optim import lr_factor, set_lr
from .ddp import broadcast_from_rank0


def step_seed(seed: int, step: int) -> int:
    """The seed of step `step`'s draws (scale, images, noise): a hash of (seed, step), so a resumed
    run draws what an uninterrupted one would."""
    return int.from_bytes(hashlib.sha256(f"train:{seed}:{step}".encode()).digest()[:8], "little") >> 1


class TrainStep:
    """The step maths of Trainer: `train_step(step)` = lr schedule, `make_batch`, `optimize`."""

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp)

    def _sync_d_buffers(self) -> None:
        """Rank 0's D buffers (BatchNorm running statistics and counters) to every rank, once per
        step before D's first forward (ddp.wrap_ddp says why)."""
        if self.world == 1 or not self._d_buffers:
            return
        broadcast_from_rank0(self._d_buffers)

    def sample_batch(self, step: int, scale: tuple[int, int] | None = None):
        """The global batch of `step` (indices, scale, noise), sliced to this rank's shard. The
        scale is drawn from cfg.scales unless `scale` names it (benchmarks and sizing time one
        scale at a time); the images and noise are the step's either way."""
        seed = step_seed(self.cfg.seed, step)
        scale = tuple(scale) if scale is not None else tuple(self.cfg.scales[seed % len(self.cfg.scales)])
        gen = self._gen.manual_seed(seed)                    # one generator, reseeded: no per-step object
        b, c, f = self.cfg.batch_size, self.degrade.channels, self.degrade.factor
        idx = torch.randint(len(self.images), (b,), generator=gen, device=self.device)
        noise = torch.randn(b, c, scale[0] // f, scale[1] // f, generator=gen, device=self.device)
        shard = slice(self.rank * b // self.world, (self.rank + 1) * b // self.world)
        return idx[shard], scale, noise[shard]

    def make_batch(self, step: int, scale: tuple[int, int] | None = None
                   ) -> tuple[tuple[int, int], torch.Tensor, torch.Tensor]:
        """(scale, network input, HR target) of this rank's shard of `step`, on the device."""
        idx, scale, noise = self.sample_batch(step, scale)
        inp, target = degrade_batch(self.images[idx], scale, noise, self.degrade)
        if self.channels_last:
            inp = inp.contiguous(memory_format=torch.channels_last)
            target = target.contiguous(memory_format=torch.channels_last)
        return scale, inp, target

    def optimize(self, inp: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """One optimizer step of G and, for adversarial models, one of D, on a batch; returns the
        device tensor [loss_g, content, adversarial, loss_d] (nothing leaves the device here).

        cfg.step_order (eqs. 11-12 fix the losses, not the order of the updates):
          'g_then_d'  the authors' code: G forward, G loss and step; then a new G forward (no
                      gradients) with the updated G, and the D step on real vs that new fake.
          'd_then_g'  kit v1: one G forward; the D step on real vs that fake, then the G step
                      through the updated D.
        Neither order draws random numbers, so a step stays a function of (seed, step).
        """
        with self._autocast():
            fake = forward_padded(self.G_run, inp, self.size_multiple)
        if self.D is None:
            loss_g, content, adv = self._g_step(fake, target)
            return torch.stack([loss_g, content, adv, self._zero])
        if self.spec.gate_margin is not None:
            return self._gated_step(fake, target)
        if self.cfg.step_order == "d_then_g":
            loss_d = self._d_step(target, fake.detach())
            loss_g, content, adv = self._g_step(fake, target)
        else:
            loss_g, content, adv = self._g_step(fake, target)
            with torch.no_grad(), self._autocast():
                fresh = forward_padded(self.G_run, inp, self.size_multiple)
            loss_d = self._d_step(target, fresh)
        return torch.stack([loss_g, content, adv, loss_d])

    def _d_step(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """One D step on real vs (detached) fake, eq. (12); returns the detached loss. Under DDP,
        rank 0's D buffers reach every rank first (_sync_d_buffers)."""
        self._sync_d_buffers()
        with self._autocast():
            real_logits, fake_logits = self.D_run(real), self.D_run(fake)
        loss_d = losses.discriminator_loss(real_logits, fake_logits)
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        return loss_d.detach().float()

    def _gated_step(self, fake: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """URDGN's step (its released training script): D's errors on real and fake (D before its
        update) decide, by losses.gan_gating, whether D and then G are updated (one host sync;
        the errors are averaged over ranks first, so all ranks decide alike)."""
        self._sync_d_buffers()
        with self._autocast():
            real_logits, fake_logits = self.D_run(target), self.D_run(fake.detach())
        err_r = losses.adversarial_loss(real_logits)                  # BCE(D(real), 1)
        err_f = losses.adversarial_loss(-fake_logits)                # BCE(D(fake), 0)
        errs = torch.stack([err_r.detach(), err_f.detach()])
        if self.world > 1:
            dist.all_reduce(errs)
            errs = errs / self.world
        update_d, update_g = losses.gan_gating(*errs.tolist(), self.spec.gate_margin)
        self.gate_counts["d_skipped"] += not update_d
        self.gate_counts["g_skipped"] += not update_g
        loss_d = err_r + err_f
        if update_d:
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            self.opt_d.step()
        loss_g, content, adv = self._g_step(fake, target, update=update_g)
        return torch.stack([loss_g, content, adv, loss_d.detach().float()])

    def _g_step(self, fake: torch.Tensor, target: torch.Tensor, update: bool = True):
        """One G step on content + weighted adversarial loss, eq. (11); returns the detached
        (loss_g, content, adversarial) (adversarial 0 for MSE-only models). update=False computes
        the losses only (URDGN's gating)."""
        adversarial = None
        if self.D is not None:
            # gradients flow through D to G only; D itself runs unwrapped (no DDP hooks to fire)
            for p in self._d_params:
                p.requires_grad_(False)
            try:
                with self._autocast():
                    adversarial = losses.adversarial_loss(self.D_in_g(fake))
            finally:
                for p in self._d_params:
                    p.requires_grad_(True)
        with self._autocast():
            content = self.content_fn(fake, target)
        loss_g = losses.generator_loss(content.float(), adversarial, self.adv_weight, self.lambda_on)
        if update:
            self.opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            self.opt_g.step()
        adv = adversarial.detach().float() if adversarial is not None else self._zero
        return loss_g.detach().float(), content.detach().float(), adv

    def train_step(self, step: int, scale: tuple[int, int] | None = None
                   ) -> tuple[tuple[int, int], torch.Tensor]:
        """One whole step: the lr schedule's factor, the batch (at `scale` when given, else drawn
        from cfg.scales), then `optimize`."""
        schedule = self.optim.get("lr_schedule")
        if schedule is not None:                     # a function of the step: resume takes the same lr
            factor = lr_factor(schedule, step, self.cfg.steps)
            for opt in (self.opt_g, self.opt_d):
                if opt is not None:
                    set_lr(opt, factor)
        scale, inp, target = self.make_batch(step, scale)
        return scale, self.optimize(inp, target)

