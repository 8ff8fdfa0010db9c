"""The web archive: `passerelle serve` (Flask application, served by waitress)."""
