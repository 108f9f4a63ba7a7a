"""Downloads: the releases a company is entitled to, the file streams, and end-of-life notices."""
