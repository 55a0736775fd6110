"""The SAC update's matrix-product floor counts the products by hand."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))
import benchmark_updates  # noqa: E402


def test_sac_gemms_are_the_products_an_update_cannot_skip():
    shapes = benchmark_updates.sac_gemms()
    b = 256  # batch; layers: actor 17-256-256-12, critics 23-256-256-1
    actor = 2 * b * (17 * 256 + 256 * 256 + 256 * 12)  # one forward: 37,355,520 FLOP
    critic = 2 * b * (23 * 256 + 256 * 256 + 256 * 1)  # 36,700,160
    critic_dx = 2 * b * (256 * 256 + 256 * 1)  # input gradients above the first layer
    actor_dx = 2 * b * (256 * 256 + 256 * 12)
    # critic step: actor + 2 targets forward; 2 critics forward, dx, dW. Actor step: actor forward, dx, dW;
    # 2 critics forward and dx down to the action input (the full input gradient: one forward's worth)
    want = (actor + 2 * critic + 2 * (critic + critic_dx + critic)) + (actor + actor_dx + actor + 2 * (2 * critic))
    assert sum(2 * m * k * n for m, k, n in shapes) == want == 581_566_464
    # critic step 3 + 2·3 + 2·(3 + 2 + 3) = 25 products; actor step 3 + 2 + 3 + 2·(3 + 3) = 20
    assert len(shapes) == 25 + 20


def test_gemm_floor_times_every_product():
    ms, gflops = benchmark_updates.gemm_floor([(8, 8, 8)] * 3, n=2)
    assert ms > 0 and gflops > 0
