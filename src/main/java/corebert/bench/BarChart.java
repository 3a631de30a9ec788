package corebert.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;

/** A small grouped bar chart written as PNG with Java2D, headless; enough for benchmark results. */
final class BarChart {
  private static final Color[] SERIES = {new Color(0x4C72B0), new Color(0xDD8452)};

  private BarChart() {}

  /**
   * @param groups labels under each group of bars
   * @param series the legend names, one per bar in a group (at most two)
   * @param values values[group][series]
   */
  static void write(
      Path png, String title, String yLabel, List<String> groups, List<String> series,
      double[][] values) {
    System.setProperty("java.awt.headless", "true");
    int w = 800;
    int h = 500;
    int left = 80;
    int bottom = 70;
    int top = 60;
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, w, h);
    double max = 0;
    for (double[] row : values) {
      for (double v : row) {
        max = Math.max(max, v);
      }
    }
    max = max <= 0 ? 1 : max * 1.15;
    int plotH = h - top - bottom;
    int plotW = w - left - 30;
    g.setColor(Color.BLACK);
    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
    g.drawString(title, left, 30);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    g.setStroke(new BasicStroke(1));
    g.drawLine(left, top, left, top + plotH);
    g.drawLine(left, top + plotH, left + plotW, top + plotH);
    for (int i = 0; i <= 5; i++) {
      double v = max * i / 5;
      int y = top + plotH - (int) (plotH * i / 5.0);
      g.setColor(new Color(0xDDDDDD));
      g.drawLine(left + 1, y, left + plotW, y);
      g.setColor(Color.BLACK);
      g.drawString(String.format("%.1f", v), 10, y + 4);
    }
    g.drawString(yLabel, 10, top - 10);
    int groupW = plotW / Math.max(1, groups.size());
    int barW = Math.max(10, groupW / (series.size() + 2));
    for (int gi = 0; gi < groups.size(); gi++) {
      int x0 = left + gi * groupW + (groupW - barW * series.size()) / 2;
      for (int si = 0; si < series.size(); si++) {
        double v = values[gi][si];
        int bh = (int) (plotH * v / max);
        g.setColor(SERIES[si % SERIES.length]);
        g.fillRect(x0 + si * barW, top + plotH - bh, barW - 4, bh);
        g.setColor(Color.BLACK);
        g.drawString(String.format("%.1f", v), x0 + si * barW, top + plotH - bh - 4);
      }
      g.drawString(groups.get(gi), left + gi * groupW + groupW / 2 - 30, top + plotH + 20);
    }
    for (int si = 0; si < series.size(); si++) {
      g.setColor(SERIES[si % SERIES.length]);
      g.fillRect(left + si * 140, h - 30, 14, 14);
      g.setColor(Color.BLACK);
      g.drawString(series.get(si), left + si * 140 + 20, h - 18);
    }
    g.dispose();
    try {
      ImageIO.write(img, "png", png.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + png, e);
    }
  }
}
