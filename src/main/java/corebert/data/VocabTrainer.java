package corebert.data;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.TreeSet;
import java.util.logging.Logger;

/**
 * Trains a WordPiece vocab from plain-text files.
 *
 * <p>Words come from {@link BasicTokenizer}, so they are exactly what {@link FullTokenizer} will
 * later piece. The vocab is the five special tokens in BERT's order, then every character seen in
 * both its word-initial and its `##` form (so any training word can be pieced without [UNK]), then
 * subwords learned by BPE-style merges over the word counts (Sennrich et al. 2016, "Neural Machine
 * Translation of Rare Words with Subword Units"): repeatedly merge the most frequent adjacent pair
 * of pieces, ties broken by the pieces' strings, until the vocab is full or no pair is left.
 *
 * <p>The corpus is streamed line by line; only the word-count map is held. Pair counts are kept
 * incrementally (with the words each pair occurs in), so a merge touches only the words that
 * contain it instead of rescanning the corpus.
 */
public final class VocabTrainer {
  private static final Logger LOG = Logger.getLogger(VocabTrainer.class.getName());
  private static final long LOG_EVERY_LINES = 200_000;
  private static final int LOG_EVERY_MERGES = 1_000;

  private VocabTrainer() {}

  /**
   * Counts words in {@code inputs} and learns a vocab of at most {@code vocabSize} tokens (fewer
   * only when the corpus runs out of pairs to merge).
   *
   * @throws IllegalArgumentException when an input has invalid UTF-8 (naming the file and line),
   *     when the inputs hold no words, or when {@code vocabSize} cannot fit the special tokens and
   *     every character of the corpus
   */
  public static Vocab train(List<Path> inputs, int vocabSize, boolean lowerCase) {
    return train(inputs, CorpusFormat.TEXT, "text", vocabSize, lowerCase);
  }

  /**
   * As {@link #train(List, int, boolean)}, for a corpus in {@code format} (JSONL documents in
   * {@code textField}).
   */
  public static Vocab train(
      List<Path> inputs, CorpusFormat format, String textField, int vocabSize, boolean lowerCase) {
    if (vocabSize <= Vocab.SPECIAL_TOKENS.size()) {
      throw new IllegalArgumentException(
          "vocab size must exceed the "
              + Vocab.SPECIAL_TOKENS.size()
              + " special tokens, got "
              + vocabSize);
    }
    long start = System.nanoTime();
    Map<String, Long> wordCounts =
        countWords(new CorpusReader(inputs, format, textField), new BasicTokenizer(lowerCase));
    if (wordCounts.isEmpty()) {
      throw new IllegalArgumentException("corpus is empty (no words in " + inputs + ")");
    }
    LOG.info(
        String.format("vocab: %d word types counted in %.1f s", wordCounts.size(), seconds(start)));
    Vocab vocab = new Merger(wordCounts).learn(vocabSize);
    LOG.info(String.format("vocab: %d tokens in %.1f s", vocab.size(), seconds(start)));
    return vocab;
  }

  private static Map<String, Long> countWords(CorpusReader corpus, BasicTokenizer basic) {
    Map<String, Long> counts = new HashMap<>();
    long[] lines = {0};
    corpus.read(
        (documentIndex, sentences) -> {
          for (String line : sentences) {
            for (String word : basic.tokenize(line)) {
              counts.merge(word, 1L, Long::sum);
            }
            if (++lines[0] % LOG_EVERY_LINES == 0) {
              LOG.info("vocab: " + lines[0] + " lines read, " + counts.size() + " word types");
            }
          }
        });
    return counts;
  }

  private static double seconds(long startNanos) {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  /**
   * The merge state: each word type as an array of piece ids, the count of every adjacent pair
   * weighted by word frequency, and for each pair the words it may occur in. A max-heap with lazy
   * deletion picks the next pair: an entry whose count no longer matches the live count is stale
   * and skipped, and every count change pushes a fresh entry.
   */
  private static final class Merger {
    private final List<String> pieces = new ArrayList<>(); // piece id -> string
    private final Map<String, Integer> pieceIds = new HashMap<>();
    private final int[][] words; // word -> piece ids; shrinks as pieces merge
    private final long[] wordCounts;
    private final Map<Long, Pair> pairs = new HashMap<>();
    private final PriorityQueue<long[]> heap; // {count, pairKey}
    private final int[] seenAtMerge; // dedupes a pair's word list within one merge

    Merger(Map<String, Long> counts) {
      // Sorted so that piece and word ids, hence every tie, are the same on every run.
      List<String> types = new ArrayList<>(counts.keySet());
      types.sort(Comparator.naturalOrder());
      words = new int[types.size()][];
      wordCounts = new long[types.size()];
      seenAtMerge = new int[types.size()];
      for (int w = 0; w < words.length; w++) {
        String word = types.get(w);
        int[] cps = word.codePoints().toArray();
        int[] ids = new int[cps.length];
        for (int i = 0; i < cps.length; i++) {
          String ch = new String(Character.toChars(cps[i]));
          ids[i] = pieceId(i == 0 ? ch : Vocab.CONTINUATION + ch);
        }
        words[w] = ids;
        wordCounts[w] = counts.get(word);
      }
      heap =
          new PriorityQueue<>(
              (a, b) -> {
                if (a[0] != b[0]) {
                  return Long.compare(b[0], a[0]);
                }
                int c = pieces.get(left(a[1])).compareTo(pieces.get(left(b[1])));
                return c != 0 ? c : pieces.get(right(a[1])).compareTo(pieces.get(right(b[1])));
              });
      for (int w = 0; w < words.length; w++) {
        addPairs(w);
      }
      pairs.forEach((key, pair) -> heap.add(new long[] {pair.count, key}));
    }

    Vocab learn(int vocabSize) {
      List<String> tokens = new ArrayList<>(Vocab.SPECIAL_TOKENS);
      tokens.addAll(alphabet());
      if (tokens.size() > vocabSize) {
        throw new IllegalArgumentException(
            "vocab size "
                + vocabSize
                + " cannot hold the special tokens and the "
                + (tokens.size() - Vocab.SPECIAL_TOKENS.size())
                + " character pieces of the corpus; use at least "
                + tokens.size());
      }
      Set<String> inVocab = new HashSet<>(tokens);
      int merges = 0;
      while (tokens.size() < vocabSize) {
        long[] top = heap.poll();
        if (top == null) {
          LOG.info("vocab: no pairs left to merge at " + tokens.size() + " tokens");
          break;
        }
        Pair pair = pairs.get(top[1]);
        if (pair == null || pair.count != top[0]) {
          continue; // stale heap entry
        }
        String merged = merge(top[1], ++merges);
        // Two merge paths can spell the same piece (a+##bc, ab+##c); it enters the vocab once.
        if (inVocab.add(merged)) {
          tokens.add(merged);
        }
        if (merges % LOG_EVERY_MERGES == 0) {
          LOG.info("vocab: " + merges + " merges, " + tokens.size() + " tokens");
        }
      }
      return Vocab.of(tokens);
    }

    /** Every character piece, initial forms then `##` forms, each in code point order. */
    private List<String> alphabet() {
      TreeSet<Integer> chars = new TreeSet<>();
      for (String piece : pieces) {
        chars.add(piece.codePointAt(piece.startsWith(Vocab.CONTINUATION) ? 2 : 0));
      }
      List<String> out = new ArrayList<>();
      chars.forEach(cp -> out.add(new String(Character.toChars(cp))));
      chars.forEach(cp -> out.add(Vocab.CONTINUATION + new String(Character.toChars(cp))));
      return out;
    }

    /** Replaces every occurrence of the pair in the words that hold it; returns the new piece. */
    private String merge(long key, int stamp) {
      int a = left(key);
      int b = right(key);
      String merged = pieces.get(a) + pieces.get(b).substring(Vocab.CONTINUATION.length());
      int c = pieceId(merged);
      Pair pair = pairs.get(key);
      Set<Long> touched = new HashSet<>();
      for (int i = 0; i < pair.wordCount; i++) {
        int w = pair.words[i];
        if (seenAtMerge[w] == stamp) {
          continue;
        }
        seenAtMerge[w] = stamp;
        int[] old = words[w];
        if (!containsPair(old, a, b)) {
          continue; // an earlier merge already consumed it in this word
        }
        removePairs(w, touched);
        int[] next = new int[old.length];
        int n = 0;
        for (int j = 0; j < old.length; j++) {
          if (j + 1 < old.length && old[j] == a && old[j + 1] == b) {
            next[n++] = c;
            j++;
          } else {
            next[n++] = old[j];
          }
        }
        words[w] = Arrays.copyOf(next, n);
        addPairs(w, touched);
      }
      for (long k : touched) {
        Pair p = pairs.get(k);
        if (p != null) {
          heap.add(new long[] {p.count, k});
        }
      }
      return merged;
    }

    private void addPairs(int w) {
      addPairs(w, null);
    }

    private void addPairs(int w, Set<Long> touched) {
      int[] ids = words[w];
      for (int j = 0; j + 1 < ids.length; j++) {
        long key = key(ids[j], ids[j + 1]);
        Pair p = pairs.computeIfAbsent(key, k -> new Pair());
        p.count += wordCounts[w];
        p.addWord(w);
        if (touched != null) {
          touched.add(key);
        }
      }
    }

    private void removePairs(int w, Set<Long> touched) {
      int[] ids = words[w];
      for (int j = 0; j + 1 < ids.length; j++) {
        long key = key(ids[j], ids[j + 1]);
        Pair p = pairs.get(key);
        p.count -= wordCounts[w];
        if (p.count == 0) {
          pairs.remove(key);
        }
        touched.add(key);
      }
    }

    private static boolean containsPair(int[] ids, int a, int b) {
      for (int j = 0; j + 1 < ids.length; j++) {
        if (ids[j] == a && ids[j + 1] == b) {
          return true;
        }
      }
      return false;
    }

    private int pieceId(String piece) {
      return pieceIds.computeIfAbsent(
          piece,
          p -> {
            pieces.add(p);
            return pieces.size() - 1;
          });
    }

    private static long key(int a, int b) {
      return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    private static int left(long key) {
      return (int) (key >>> 32);
    }

    private static int right(long key) {
      return (int) key;
    }
  }

  /**
   * One adjacent pair: its corpus count and the words it was ever added for. The word list may hold
   * duplicates and words that no longer contain the pair; {@link Merger#merge} checks.
   */
  private static final class Pair {
    long count;
    int[] words = new int[2];
    int wordCount;

    void addWord(int w) {
      if (wordCount > 0 && words[wordCount - 1] == w) {
        return; // the same word adding the pair twice in a row ("##a ##a ##a")
      }
      if (wordCount == words.length) {
        words = Arrays.copyOf(words, wordCount * 2);
      }
      words[wordCount++] = w;
    }
  }
}
