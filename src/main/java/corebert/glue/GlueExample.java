package corebert.glue;

/**
 * One row of a GLUE data set, before tokenization.
 *
 * @param textA the first (or only) sentence
 * @param textB the second sentence, or null for single-sentence tasks (CoLA, SST-2)
 * @param label the raw label string: a class name from {@link GlueTask#labels()}, or the STS-B
 *     similarity score as written in the file
 */
public record GlueExample(String textA, String textB, String label) {}
