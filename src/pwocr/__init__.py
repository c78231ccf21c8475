"""pwocr: read random-string passwords out of photos with a CRNN."""
