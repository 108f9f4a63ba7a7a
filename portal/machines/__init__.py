"""The machine side of licensing: activated and offline machines, minimum versions, the signing
key, offline license files and the company's API tokens."""
