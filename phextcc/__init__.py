"""phextcc: a compiler for .phx kernels targeting the vTPU."""

__version__ = "0.1.0"
