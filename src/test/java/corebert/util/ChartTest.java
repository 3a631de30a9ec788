package corebert.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChartTest {
  @TempDir Path dir;

  /** Pixels of exactly this colour: a drawn series leaves many. */
  private static int count(BufferedImage img, int rgb) {
    int n = 0;
    for (int y = 0; y < img.getHeight(); y++) {
      for (int x = 0; x < img.getWidth(); x++) {
        n += (img.getRGB(x, y) & 0xFFFFFF) == rgb ? 1 : 0;
      }
    }
    return n;
  }

  @Test
  void linesDrawEverySeriesInItsColourWithLevelsAndMarkers() throws Exception {
    Path png = dir.resolve("lines.png");
    Chart.lines(
        png,
        "held-out loss",
        "seconds",
        "loss",
        List.of(
            new Chart.Line(
                "baseline", new double[] {0, 50, 100}, new double[] {7, 6, 5}, 0, 0, true),
            new Chart.Line(
                "core",
                new double[] {0, 40, 60, 100},
                new double[] {7, 6.5, 5.5, 4.5},
                2,
                1,
                false)),
        List.of(new Chart.Marker("surgery", 40, 1)),
        List.of(new Chart.Level("unigram", 6.8)));
    BufferedImage img = ImageIO.read(png.toFile());
    assertEquals(900, img.getWidth());
    assertEquals(580, img.getHeight());
    assertTrue(count(img, 0x4C72B0) > 200, "the first series' colour");
    assertTrue(count(img, 0xDD8452) > 100, "the second series' colour");
  }

  @Test
  void barsDrawOneColourPerSeries() throws Exception {
    Path png = dir.resolve("bars.png");
    Chart.bars(
        png,
        "examples/s",
        "examples/s",
        List.of("seq 64", "seq 128"),
        List.of("full", "relaxed"),
        new double[][] {{100, 170}, {50, 90}});
    BufferedImage img = ImageIO.read(png.toFile());
    assertTrue(count(img, 0x4C72B0) > 1000, "full's bars");
    assertTrue(count(img, 0xDD8452) > 1000, "relaxed's bars");
  }
}
