"""Other projects' models, run on the same frames as DeepPhoto's so they can be compared."""
