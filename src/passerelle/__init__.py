"""passerelle: take collaboration data out of any platform, losslessly and with proof."""

__version__ = "0.1.0"
