"""W3C Activity Streams 2.0: the vocabulary passerelle's package is written in, and that
the package and Mastodon readers read (the context files ship in ``contexts/``)."""
