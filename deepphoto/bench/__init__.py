"""``deepphoto bench``: speed, accuracy and steadiness in one run, with peers beside."""
