"""aegan: the dense autoencoder and DCGAN of a tutorial article, as PyTorch research software."""

__version__ = "0.1.0"


def __getattr__(name: str):
    # ``aegan.load_run`` without importing torch and Hydra for ``import aegan`` alone
    if name in ("load_run", "Run"):
        from aegan import run

        return getattr(run, name)
    raise AttributeError(f"module 'aegan' has no attribute {name!r}")


__all__ = ["Run", "load_run"]
