"""phonesys: bulk license and extension provisioning for cloud phone systems."""

__version__ = "0.1.0"
