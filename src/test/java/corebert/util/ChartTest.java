package corebert.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Font;
import java.awt.Graphics2D;
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
                "baseline", new double[] {0, 50, 100}, new double[] {7, 6, 5}, 0, 0, 0, true),
            new Chart.Line(
                "core",
                new double[] {0, 40, 60, 100},
                new double[] {7, 6.5, 5.5, 4.5},
                2,
                1,
                1,
                false)),
        List.of(new Chart.Marker("surgery", 40, 1)),
        List.of(new Chart.Level("unigram", 6.8)));
    BufferedImage img = ImageIO.read(png.toFile());
    assertEquals(900, img.getWidth());
    assertEquals(580 + 3 * 20, img.getHeight(), "a legend row each for two lines and a level");
    assertTrue(count(img, 0x4C72B0) > 200, "the first series' colour");
    assertTrue(count(img, 0xDD8452) > 100, "the second series' colour");
  }

  @Test
  void aLongTitleIsSetSmallerUntilItFitsAndAShortOneKeepsItsFont() {
    Font font = new Font(Font.SANS_SERIF, Font.BOLD, 14);
    String long_ =
        "final: held-out MLM loss, scored tokens masked, bert-mini-v8000.json, ".repeat(2);
    Graphics2D g = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB).createGraphics();
    try {
      assertTrue(g.getFontMetrics(font).stringWidth(long_) > 900, "the title does not fit as is");
      Font fitted = Chart.fitted(font, long_);
      assertTrue(fitted.getSize2D() < 14);
      assertTrue(g.getFontMetrics(fitted).stringWidth(long_) <= 900 - 40);
      assertEquals(font, Chart.fitted(font, "held-out loss"));
    } finally {
      g.dispose();
    }
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
