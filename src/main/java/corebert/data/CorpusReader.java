package corebert.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Streams documents from text in google-research/bert's format (one sentence per line, blank lines
 * between documents) without holding more than one document. Lines are decoded one by one with a
 * strict UTF-8 decoder so that an invalid byte is reported with its exact file and line.
 */
final class CorpusReader {
  /** A UTF-8 decoder that reports invalid bytes instead of replacing them. */
  static CharsetDecoder strictUtf8() {
    return StandardCharsets.UTF_8
        .newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT);
  }

  /** A line reader of {@code file} that fails on invalid UTF-8 (CharacterCodingException). */
  static BufferedReader strictUtf8Lines(Path file) throws IOException {
    return new BufferedReader(new InputStreamReader(Files.newInputStream(file), strictUtf8()));
  }

  /** Receives each document; {@link #wants} lets a worker skip other workers' documents cheaply. */
  interface DocumentSink {
    /** Whether the document with this 0-based index should be collected. */
    boolean wants(long documentIndex);

    /** A wanted document: its stripped, non-blank lines in order. */
    void accept(long documentIndex, List<String> lines);
  }

  private final List<Path> files;

  CorpusReader(List<Path> files) {
    this.files = List.copyOf(files);
  }

  /**
   * Reads every file in order; documents never span files. Indexes count documents with at least
   * one non-blank line, so they depend on the text only.
   *
   * @return the number of documents seen
   * @throws IllegalArgumentException naming file and line when a line is not valid UTF-8
   */
  long read(DocumentSink sink) {
    long index = 0;
    for (Path file : files) {
      FileScan scan = new FileScan(file, index, sink);
      scan.run();
      index = scan.index;
    }
    return index;
  }

  /** The state of reading one file: the line being assembled and the document being collected. */
  private static final class FileScan {
    private final Path file;
    private final DocumentSink sink;
    private final CharsetDecoder decoder = strictUtf8();
    private long index;
    private long lineNumber;
    private byte[] line = new byte[256];
    private int lineLength;
    private boolean inDocument;
    private boolean wanted;
    private List<String> lines = new ArrayList<>();

    FileScan(Path file, long firstIndex, DocumentSink sink) {
      this.file = file;
      this.index = firstIndex;
      this.sink = sink;
    }

    void run() {
      byte[] chunk = new byte[1 << 16];
      try (InputStream in = Files.newInputStream(file)) {
        int n;
        while ((n = in.read(chunk)) >= 0) {
          int start = 0;
          int newline;
          while ((newline = indexOf(chunk, start, n)) >= 0) {
            append(chunk, start, newline);
            endLine();
            start = newline + 1;
          }
          append(chunk, start, n);
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + file, e);
      }
      if (lineLength > 0) {
        endLine();
      }
      endDocument();
    }

    private void append(byte[] bytes, int from, int to) {
      int needed = lineLength + to - from;
      if (needed > line.length) {
        line = Arrays.copyOf(line, Math.max(line.length * 2, needed));
      }
      System.arraycopy(bytes, from, line, lineLength, to - from);
      lineLength = needed;
    }

    private void endLine() {
      lineNumber++;
      String text;
      try {
        text = decoder.reset().decode(ByteBuffer.wrap(line, 0, lineLength)).toString().strip();
      } catch (CharacterCodingException e) {
        throw new IllegalArgumentException(
            file + ": line " + lineNumber + ": invalid UTF-8 (" + e + ")", e);
      }
      lineLength = 0;
      if (text.isEmpty()) {
        endDocument();
        return;
      }
      if (!inDocument) {
        inDocument = true;
        wanted = sink.wants(index);
      }
      if (wanted) {
        lines.add(text);
      }
    }

    private void endDocument() {
      if (!inDocument) {
        return;
      }
      if (wanted) {
        sink.accept(index, lines);
        lines = new ArrayList<>();
      }
      index++;
      inDocument = false;
    }
  }

  private static int indexOf(byte[] bytes, int from, int to) {
    for (int i = from; i < to; i++) {
      if (bytes[i] == '\n') {
        return i;
      }
    }
    return -1;
  }
}
