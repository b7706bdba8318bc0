"""The parts of the Trainer (private): stopping, divergence, checkpoint, progress, interrupt."""
