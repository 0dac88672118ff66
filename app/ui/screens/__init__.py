"""The board's screens: the main screen (view.py: what it shows; main.py: the work behind
its keys), and the views opened from it, an item's documents and its checkpoints."""
