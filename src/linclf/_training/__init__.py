"""Training support (private): checkpoint files and the helpers of the Trainer."""
