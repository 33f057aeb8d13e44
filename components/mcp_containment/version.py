"""The package's version, in one place: the wheel's metadata, ``containment --version`` and the
policy pack's pinned requirement all read it."""

__version__ = "0.2.0"
