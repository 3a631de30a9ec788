package corebert.train;

import java.nio.file.Path;

/**
 * How a training run ended: its last step and loss, and its newest checkpoint. {@code setupSec} is
 * the wall time before the first step (graph, session, restore), which {@code elapsedSec} leaves
 * out.
 */
public record TrainingOutcome(
    long step, double loss, double elapsedSec, double setupSec, Path checkpoint) {}
