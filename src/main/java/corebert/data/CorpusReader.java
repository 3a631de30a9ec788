package corebert.data;

import com.fasterxml.jackson.databind.JsonNode;
import corebert.util.Jackson;
import java.io.BufferedReader;
import java.io.EOFException;
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
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.text.BreakIterator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Streams documents from corpus files in any {@link CorpusFormat} (gzipped or not) without holding
 * more than one document. Lines are decoded one by one with a strict UTF-8 decoder so that an
 * invalid byte is reported with its exact file and line; so are JSON lines without their text.
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
    /** Whether the document with this 0-based index should be collected (default: all are). */
    default boolean wants(long documentIndex) {
      return true;
    }

    /** A wanted document: its stripped, non-blank lines in order. */
    void accept(long documentIndex, List<String> lines);
  }

  private final List<Path> files;
  private final CorpusFormat format;
  private final String textField;

  /** Files in google-research's text format (gzipped where the name ends in .gz). */
  CorpusReader(List<Path> files) {
    this(files, CorpusFormat.TEXT, "text");
  }

  /**
   * @param format how the files lay out documents (AUTO: by each file's extension)
   * @param textField the JSONL field that holds a document's text
   */
  CorpusReader(List<Path> files, CorpusFormat format, String textField) {
    this.files = List.copyOf(files);
    this.format = format;
    this.textField = textField;
  }

  /**
   * Reads every file in order; documents never span files. Indexes count documents with at least
   * one sentence, so they depend on the text only.
   *
   * @return the number of documents seen
   * @throws IllegalArgumentException naming file and line when a line is not valid UTF-8, a JSON
   *     line has no text, or a gzip stream is truncated or corrupt
   */
  long read(DocumentSink sink) {
    long index = 0;
    for (Path file : files) {
      FileScan scan = new FileScan(file, format.of(file), textField, index, sink);
      scan.run();
      index = scan.index;
    }
    return index;
  }

  /**
   * The sentences of a text: blank lines end paragraphs, the lines of a paragraph are joined, and
   * the JDK's sentence BreakIterator splits each paragraph.
   */
  static List<String> sentences(String text) {
    List<String> out = new ArrayList<>();
    for (String paragraph : text.split("\\n\\s*\\n")) {
      String joined = paragraph.replaceAll("\\s+", " ").strip();
      if (joined.isEmpty()) {
        continue;
      }
      BreakIterator it = BreakIterator.getSentenceInstance(Locale.ROOT);
      it.setText(joined);
      for (int start = it.first(), end = it.next();
          end != BreakIterator.DONE;
          start = end, end = it.next()) {
        String sentence = joined.substring(start, end).strip();
        if (!sentence.isEmpty()) {
          out.add(sentence);
        }
      }
    }
    return out;
  }

  /** The state of reading one file: the line being assembled and the document being collected. */
  private static final class FileScan {
    private final Path file;
    private final CorpusFormat format;
    private final String textField;
    private final DocumentSink sink;
    private final CharsetDecoder decoder = strictUtf8();
    private long index;
    private long lineNumber;
    private byte[] line = new byte[256];
    private int lineLength;
    private boolean inDocument;
    private boolean wanted;
    private List<String> lines = new ArrayList<>();

    /** DOCUMENTS: the file's lines, blank ones kept as paragraph breaks. */
    private final StringBuilder document = new StringBuilder();

    FileScan(Path file, CorpusFormat format, String textField, long firstIndex, DocumentSink sink) {
      this.file = file;
      this.format = format;
      this.textField = textField;
      this.index = firstIndex;
      this.sink = sink;
    }

    void run() {
      byte[] chunk = new byte[1 << 16];
      try (InputStream in = open()) {
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
      } catch (EOFException e) {
        throw new IllegalArgumentException(
            file + ": truncated gzip stream (" + e.getMessage() + ")");
      } catch (ZipException e) {
        throw new IllegalArgumentException(file + ": corrupt gzip data (" + e.getMessage() + ")");
      } catch (NoSuchFileException e) {
        throw new IllegalArgumentException("input not found: " + file, e);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + file, e);
      }
      if (lineLength > 0) {
        endLine();
      }
      if (format == CorpusFormat.DOCUMENTS) {
        emit(sentences(document.toString()));
      }
      endDocument();
    }

    private InputStream open() throws IOException {
      InputStream raw = Files.newInputStream(file);
      try {
        return CorpusFormat.gzipped(file) ? new GZIPInputStream(raw, 1 << 16) : raw;
      } catch (IOException e) {
        raw.close();
        throw e;
      }
    }

    /** One whole document (DOCUMENTS, JSONL): its sentences, if it has any. */
    private void emit(List<String> sentences) {
      if (sentences.isEmpty()) {
        return;
      }
      if (sink.wants(index)) {
        sink.accept(index, sentences);
      }
      index++;
    }

    /** A JSON line's document: its text field's sentences. */
    private List<String> jsonDocument(String text) {
      JsonNode json;
      try {
        json = Jackson.parseTree(text);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            file + ": line " + lineNumber + ": not a JSON object (" + e.getMessage() + ")", e);
      }
      if (!json.isObject()) {
        throw new IllegalArgumentException(file + ": line " + lineNumber + ": not a JSON object");
      }
      JsonNode value = json.get(textField);
      if (value == null || !value.isTextual()) {
        throw new IllegalArgumentException(
            file
                + ": line "
                + lineNumber
                + (value == null
                    ? ": no \"" + textField + "\" field"
                    : ": \"" + textField + "\" is not a string"));
      }
      return sentences(value.asText());
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
      if (format == CorpusFormat.DOCUMENTS) {
        document.append(text).append('\n');
        return;
      }
      if (format == CorpusFormat.JSONL) {
        if (!text.isEmpty()) {
          emit(jsonDocument(text));
        }
        return;
      }
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
